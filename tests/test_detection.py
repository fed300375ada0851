"""nms / batched_nms / nms_padded beyond the generic suite: the documented
edge-case behaviour, agreement between the three, compiled graphs that use the
data-dependent output, errors from inside the fan-out."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import torch_mt
from torch_mt.detection.reference import nms_loop
from torch_mt.detection.spec import batched_nms_reference, nms_args
from torch_mt.testing import THREAD_COUNTS


def test_equal_scores_keep_lower_index_first():
    boxes = torch.tensor([[0.0, 0, 1, 1], [5, 5, 6, 6], [0, 0, 1, 1]])
    scores = torch.tensor([0.5, 0.5, 0.5])
    assert torch_mt.nms(boxes, scores, 0.5).tolist() == [0, 1]


def test_zero_area_boxes_never_suppress_or_get_suppressed():
    boxes = torch.tensor([[2.0, 2, 2, 2], [2, 2, 2, 2], [0, 0, 4, 4], [1, 1, 1, 3]])
    assert torch_mt.nms(boxes, torch.tensor([0.9, 0.8, 0.7, 0.6]), 0.0).tolist() == [0, 1, 2, 3]


def test_threshold_is_strict():
    boxes = torch.tensor([[0.0, 0, 2, 1], [1, 0, 3, 1]], dtype=torch.float64)  # IoU = 1/3
    scores = torch.tensor([0.9, 0.8], dtype=torch.float64)
    assert torch_mt.nms(boxes, scores, 1 / 3).tolist() == [0, 1]
    assert torch_mt.nms(boxes, scores, 0.33).tolist() == [0]


#: Category ids as class ids (a small range: counting sort), spread far apart,
#: or at the int64 extremes (a comparison sort, and no overflow in the span).
CATEGORY_SPELLINGS = {
    "class ids": lambda c: c,
    "spread": lambda c: c * 2**40 - 5,
    "extremes": lambda c: 2**63 - 1 - c if c % 2 else -(2**63) + c,
}


@settings(max_examples=25)
@given(
    args=nms_args(),
    categories=st.integers(1, 4),
    seed=st.integers(0, 1000),
    spelling=st.sampled_from(sorted(CATEGORY_SPELLINGS)),
)
def test_batched_nms_is_nms_per_category(args, categories, seed, spelling):
    boxes, scores, threshold = args
    classes = torch.randint(
        0, categories, (boxes.shape[0],), generator=torch.Generator().manual_seed(seed)
    )
    idxs = torch.tensor([CATEGORY_SPELLINGS[spelling](c) for c in classes.tolist()])
    idxs = idxs.reshape(boxes.shape[0])
    kept = set(torch_mt.batched_nms(boxes, scores, idxs, threshold).tolist())
    idxs = classes  # the same grouping, by class
    for category in range(categories):
        members = torch.nonzero(idxs == category).flatten()
        alone = members[torch_mt.nms(boxes[members], scores[members], threshold)]
        assert set(alone.tolist()) == {i for i in kept if idxs[i] == category}


@pytest.mark.parametrize("idxs", [torch.empty(0), torch.empty(0, dtype=torch.int32)])
def test_batched_nms_of_no_boxes_is_empty_whatever_idxs_is_as_in_torchvision(idxs):
    # torchvision.ops.batched_nms returns torch.empty((0,), dtype=torch.int64)
    # for boxes.numel() == 0 without looking at the other arguments.
    boxes, scores = torch.empty(0, 4), torch.empty(0)
    for call in (
        torch_mt.batched_nms,
        torch.compile(torch_mt.batched_nms, backend="aot_eager", fullgraph=True),
    ):
        kept = call(boxes, scores, idxs, 0.5)
        assert kept.dtype == torch.int64 and kept.shape == (0,)


@settings(max_examples=15)
@given(args=nms_args(), copies=st.integers(1, 3))
def test_nms_padded_rows_equal_nms(args, copies):
    boxes, scores, threshold = args
    keep = torch_mt.nms_padded(boxes.expand(copies, -1, -1), scores.expand(copies, -1), threshold)
    expected = torch.zeros(boxes.shape[0], dtype=torch.bool)
    expected[torch_mt.nms(boxes, scores, threshold)] = True
    assert torch.equal(keep, expected.expand(copies, -1))


def _detections(count: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    corner = torch.rand(count, 2, generator=generator) * 100
    boxes = torch.cat([corner, corner + torch.rand(count, 2, generator=generator) * 30], dim=1)
    return boxes, torch.rand(count, generator=generator)


@pytest.mark.parametrize(
    "backend", ["aot_eager", pytest.param("inductor", marks=pytest.mark.inductor)]
)
def test_compiled_graph_uses_the_kept_indices(backend):
    def top_boxes(boxes, scores):
        kept = torch_mt.nms(boxes, scores, 0.5)
        return boxes[kept] * scores[kept].unsqueeze(1), kept.shape[0]

    compiled = torch.compile(top_boxes, backend=backend, fullgraph=True, dynamic=True)
    for count in (0, 7, 300):
        boxes, scores = _detections(count, seed=count)
        expected = top_boxes(boxes, scores)
        actual = compiled(boxes, scores)
        assert torch.equal(actual[0], expected[0]) and actual[1] == expected[1]


def test_large_image_matches_reference_at_every_thread_count():
    boxes, scores = _detections(5000)
    expected = nms_loop(boxes, scores, 0.5)
    for threads in THREAD_COUNTS:
        with torch_mt.num_threads(threads):
            assert torch.equal(torch_mt.nms(boxes, scores, 0.5), expected)


@pytest.mark.parametrize("threads", THREAD_COUNTS)
def test_padded_error_names_lowest_failing_image_for_any_thread_count(threads):
    boxes, scores = _detections(32 * 200)
    boxes, scores = boxes.view(32, 200, 4).clone(), scores.view(32, 200).clone()
    boxes[25, 3, 2] = float("nan")
    scores[7, 150] = float("nan")
    with (
        torch_mt.num_threads(threads),
        pytest.raises(ValueError, match=r"mt::nms_padded: the score of boxes\[7, 150\]"),
    ):
        torch_mt.nms_padded(boxes, scores, 0.5)
    counts = torch.full((32,), 200)
    counts[7] = 150  # now the NaN score is padding
    with (
        torch_mt.num_threads(threads),
        pytest.raises(ValueError, match=r"boxes\[25, 3\] has a NaN"),
    ):
        torch_mt.nms_padded(boxes, scores, 0.5, lengths=counts)


def test_many_kept_boxes_are_ordered_the_same_at_every_thread_count():
    # Most boxes kept (many small categories) and scores with many ties: the
    # final ordering is sorted in one slice per thread, then merged.
    generator = torch.Generator().manual_seed(5)
    boxes, _ = _detections(12_000, seed=5)
    scores = torch.randint(0, 5, (12_000,), generator=generator) / 4
    idxs = torch.randint(0, 3_000, (12_000,), generator=generator)
    expected = batched_nms_reference(boxes, scores, idxs, 0.5)
    assert expected.numel() > 8_000  # several slices of 2048 and more
    for threads in THREAD_COUNTS:
        with torch_mt.num_threads(threads):
            assert torch.equal(torch_mt.batched_nms(boxes, scores, idxs, 0.5), expected)
