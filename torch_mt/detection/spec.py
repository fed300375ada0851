"""Specs of the NMS operators (ops/detection/nms.cpp) and the COCO
evaluation operators (ops/detection/coco_match.cpp, coco_accumulate.cpp).

NMS references are built on reference.nms_loop (a Python loop with
torchvision's arithmetic), which is also the benchmark's baseline; the COCO
ones restate pycocotools' loops (reference.coco_match_loop,
coco_accumulate_loop). coco_evaluate itself is checked against pycocotools
in tests/test_coco.py.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from hypothesis import strategies as st
from torch import Tensor

from ..testing import LAYOUTS, BadInput, OpSpec, boxes_and_scores, with_layout
from .reference import coco_accumulate_loop, coco_match_loop, nms_loop

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


# ---- COCO evaluation -----------------------------------------------------------

#: pycocotools' default thresholds (np.linspace(.5, .95, 10)).
_COCO_IOUS = [0.5 + 0.05 * k for k in range(10)]


def _packed_counts(generator: torch.Generator, cells: int, most: int) -> tuple[Tensor, int]:
    counts = torch.randint(0, most + 1, (cells,), generator=generator)
    offsets = torch.cat([torch.zeros(1, dtype=torch.int64), counts.cumsum(0)])
    return offsets, int(offsets[-1])


def _grid_boxes(generator: torch.Generator, count: int, grid: int) -> Tensor:
    """Integer (x, y, w, h) on a small grid: equal IoUs and IoUs exactly at a threshold."""
    corner = torch.randint(0, grid, (count, 2), generator=generator)
    size = torch.randint(1, grid + 1, (count, 2), generator=generator)
    return torch.cat([corner, size], 1).double()


def _replaced(args: tuple, position: int, value: Any) -> tuple:
    """``args`` with the argument at ``position`` replaced by ``value``."""
    return args[:position] + (value,) + args[position + 1 :]


@st.composite
def coco_match_args(draw: st.DrawFn, large: bool = False) -> tuple:
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    cells = draw(st.integers(200, 400) if large else st.integers(0, 6))
    dt_offsets, detections = _packed_counts(generator, cells, 8)
    gt_offsets, truths = _packed_counts(generator, cells, 5)
    grid = draw(st.sampled_from([3, 16]))
    dt_boxes, gt_boxes = (
        _grid_boxes(generator, detections, grid),
        _grid_boxes(generator, truths, grid),
    )
    dt_areas = dt_boxes[:, 2] * dt_boxes[:, 3]
    scale = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
    gt_areas = (
        gt_boxes[:, 2] * gt_boxes[:, 3] * scale[torch.randint(0, 3, (truths,), generator=generator)]
    )
    gt_crowd = torch.rand(truths, generator=generator) < 0.2
    gt_ignore = gt_crowd | (torch.rand(truths, generator=generator) < 0.1)
    if draw(st.booleans()):  # ids 0 among them: pycocotools counts a match to id 0 as none
        gt_ids = torch.randint(0, 3, (truths,), generator=generator)
    else:
        gt_ids = torch.arange(1, truths + 1)
    side = float(grid * grid)
    area_ranges = draw(
        st.sampled_from(
            [
                [[0.0, 1e10], [0.0, side / 4], [side / 4, side], [side, 1e10]],
                [[0.0, 1e10]],
                [[2.0, 2.0], [4.0, side / 2]],
            ]
        )
    )
    thresholds = draw(
        st.just(_COCO_IOUS)
        | st.lists(st.sampled_from([0.0, 0.25, 1 / 3, 0.5, 1.0]) | st.floats(0, 1), max_size=3)
    )
    layout = st.sampled_from(LAYOUTS)
    return (
        with_layout(dt_boxes, draw(layout)),
        with_layout(dt_areas, draw(layout)),
        dt_offsets,
        with_layout(gt_boxes, draw(layout)),
        gt_areas,
        with_layout(gt_crowd, draw(layout)),
        gt_ignore,
        gt_ids,
        gt_offsets,
        torch.tensor(area_ranges, dtype=torch.float64),
        torch.tensor(thresholds, dtype=torch.float64),
    )


def coco_match_bad_inputs(args: tuple) -> list[BadInput]:
    op = "mt::coco_match"
    dt_boxes, dt_areas, dt_offsets, gt_boxes = args[:4]

    cases = [
        BadInput(
            "float32 boxes",
            _replaced(args, 0, dt_boxes.float()),
            rf"{op}: argument 'dt_boxes' must be float64, got float32",
            error=TypeError,
        ),
        BadInput(
            "boxes of 5 numbers",
            _replaced(args, 3, torch.cat([gt_boxes, gt_boxes[:, :1]], 1)),
            rf"{op}: argument 'gt_boxes' has size 5 in dimension 1",
        ),
        BadInput(
            "one area too many",
            _replaced(args, 1, torch.cat([dt_areas, dt_areas.new_zeros(1)])),
            rf"{op}: argument 'dt_areas' has size {len(dt_areas) + 1} in dimension 0",
        ),
        BadInput(
            "int32 offsets",
            _replaced(args, 2, dt_offsets.int()),
            rf"{op}: argument 'dt_offsets' must be int64, got int32",
            error=TypeError,
        ),
        BadInput(
            "offsets past the detections",
            _replaced(args, 2, torch.cat([dt_offsets[:-1], dt_offsets[-1:] + 1])),
            rf"{op}: dt_offsets\[-1\] must be the number of detections"
            if len(dt_offsets) > 1
            else rf"{op}: dt_offsets\[0\] must be 0, got 1",
        ),
        BadInput(
            "area ranges of 3 numbers",
            _replaced(args, 9, torch.zeros(1, 3, dtype=torch.float64)),
            rf"{op}: argument 'area_ranges' has size 3 in dimension 1",
        ),
    ]
    if len(dt_boxes) > 0:
        nan_box = dt_boxes.clone()
        nan_box[0, 2] = float("nan")
        cases.append(
            BadInput(
                "NaN box", _replaced(args, 0, nan_box), rf"{op}: dt_boxes\[0\] is NaN or infinite"
            )
        )
    return cases


@st.composite
def coco_accumulate_args(draw: st.DrawFn, large: bool = False) -> tuple:
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    categories = draw(st.integers(4, 10) if large else st.integers(1, 3))
    images = draw(st.integers(30, 60) if large else st.integers(0, 4))
    cells = categories * images
    offsets, detections = _packed_counts(generator, cells, 8)
    # Scores with ties, then sorted down within each cell.
    scores = torch.randint(0, 4, (detections,), generator=generator).double() / 4
    if draw(st.booleans()):
        scores = torch.rand(detections, generator=generator, dtype=torch.float64)
    cell = torch.repeat_interleave(torch.arange(cells), offsets.diff())
    order = torch.sort(-scores, stable=True).indices
    order = order[torch.sort(cell[order], stable=True).indices]
    scores = scores[order]
    ranges, thresholds = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    matched = torch.rand(ranges, thresholds, detections, generator=generator) < 0.5
    ignored = torch.rand(ranges, thresholds, detections, generator=generator) < 0.2
    regular = torch.randint(0, 3, (ranges, cells), generator=generator)
    recall_thresholds = draw(
        st.just(torch.linspace(0, 1, 101, dtype=torch.float64).tolist())
        | st.lists(st.floats(0, 1), max_size=6)
    )
    max_detections = draw(st.lists(st.integers(0, 10), min_size=1, max_size=3))
    layout = st.sampled_from(LAYOUTS)
    return (
        with_layout(scores, draw(layout)),
        with_layout(matched, draw(layout)),
        ignored,
        offsets,
        with_layout(regular, draw(layout)),
        categories,
        torch.tensor(recall_thresholds, dtype=torch.float64),
        max_detections,
    )


def coco_accumulate_bad_inputs(args: tuple) -> list[BadInput]:
    op = "mt::coco_accumulate"
    scores, matched, ignored, offsets, regular, categories, points, max_dets = args

    cases = [
        BadInput(
            "float32 scores",
            _replaced(args, 0, scores.float()),
            rf"{op}: argument 'dt_scores' must be float64, got float32",
            error=TypeError,
        ),
        BadInput(
            "ignored of another shape",
            _replaced(args, 2, ignored[:, :, :0])
            if ignored.shape[2]
            else _replaced(args, 2, ignored[:0]),
            rf"{op}: argument 'ignored' has size",
        ),
        BadInput(
            "no category", _replaced(args, 5, 0), rf"{op}: argument 'num_categories' must be >= 1"
        ),
        BadInput(
            "negative max detections",
            _replaced(args, 7, [-1]),
            rf"{op}: max_detections\[0\] must be >= 0",
        ),
    ]
    if len(scores) > 0:
        nan = scores.clone()
        nan[0] = float("nan")
        cases.append(
            BadInput("NaN score", _replaced(args, 0, nan), rf"{op}: dt_scores\[0\] is NaN")
        )
    cell_sizes = offsets.diff()
    if bool((cell_sizes >= 2).any()):
        first = int(offsets[int((cell_sizes >= 2).nonzero()[0])])
        rising = scores.clone()
        rising[first + 1] = rising[first] + 1
        cases.append(
            BadInput(
                "scores rising within a cell",
                _replaced(args, 0, rising),
                rf"{op}: dt_scores\[{first + 1}\] = .* is above dt_scores\[{first}\]",
            )
        )
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
    OpSpec(
        name="coco_match",
        reference=coco_match_loop,
        sample_args=coco_match_args,
        bad_inputs=coco_match_bad_inputs,
    ),
    OpSpec(
        name="coco_accumulate",
        reference=coco_accumulate_loop,
        sample_args=coco_accumulate_args,
        bad_inputs=coco_accumulate_bad_inputs,
    ),
]
