"""Specs of the detection family's operators: here the NMS operators
(ops/detection/nms.cpp), in coco/spec.py the COCO evaluation operators,
in coco/rle_spec.py the COCO mask operators.

NMS references are built on reference.nms_loop (a Python loop with
torchvision's arithmetic), which is also the benchmark's baseline.
"""

from __future__ import annotations

from typing import Optional

import torch
from hypothesis import strategies as st
from torch import Tensor

from ..testing import LAYOUTS, BadInput, OpSpec, boxes_and_scores, with_layout
from .coco.rle_spec import COCO_RLE_SPECS
from .coco.spec import COCO_SPECS
from .reference import nms_loop

#: Thresholds worth testing: the usual ones, the extremes, and a negative one
#: (which suppresses every overlapping-or-touching pair but not empty unions).
THRESHOLDS = st.one_of(st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0, -0.5]), st.floats(0.0, 1.0))


def _box_count(draw: st.DrawFn, large: bool) -> int:
    # large: several blocks of 256 boxes, so later boxes are checked in parallel
    return draw(st.integers(600, 1200) if large else st.integers(0, 12))


@st.composite
def nms_args(draw: st.DrawFn, large: bool = False) -> tuple:
    boxes, scores = draw(boxes_and_scores((_box_count(draw, large),)))
    return boxes, scores, draw(THRESHOLDS)


@st.composite
def batched_nms_args(draw: st.DrawFn, large: bool = False) -> tuple:
    count = _box_count(draw, large)
    boxes, scores = draw(boxes_and_scores((count,)))
    categories = draw(st.sampled_from([1, 3, 40]))
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    idxs = torch.randint(-categories, categories, (count,), generator=generator)
    return boxes, scores, with_layout(idxs, draw(st.sampled_from(LAYOUTS))), draw(THRESHOLDS)


@st.composite
def nms_padded_args(draw: st.DrawFn, large: bool = False) -> tuple:
    images = draw(st.integers(8, 24) if large else st.integers(0, 4))
    width = draw(st.integers(20, 80) if large else st.integers(0, 10))
    boxes, scores = draw(boxes_and_scores((images, width)))
    lengths = None
    if draw(st.booleans()):
        lengths = torch.tensor(
            draw(st.lists(st.integers(0, width), min_size=images, max_size=images)),
            dtype=torch.int64,
        )
        lengths = with_layout(lengths, draw(st.sampled_from(LAYOUTS)))
        for b, length in enumerate(lengths.tolist()):  # padding the kernel must not read
            boxes[b, length:] = float("nan")
    return boxes, scores, draw(THRESHOLDS), lengths


def batched_nms_reference(
    boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float
) -> Tensor:
    kept = [
        members[nms_loop(boxes[members], scores[members], iou_threshold)]
        for members in (torch.nonzero(idxs == c).flatten() for c in idxs.unique())
    ]
    kept = torch.cat(kept) if kept else torch.zeros(0, dtype=torch.int64)
    kept = kept.sort().values  # then by score, stable: equal scores by index
    return kept[torch.sort(scores[kept], descending=True, stable=True).indices]


def nms_padded_reference(
    boxes: Tensor, scores: Tensor, iou_threshold: float, lengths: Optional[Tensor]
) -> Tensor:
    keep = torch.zeros(boxes.shape[:2], dtype=torch.bool)
    for b in range(boxes.shape[0]):
        count = boxes.shape[1] if lengths is None else int(lengths[b])
        keep[b, nms_loop(boxes[b, :count], scores[b, :count], iou_threshold)] = True
    return keep


def _box_problems(op: str, boxes: Tensor, scores: Tensor, rebuild, where: str) -> list[BadInput]:
    """NaN, infinite and inverted boxes, and NaN scores, placed in the first box.

    ``rebuild(boxes, scores)`` makes the argument tuple; ``where`` names the box.
    """
    nan_score, nan_box, inf_box, inverted = (
        t.contiguous().clone() for t in (scores, boxes, boxes, boxes)
    )
    nan_score.view(-1)[0] = float("nan")
    nan_box.view(-1, 4)[0, 1] = float("nan")
    inf_box.view(-1, 4)[0, 2] = float("inf")
    inverted.view(-1, 4)[0, 2] = inverted.view(-1, 4)[0, 0] - 1
    return [
        BadInput("NaN score", rebuild(boxes, nan_score), rf"{op}: the score of {where} is NaN"),
        BadInput(
            "NaN coordinate",
            rebuild(nan_box, scores),
            rf"{op}: {where} has a NaN or infinite coordinate",
        ),
        BadInput(
            "infinite coordinate",
            rebuild(inf_box, scores),
            rf"{op}: {where} has a NaN or infinite coordinate",
        ),
        BadInput("x2 < x1", rebuild(inverted, scores), rf"{op}: {where} has x2 < x1"),
    ]


def _shape_problems(
    op: str, boxes: Tensor, scores: Tensor, rebuild, batch_dims: int
) -> list[BadInput]:
    boxes_dim = batch_dims + 2
    return [
        BadInput(
            "integer boxes",
            rebuild(boxes.long(), scores),
            rf"{op}: argument 'boxes' must be float32 or float64, got int64",
            error=TypeError,
        ),
        BadInput(
            "dtype mismatch",
            rebuild(
                boxes, scores.to(torch.float64 if scores.dtype == torch.float32 else torch.float32)
            ),
            rf"{op}: arguments 'boxes' and 'scores' must have the same dtype",
            error=TypeError,
        ),
        BadInput(
            "boxes of 5 numbers",
            rebuild(torch.cat([boxes, boxes[..., :1]], -1), scores),
            rf"{op}: argument 'boxes' has size 5 in dimension {boxes_dim - 1}",
        ),
        BadInput(
            "boxes missing a dimension",
            rebuild(boxes.flatten(-2), scores),
            rf"{op}: argument 'boxes' must be a {boxes_dim}-D tensor",
        ),
        BadInput(
            "one score too many",
            rebuild(boxes, torch.cat([scores, scores.new_zeros(*scores.shape[:-1], 1)], -1)),
            rf"{op}: argument 'scores' has size {scores.shape[-1] + 1} in dimension "
            rf"{batch_dims} but the matching size of 'boxes'",
        ),
        BadInput(
            "scores on another device",
            rebuild(boxes, scores.to("meta")),
            rf"{op}: argument 'scores' is on meta but 'boxes' is on cpu",
        ),
    ]


def nms_bad_inputs(args: tuple) -> list[BadInput]:
    boxes, scores, threshold = args
    op = "mt::nms"
    rebuild = lambda b, s: (b, s, threshold)  # noqa: E731
    cases = _shape_problems(op, boxes, scores, rebuild, 0) + [
        BadInput(
            "NaN threshold",
            (boxes, scores, float("nan")),
            rf"{op}: argument 'iou_threshold' is NaN",
        ),
    ]
    if boxes.shape[0] > 0:
        cases += _box_problems(op, boxes, scores, rebuild, r"boxes\[0\]")
    return cases


def batched_nms_bad_inputs(args: tuple) -> list[BadInput]:
    boxes, scores, idxs, threshold = args
    op = "mt::batched_nms"
    if boxes.numel() == 0:  # no boxes: nothing is checked (torchvision's behaviour)
        return []
    rebuild = lambda b, s: (b, s, idxs, threshold)  # noqa: E731
    cases = _shape_problems(op, boxes, scores, rebuild, 0) + [
        BadInput(
            "int32 categories",
            (boxes, scores, idxs.int(), threshold),
            rf"{op}: argument 'idxs' must be int64, got int32",
            error=TypeError,
        ),
        BadInput(
            "one category too many",
            (boxes, scores, torch.cat([idxs, torch.zeros(1, dtype=torch.int64)]), threshold),
            rf"{op}: argument 'idxs' has size {idxs.shape[0] + 1} in dimension 0",
        ),
    ]
    if boxes.shape[0] > 0:
        cases += _box_problems(op, boxes, scores, rebuild, r"boxes\[0\]")
    return cases


def nms_padded_bad_inputs(args: tuple) -> list[BadInput]:
    boxes, scores, threshold, lengths = args
    op = "mt::nms_padded"
    images, width = boxes.shape[:2]
    rebuild = lambda b, s: (b, s, threshold, None)  # noqa: E731
    full = torch.full((images,), width, dtype=torch.int64)
    cases = _shape_problems(op, boxes, scores, rebuild, 1) + [
        BadInput(
            "int32 lengths",
            (boxes, scores, threshold, full.int()),
            rf"{op}: argument 'lengths' must be int64, got int32",
            error=TypeError,
        ),
        BadInput(
            "lengths for another batch",
            (boxes, scores, threshold, torch.cat([full, torch.zeros(1, dtype=torch.int64)])),
            rf"{op}: argument 'lengths' has size {images + 1} in dimension 0",
        ),
        BadInput(
            "NaN threshold",
            (boxes, scores, float("nan"), lengths),
            rf"{op}: argument 'iou_threshold' is NaN",
        ),
    ]
    if images > 0:
        too_many = full.clone()
        too_many[-1] = width + 1
        cases.append(
            BadInput(
                "length beyond the padding",
                (boxes, scores, threshold, too_many),
                rf"{op}: lengths\[{images - 1}\] = {width + 1} is outside",
            )
        )
    if images > 0 and width > 0:
        clean = torch.zeros_like(boxes) + torch.tensor([0.0, 0.0, 1.0, 1.0], dtype=boxes.dtype)
        cases += _box_problems(op, clean, scores, rebuild, r"boxes\[0, 0\]")
    return cases


SPECS = [
    OpSpec(
        name="nms",
        reference=nms_loop,
        sample_args=nms_args,
        bad_inputs=nms_bad_inputs,
    ),
    OpSpec(
        name="batched_nms",
        reference=batched_nms_reference,
        sample_args=batched_nms_args,
        bad_inputs=batched_nms_bad_inputs,
    ),
    OpSpec(
        name="nms_padded",
        reference=nms_padded_reference,
        sample_args=nms_padded_args,
        bad_inputs=nms_padded_bad_inputs,
    ),
    *COCO_SPECS,
    *COCO_RLE_SPECS,
]
