"""Specs of the COCO evaluation operators (ops/detection/coco_match.cpp,
coco_accumulate.cpp, coco_oks.cpp). Their references restate pycocotools'
loops (reference.coco_match_loop, coco_oks_exponents_loop,
coco_accumulate_loop); coco_evaluate itself is checked against pycocotools
in tests/test_coco.py and tests/test_coco_keypoints.py.
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import strategies as st
from torch import Tensor

from ...testing import LAYOUTS, BadInput, OpSpec, with_layout
from .offsets import offsets_of
from .reference import coco_accumulate_loop, coco_match_loop, coco_oks_exponents_loop

#: pycocotools' default thresholds (np.linspace(.5, .95, 10)).
_COCO_IOUS = [0.5 + 0.05 * k for k in range(10)]


def _packed_counts(generator: torch.Generator, cells: int, most: int) -> tuple[Tensor, int]:
    counts = torch.randint(0, most + 1, (cells,), generator=generator)
    offsets = offsets_of(counts)
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
    # Similarities given (segm, keypoints): each cell's matrix, on a grid of
    # 1/4 so that ties and thresholds meet; -inf never matches.
    pairs = int((dt_offsets.diff() * gt_offsets.diff()).sum())
    ious = torch.randint(-1, 5, (pairs,), generator=generator).double() / 4
    ious[ious < 0] = -float("inf")
    given = with_layout(ious, draw(layout)) if draw(st.booleans()) else None
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
        given,
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
    pairs = int((dt_offsets.diff() * args[8].diff()).sum())  # cell by cell, dt x gt
    ious = args[11] if args[11] is not None else torch.zeros(pairs, dtype=torch.float64)
    cases.append(
        BadInput(
            "one similarity too many",
            _replaced(args, 11, torch.cat([ious, ious.new_zeros(1)])),
            rf"{op}: argument 'ious' must hold {pairs} values",
        )
    )
    if len(ious) > 0:
        nan = ious.clone()
        nan[-1] = float("nan")
        cases.append(
            BadInput("NaN similarity", _replaced(args, 11, nan), rf"{op}: ious\[{len(ious) - 1}\]")
        )
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


@st.composite
def coco_oks_exponents_args(draw: st.DrawFn, large: bool = False) -> tuple:
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    keypoints = draw(st.sampled_from([1, 3, 17]))
    detections = draw(st.integers(40, 80) if large else st.integers(0, 5))
    truths = draw(st.integers(20, 40) if large else st.integers(0, 4))
    pairs = draw(st.integers(500, 900) if large else st.integers(0, 12))
    pairs = pairs if detections * truths else 0  # an index needs something to point at

    def points(count: int) -> Tensor:
        xy = torch.randint(0, 30, (count, keypoints, 2), generator=generator).double()
        if draw(st.booleans()):
            xy = xy + torch.rand(count, keypoints, 2, generator=generator, dtype=torch.float64)
        visibility = torch.randint(0, 3, (count, keypoints, 1), generator=generator).double()
        hidden = torch.rand(count, 1, 1, generator=generator) < 0.3  # none visible: grown box
        return torch.cat([xy, visibility.masked_fill(hidden, 0)], 2)

    gt_boxes = torch.randint(0, 20, (truths, 4), generator=generator).double()
    gt_areas = torch.randint(0, 400, (truths,), generator=generator).double()  # 0: eps only
    layout = st.sampled_from(LAYOUTS)
    return (
        with_layout(points(detections), draw(layout)),
        with_layout(points(truths), draw(layout)),
        with_layout(gt_boxes, draw(layout)),
        gt_areas,
        torch.randint(0, max(detections, 1), (pairs,), generator=generator),
        with_layout(torch.randint(0, max(truths, 1), (pairs,), generator=generator), draw(layout)),
        torch.rand(keypoints, generator=generator, dtype=torch.float64) / 10 + 0.01,
    )


def coco_oks_exponents_bad_inputs(args: tuple) -> list[BadInput]:
    op = "mt::coco_oks_exponents"
    dt_keypoints, gt_keypoints, gt_boxes, gt_areas, pair_dt, pair_gt, sigmas = args
    cases = [
        BadInput(
            "float32 keypoints",
            _replaced(args, 0, dt_keypoints.float()),
            rf"{op}: argument 'dt_keypoints' must be float64, got float32",
            error=TypeError,
        ),
        BadInput(
            "pairs of (x, y) only",
            _replaced(args, 1, gt_keypoints[:, :, :2]),
            rf"{op}: argument 'gt_keypoints' has size 2 in dimension 2",
        ),
        BadInput(
            "one sigma too many",
            _replaced(args, 6, torch.cat([sigmas, sigmas[:1]])),
            rf"{op}: argument 'dt_keypoints' has size {len(sigmas)} in dimension 1",
        ),
        BadInput(
            "a pair index past the detections",
            _replaced(args, 4, torch.cat([pair_dt, pair_dt.new_full((1,), len(dt_keypoints))])),
            rf"{op}: argument 'pair_gt' has size {len(pair_gt)} in dimension 0",
        ),
        BadInput(
            "int32 pair indices",
            _replaced(args, 5, pair_gt.int()),
            rf"{op}: argument 'pair_gt' must be int64, got int32",
            error=TypeError,
        ),
    ]
    if len(pair_dt) > 0:
        past = pair_dt.clone()
        past[-1] = len(dt_keypoints)
        cases.append(
            BadInput(
                "a detection index past the end",
                _replaced(args, 4, past),
                rf"{op}: pair_dt\[{len(past) - 1}\] = {len(dt_keypoints)} is not an index",
            )
        )
    if len(gt_keypoints) > 0:
        nan = gt_keypoints.clone()
        nan[0, 0, 1] = float("nan")
        cases.append(
            BadInput("NaN keypoint", _replaced(args, 1, nan), rf"{op}: gt_keypoints\[0\] has a NaN")
        )
    return cases


COCO_SPECS = [
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
    OpSpec(
        name="coco_oks_exponents",
        reference=coco_oks_exponents_loop,
        sample_args=coco_oks_exponents_args,
        bad_inputs=coco_oks_exponents_bad_inputs,
    ),
]
