"""OpSpecs of the NMS operators (ops/nms.cpp); references built on torch_mt.reference.nms_loop."""

from __future__ import annotations

from typing import Optional

import torch
from hypothesis import strategies as st
from torch import Tensor

from .. import detection
from ..reference import nms_loop
from ..testing import LAYOUTS, with_layout
from . import BadInput, OpSpec

#: Thresholds worth testing: the usual ones, the extremes, and a negative one
#: (which suppresses every overlapping-or-touching pair but not empty unions).
THRESHOLDS = st.one_of(st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0, -0.5]),
                       st.floats(0.0, 1.0))


def random_boxes(generator: torch.Generator, shape: tuple[int, ...], grid: int,
                 dtype: torch.dtype) -> Tensor:
    """Boxes ``[*shape, 4]`` on a small integer grid: duplicates, shared edges,
    zero widths and heights are common, as in real detector output."""
    corner = torch.randint(0, grid, (*shape, 2), generator=generator)
    size = torch.randint(0, grid // 2 + 1, (*shape, 2), generator=generator)
    return torch.cat([corner, corner + size], dim=-1).to(dtype)


def random_scores(generator: torch.Generator, shape: tuple[int, ...], ties: bool,
                  dtype: torch.dtype) -> Tensor:
    if ties:  # a few distinct values: the index breaks ties
        return (torch.randint(0, 3, shape, generator=generator) / 2).to(dtype)
    return torch.rand(shape, generator=generator, dtype=torch.float64).to(dtype)


@st.composite
def _detections(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[Tensor, Tensor]:
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    grid = draw(st.sampled_from([2, 8, 64]))
    boxes = random_boxes(generator, shape, grid, dtype)
    scores = random_scores(generator, shape, draw(st.booleans()), dtype)
    layouts = st.sampled_from(LAYOUTS)
    return with_layout(boxes, draw(layouts)), with_layout(scores, draw(layouts))


def _box_count(draw: st.DrawFn, large: bool) -> int:
    # large: several blocks of 256 boxes, so later boxes are checked in parallel
    return draw(st.integers(600, 1200) if large else st.integers(0, 12))


@st.composite
def nms_args(draw: st.DrawFn, large: bool = False) -> tuple:
    boxes, scores = draw(_detections((_box_count(draw, large),)))
    return boxes, scores, draw(THRESHOLDS)


@st.composite
def batched_nms_args(draw: st.DrawFn, large: bool = False) -> tuple:
    count = _box_count(draw, large)
    boxes, scores = draw(_detections((count,)))
    categories = draw(st.sampled_from([1, 3, 40]))
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    idxs = torch.randint(-categories, categories, (count,), generator=generator)
    return boxes, scores, with_layout(idxs, draw(st.sampled_from(LAYOUTS))), draw(THRESHOLDS)


@st.composite
def nms_padded_args(draw: st.DrawFn, large: bool = False) -> tuple:
    images = draw(st.integers(8, 24) if large else st.integers(0, 4))
    width = draw(st.integers(20, 80) if large else st.integers(0, 10))
    boxes, scores = draw(_detections((images, width)))
    counts = None
    if draw(st.booleans()):
        counts = torch.tensor(draw(st.lists(st.integers(0, width), min_size=images,
                                            max_size=images)), dtype=torch.int64)
        counts = with_layout(counts, draw(st.sampled_from(LAYOUTS)))
        for b, count in enumerate(counts.tolist()):  # padding the kernel must not read
            boxes[b, count:] = float("nan")
    return boxes, scores, counts, draw(THRESHOLDS)


def batched_nms_reference(boxes: Tensor, scores: Tensor, idxs: Tensor,
                          iou_threshold: float) -> Tensor:
    kept = [members[nms_loop(boxes[members], scores[members], iou_threshold)]
            for members in (torch.nonzero(idxs == c).flatten() for c in idxs.unique())]
    kept = torch.cat(kept) if kept else torch.zeros(0, dtype=torch.int64)
    kept = kept.sort().values  # then by score, stable: equal scores by index
    return kept[torch.sort(scores[kept], descending=True, stable=True).indices]


def nms_padded_reference(boxes: Tensor, scores: Tensor, counts: Optional[Tensor],
                         iou_threshold: float) -> Tensor:
    keep = torch.zeros(boxes.shape[:2], dtype=torch.bool)
    for b in range(boxes.shape[0]):
        count = boxes.shape[1] if counts is None else int(counts[b])
        keep[b, nms_loop(boxes[b, :count], scores[b, :count], iou_threshold)] = True
    return keep


def _box_problems(op: str, boxes: Tensor, scores: Tensor, rebuild, where: str) -> list[BadInput]:
    """NaN, infinite and inverted boxes, and NaN scores, placed in the first box.

    ``rebuild(boxes, scores)`` makes the argument tuple; ``where`` names the box.
    """
    nan_score, nan_box, inf_box, inverted = (t.contiguous().clone()
                                             for t in (scores, boxes, boxes, boxes))
    nan_score.view(-1)[0] = float("nan")
    nan_box.view(-1, 4)[0, 1] = float("nan")
    inf_box.view(-1, 4)[0, 2] = float("inf")
    inverted.view(-1, 4)[0, 2] = inverted.view(-1, 4)[0, 0] - 1
    return [
        BadInput("NaN score", rebuild(boxes, nan_score),
                 rf"{op}: the score of {where} is NaN"),
        BadInput("NaN coordinate", rebuild(nan_box, scores),
                 rf"{op}: {where} has a NaN or infinite coordinate"),
        BadInput("infinite coordinate", rebuild(inf_box, scores),
                 rf"{op}: {where} has a NaN or infinite coordinate"),
        BadInput("x2 < x1", rebuild(inverted, scores), rf"{op}: {where} has x2 < x1"),
    ]


def _shape_problems(op: str, boxes: Tensor, scores: Tensor, rebuild, batch_dims: int
                    ) -> list[BadInput]:
    boxes_dim = batch_dims + 2
    return [
        BadInput("integer boxes", rebuild(boxes.long(), scores),
                 rf"{op}: argument 'boxes' must be float32 or float64, got int64"),
        BadInput("dtype mismatch", rebuild(boxes, scores.to(
            torch.float64 if scores.dtype == torch.float32 else torch.float32)),
                 rf"{op}: arguments 'boxes' and 'scores' must have the same dtype"),
        BadInput("boxes of 5 numbers", rebuild(torch.cat([boxes, boxes[..., :1]], -1), scores),
                 rf"{op}: argument 'boxes' has size 5 in dimension {boxes_dim - 1}"),
        BadInput("boxes missing a dimension", rebuild(boxes.flatten(-2), scores),
                 rf"{op}: argument 'boxes' must be a {boxes_dim}-D tensor"),
        BadInput("one score too many", rebuild(boxes, torch.cat(
            [scores, scores.new_zeros(*scores.shape[:-1], 1)], -1)),
                 rf"{op}: argument 'scores' has size {scores.shape[-1] + 1} in dimension "
                 rf"{batch_dims} but the matching size of 'boxes'"),
        BadInput("scores on another device", rebuild(boxes, scores.to("meta")),
                 rf"{op}: argument 'scores' is on meta but 'boxes' is on cpu"),
    ]


def nms_bad_inputs(args: tuple) -> list[BadInput]:
    boxes, scores, threshold = args
    op = "mt::nms"
    rebuild = lambda b, s: (b, s, threshold)  # noqa: E731
    cases = _shape_problems(op, boxes, scores, rebuild, 0) + [
        BadInput("NaN threshold", (boxes, scores, float("nan")),
                 rf"{op}: argument 'iou_threshold' is NaN"),
    ]
    if boxes.shape[0] > 0:
        cases += _box_problems(op, boxes, scores, rebuild, r"boxes\[0\]")
    return cases


def batched_nms_bad_inputs(args: tuple) -> list[BadInput]:
    boxes, scores, idxs, threshold = args
    op = "mt::batched_nms"
    rebuild = lambda b, s: (b, s, idxs, threshold)  # noqa: E731
    cases = _shape_problems(op, boxes, scores, rebuild, 0) + [
        BadInput("int32 categories", (boxes, scores, idxs.int(), threshold),
                 rf"{op}: argument 'idxs' must be int64, got int32"),
        BadInput("one category too many", (boxes, scores, torch.cat([idxs, torch.zeros(1, dtype=torch.int64)]),
                                           threshold),
                 rf"{op}: argument 'idxs' has size {idxs.shape[0] + 1} in dimension 0"),
    ]
    if boxes.shape[0] > 0:
        cases += _box_problems(op, boxes, scores, rebuild, r"boxes\[0\]")
    return cases


def nms_padded_bad_inputs(args: tuple) -> list[BadInput]:
    boxes, scores, counts, threshold = args
    op = "mt::nms_padded"
    images, width = boxes.shape[:2]
    rebuild = lambda b, s: (b, s, None, threshold)  # noqa: E731
    full = torch.full((images,), width, dtype=torch.int64)
    cases = _shape_problems(op, boxes, scores, rebuild, 1) + [
        BadInput("int32 counts", (boxes, scores, full.int(), threshold),
                 rf"{op}: argument 'counts' must be int64, got int32"),
        BadInput("counts for another batch", (boxes, scores, torch.cat([full, torch.zeros(1, dtype=torch.int64)]),
                                              threshold),
                 rf"{op}: argument 'counts' has size {images + 1} in dimension 0"),
    ]
    if images > 0:
        too_many = full.clone()
        too_many[-1] = width + 1
        cases.append(BadInput("count beyond the padding", (boxes, scores, too_many, threshold),
                              rf"{op}: counts\[{images - 1}\] = {width + 1} is outside"))
    if images > 0 and width > 0:
        clean = torch.zeros_like(boxes) + torch.tensor([0.0, 0.0, 1.0, 1.0], dtype=boxes.dtype)
        cases += _box_problems(op, clean, scores, rebuild, r"boxes\[0, 0\]")
    return cases


SPECS = [
    OpSpec(name="nms", call_wrapper=detection.nms, reference=nms_loop,
           sample_args=lambda large=False: nms_args(large=large), bad_inputs=nms_bad_inputs),
    OpSpec(name="batched_nms", call_wrapper=detection.batched_nms,
           reference=batched_nms_reference,
           sample_args=lambda large=False: batched_nms_args(large=large),
           bad_inputs=batched_nms_bad_inputs),
    OpSpec(name="nms_padded", call_wrapper=detection.nms_padded,
           reference=nms_padded_reference,
           sample_args=lambda large=False: nms_padded_args(large=large),
           bad_inputs=nms_padded_bad_inputs),
]
