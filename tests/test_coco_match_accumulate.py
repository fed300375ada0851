"""mt::_coco_match_accumulate (ops/detection/coco_match_accumulate.cpp),
coco_evaluate's fused matching and accumulation, and the two public
operators it fuses (coco_match, then coco_accumulate on its flags), against
pycocotools' loops restated in Python (reference.py). Bitwise, at 1-3
threads, on hypothesis-drawn cells: COCO's 10 thresholds and 4 ranges (40
flag bits a detection), and more thresholds than one 64-bit word holds."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import torch_mt
from torch_mt.detection.coco.reference import coco_accumulate_loop, coco_match_loop
from torch_mt.detection.coco.spec import coco_match_args
from torch_mt.testing import LAYOUTS, with_layout

OP = torch.ops.mt._coco_match_accumulate


def _scattered(rows: list, generator: torch.Generator, extra: int) -> tuple[list, torch.Tensor]:
    """Packed rows spread over ``count + extra`` rows in a random place each
    (the records' order), and the order that gathers them back."""
    count = len(rows[0])
    place = torch.randperm(count + extra, generator=generator)[:count]
    spread = []
    for packed in rows:
        full = torch.zeros((count + extra, *packed.shape[1:]), dtype=packed.dtype)
        full[place] = packed
        spread.append(full)
    return spread, place


@st.composite
def fused_args(draw: st.DrawFn) -> tuple[tuple, tuple]:
    """``(packed, records)``: coco_match's arguments, then scores
    non-increasing within each cell (ties included), a category count
    dividing the cells, recall thresholds and max-detections values; and
    the fused operator's arguments for the same evaluation, its columns in
    a random records' order (with unused rows) and the orders beside them."""
    match_args = list(draw(coco_match_args()))
    if draw(st.booleans()):  # 4 ranges x 20 thresholds = 80 bits: two words a detection
        match_args[9] = torch.tensor(
            [[0.0, 1e10], [0.0, 16.0], [16.0, 64.0], [64.0, 1e10]], dtype=torch.float64
        )
        match_args[10] = torch.linspace(0.0, 1.0, 20, dtype=torch.float64)
        match_args[11] = None
    dt_offsets = match_args[2]
    cells, detections = len(dt_offsets) - 1, int(dt_offsets[-1])
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    scores = torch.randint(0, 4, (detections,), generator=generator).double() / 4
    if draw(st.booleans()):
        scores = torch.rand(detections, generator=generator, dtype=torch.float64)
    # Each cell's scores sorted down, as coco_evaluate's packing leaves them.
    cell = torch.repeat_interleave(torch.arange(cells), dt_offsets.diff())
    order = torch.sort(-scores, stable=True).indices
    scores = scores[order[torch.sort(cell[order], stable=True).indices]]
    divisors = [k for k in range(1, max(cells, 1) + 1) if cells % k == 0] if cells else [1]
    num_categories = draw(st.sampled_from(divisors))
    recall_thresholds = draw(
        st.just(torch.linspace(0, 1, 101, dtype=torch.float64).tolist())
        | st.lists(st.floats(0, 1), max_size=6)
    )
    max_detections = draw(st.lists(st.integers(0, 10), min_size=1, max_size=3))
    common = (num_categories, torch.tensor(recall_thresholds, dtype=torch.float64), max_detections)
    packed = (*match_args, scores, *common)
    dt_rows = [match_args[0].contiguous(), match_args[1].contiguous(), scores]
    gt_rows = [a.contiguous() for a in match_args[3:8]]
    dt_spread, dt_order = _scattered(dt_rows, generator, draw(st.integers(0, 3)))
    gt_spread, gt_order = _scattered(gt_rows, generator, draw(st.integers(0, 3)))
    layout = st.sampled_from(LAYOUTS)
    dt_spread = [with_layout(t, draw(layout)) for t in dt_spread]
    gt_spread = [with_layout(t, draw(layout)) for t in gt_spread]
    records = (
        *dt_spread, with_layout(dt_order, draw(layout)), dt_offsets,
        *gt_spread, gt_order, match_args[8], *match_args[9:12], *common,
    )  # fmt: skip
    return packed, records


def two_references(args: tuple) -> tuple:
    """pycocotools' loops, restated in Python (torch_mt/detection/coco/reference.py)."""
    match_args, (scores, num_categories, recall_thresholds, max_detections) = args[:12], args[12:]
    contiguous = [a.contiguous() if isinstance(a, torch.Tensor) else a for a in match_args]
    matched, ignored, regular = coco_match_loop(*contiguous)
    return coco_accumulate_loop(
        scores.contiguous(), matched, ignored, match_args[2], regular, num_categories,
        recall_thresholds, max_detections,
    )  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(args=fused_args(), threads=st.sampled_from([1, 2, 3]))
def test_equals_the_references_and_the_two_operators(args, threads):
    packed, records = args
    expected = two_references(packed)
    matched, ignored, regular = torch.ops.mt.coco_match(*packed[:12])
    operators = torch.ops.mt.coco_accumulate(
        packed[12], matched, ignored, packed[2], regular, *packed[13:]
    )
    with torch_mt.num_threads(threads):
        got = OP(*records)
    for name, want, public, have in zip(
        ("precision", "recall", "scores"), expected, operators, got
    ):
        assert have.shape == want.shape, name
        # NaN never appears (scores and thresholds are checked); -1 marks absent categories.
        assert torch.equal(have, want), name
        assert torch.equal(public, want), name


@settings(max_examples=20, deadline=None)
@given(args=fused_args())
def test_opcheck(args):
    torch.library.opcheck(OP.default, args[1])


def _sample() -> list:
    """A small valid call: two cells of one category, rows in packed order."""
    f64 = torch.float64
    boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 5, 5]], dtype=f64)
    offsets, order = torch.tensor([0, 2, 3]), torch.arange(3)
    areas = boxes[:, 2] * boxes[:, 3]
    no = torch.zeros(3, dtype=torch.bool)
    scores = torch.tensor([0.9, 0.8, 0.7], dtype=f64)
    return [
        boxes, areas, scores, order, offsets, boxes, areas, no, no, torch.arange(1, 4), order,
        offsets, torch.tensor([[0.0, 1e10]], dtype=f64), torch.tensor([0.5, 0.75], dtype=f64),
        None, 1, torch.linspace(0, 1, 101, dtype=f64), [1, 10, 100],
    ]  # fmt: skip


def _with(position: int, value) -> list:
    args = _sample()
    args[position] = value
    return args


F64 = torch.float64


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (
            _with(2, torch.tensor([0.9, 0.8], dtype=F64)),
            ValueError,
            r"dt_scores.*size of 'dt_boxes'",
        ),
        (_with(2, torch.tensor([0.9, 0.8, 0.7])), TypeError, r"dt_scores.*float64"),
        (
            _with(2, torch.tensor([0.8, 0.9, 0.7], dtype=F64)),
            ValueError,
            r"dt_scores\[1\] = 0.9 is above dt_scores\[0\]",
        ),
        (
            _with(2, torch.tensor([0.9, float("nan"), 0.7], dtype=F64)),
            ValueError,
            r"dt_scores\[1\] is NaN",
        ),
        (
            _with(3, torch.tensor([0, 7, 2])),
            ValueError,
            r"dt_order\[1\] = 7 is not an index of dt_boxes \(3\)",
        ),
        (_with(3, torch.tensor([0, 1])), ValueError, r"dt_offsets\[-1\] must be the number"),
        (
            _with(10, torch.tensor([0, 1, -1])),
            ValueError,
            r"gt_order\[2\] = -1 is not an index of gt_boxes",
        ),
        (_with(3, torch.tensor([0.0, 1, 2])), TypeError, r"dt_order.*int64"),
        (_with(15, 0), ValueError, r"'num_categories' must be >= 1"),
        (_with(15, 3), ValueError, r"2 cells are not num_categories = 3"),
        (_with(17, [1, -1]), ValueError, r"max_detections\[1\] must be >= 0"),
        (
            _with(16, torch.tensor([0.5, float("nan")], dtype=F64)),
            ValueError,
            r"recall_thresholds\[1\] is NaN",
        ),
        (_with(4, torch.tensor([0, 3, 2])), ValueError, r"dt_offsets must not decrease"),
        (
            _with(0, torch.full((3, 4), float("nan"), dtype=F64)),
            ValueError,
            r"dt_boxes\[0\] is NaN or infinite",
        ),
    ],  # fmt: skip
)
def test_bad_input_names_the_operator_and_the_argument(args, error, message):
    with pytest.raises(error, match=rf"mt::_coco_match_accumulate: .*{message}"):
        OP(*args)
