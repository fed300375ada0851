"""CTC alignment and decoding beyond the generic suite: brute-force enumeration
of every alignment (tiny T and C) for the beam search and for the forced
alignment's optimality, definitions written with torch ops, an independent
vectorised trellis, and the corner cases (no frames, no tokens, blank only)."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scripts import json_with_and_without_simd

import torch_mt
from torch_mt.ctc.bench import batched_trellis_align, speech_like, trellis_align


def collapse(path: tuple[int, ...], blank: int) -> tuple[int, ...]:
    """CTC's many-to-one map: merge repeats, then drop blanks."""
    merged = [label for i, label in enumerate(path) if i == 0 or label != path[i - 1]]
    return tuple(label for label in merged if label != blank)


def log_sum(values: list[float]) -> float:
    high = max(values)
    if high == -math.inf:
        return -math.inf
    return high + math.log(sum(math.exp(v - high) for v in values))


@st.composite
def tiny_frames(draw, max_steps=4, max_classes=3):
    steps = draw(st.integers(0, max_steps))
    classes = draw(st.integers(1, max_classes))
    seed = draw(st.integers(0, 2**32 - 1))
    logits = torch.randn(steps, classes, generator=torch.Generator().manual_seed(seed)) * 2
    blank = draw(st.integers(0, classes - 1))
    return logits.double().log_softmax(dim=-1), blank


def labeling_log_probs(log_probs: torch.Tensor, blank: int) -> dict[tuple[int, ...], float]:
    """Every labeling's log-probability, summed over all of its alignments."""
    steps, classes = log_probs.shape
    totals: dict[tuple[int, ...], list[float]] = {}
    table = log_probs.tolist()
    for path in itertools.product(range(classes), repeat=steps):
        score = sum(table[t][c] for t, c in enumerate(path))
        totals.setdefault(collapse(path, blank), []).append(score)
    return {labeling: log_sum(scores) for labeling, scores in totals.items()}


@settings(max_examples=60)
@given(frames=tiny_frames(), top_k=st.integers(1, 4))
def test_wide_beam_search_equals_brute_force_over_all_alignments(frames, top_k):
    log_probs, blank = frames
    steps = log_probs.shape[0]
    expected = sorted(labeling_log_probs(log_probs, blank).items(), key=lambda item: -item[1])
    # 64 prefixes: more than every labeling of <= 4 frames over 2 labels (31).
    labels, lengths, scores = torch_mt.ctc_beam_search(
        log_probs.unsqueeze(0), torch.tensor([steps]), 64, blank=blank, top_k=top_k
    )
    for k in range(top_k):
        if k >= len(expected):
            assert scores[0, k] == -math.inf and lengths[0, k] == 0
            continue
        labeling, total = expected[k]
        assert math.isclose(scores[0, k].item(), total, rel_tol=1e-9, abs_tol=1e-9)
        found = tuple(labels[0, k, : lengths[0, k]].tolist())
        # The same labeling, or one tied with it (the order of ties is the beam's).
        assert math.isclose(labeling_log_probs(log_probs, blank)[found], total, abs_tol=1e-9)


@settings(max_examples=60)
@given(frames=tiny_frames(max_steps=5), data=st.data())
def test_forced_alignment_is_a_best_alignment_of_its_transcript(frames, data):
    log_probs, blank = frames
    steps, classes = log_probs.shape
    tokens_of = [c for c in range(classes) if c != blank]
    transcript = data.draw(
        st.lists(st.sampled_from(tokens_of), max_size=3) if tokens_of else st.just([])
    )
    needed = len(transcript) + sum(x == y for x, y in zip(transcript, transcript[1:]))
    if needed > steps:
        with pytest.raises(ValueError, match="item 0 cannot be aligned"):
            torch_mt.ctc_forced_align(
                log_probs.unsqueeze(0),
                torch.tensor([transcript], dtype=torch.int64).reshape(1, -1),
                torch.tensor([steps]),
                torch.tensor([len(transcript)]),
                blank=blank,
            )
        return
    labels, scores = torch_mt.ctc_forced_align(
        log_probs.unsqueeze(0),
        torch.tensor([transcript], dtype=torch.int64).reshape(1, -1),
        torch.tensor([steps]),
        torch.tensor([len(transcript)]),
        blank=blank,
    )
    path = tuple(labels[0].tolist())
    assert collapse(path, blank) == tuple(transcript)
    table = log_probs.tolist()
    assert scores[0].tolist() == [table[t][c] for t, c in enumerate(path)]
    best = max(
        sum(table[t][c] for t, c in enumerate(candidate))
        for candidate in itertools.product(range(classes), repeat=steps)
        if collapse(candidate, blank) == tuple(transcript)
    )
    assert math.isclose(sum(scores[0].tolist()), best, rel_tol=1e-12, abs_tol=1e-12)


@settings(max_examples=30)
@given(seed=st.integers(0, 2**16), classes=st.integers(2, 6), steps=st.integers(0, 30))
def test_greedy_decode_equals_argmax_then_unique_consecutive(seed, classes, steps):
    generator = torch.Generator().manual_seed(seed)
    log_probs = (
        torch.randint(0, 3, (3, steps, classes), generator=generator).float().log_softmax(-1)
    )
    lengths = torch.randint(0, steps + 1, (3,), generator=generator)
    labels, decoded_lengths = torch_mt.ctc_greedy_decode(log_probs, lengths, blank=1)
    for b in range(3):
        best = log_probs[b, : lengths[b]].argmax(dim=-1)
        expected = best.unique_consecutive()
        expected = expected[expected != 1]
        assert labels[b, : decoded_lengths[b]].tolist() == expected.tolist()
        assert bool((labels[b, decoded_lengths[b] :] == -1).all())


def test_forced_alignment_equals_an_independent_vectorised_trellis():
    log_probs, targets, lengths = speech_like(4, 300, 12, 40, seed=3)
    labels, _ = torch_mt.ctc_forced_align(
        log_probs, targets, lengths, torch.full((4,), 40, dtype=torch.int64)
    )
    for b in range(4):
        assert labels[b].tolist() == trellis_align(log_probs[b], targets[b], 0).tolist()


@settings(max_examples=15)
@given(
    batch=st.integers(1, 5),
    tokens=st.integers(1, 12),
    classes=st.integers(2, 6),
    seed=st.integers(0, 2**16),
)
def test_the_batch_vectorised_baseline_aligns_as_the_operator(batch, tokens, classes, seed):
    # The benchmark's baseline (over batch and states): checked here, so the
    # speedup it reports is against a correct implementation. Few classes
    # make repeated tokens (no skip) common.
    steps = 3 * tokens + 2
    log_probs, targets, lengths = speech_like(batch, steps, classes, tokens, seed=seed)
    labels, _ = torch_mt.ctc_forced_align(
        log_probs, targets, lengths, torch.full((batch,), tokens, dtype=torch.int64)
    )
    assert torch.equal(batched_trellis_align(log_probs, targets, 0), labels)


def test_corner_cases_no_frames_no_tokens_blank_only():
    empty = torch.zeros(2, 0, 3)
    no_frames = torch.zeros(2, dtype=torch.int64)
    labels, scores = torch_mt.ctc_forced_align(
        empty, torch.zeros(2, 0, dtype=torch.int64), no_frames, no_frames
    )
    assert labels.shape == (2, 0) and scores.shape == (2, 0)
    labels, lengths, beam_scores = torch_mt.ctc_beam_search(empty, no_frames, 3, top_k=2)
    assert lengths.tolist() == [[0, 0], [0, 0]] and beam_scores[:, 0].tolist() == [0.0, 0.0]
    assert beam_scores[:, 1].tolist() == [-math.inf, -math.inf]
    blank_only = torch.zeros(1, 4, 1)  # C = 1: every frame is the blank
    labels, scores = torch_mt.ctc_forced_align(
        blank_only, torch.zeros(1, 0, dtype=torch.int64), torch.tensor([4]), torch.tensor([0])
    )
    assert labels.tolist() == [[0, 0, 0, 0]]
    labels, lengths = torch_mt.ctc_greedy_decode(blank_only, torch.tensor([4]))
    assert lengths.tolist() == [0]
    labels, lengths, beam_scores = torch_mt.ctc_beam_search(blank_only, torch.tensor([4]), 2)
    assert lengths.tolist() == [[0]] and beam_scores.tolist() == [[0.0]]


def test_repeated_tokens_are_separated_by_a_blank():
    log_probs = torch.zeros(1, 3, 2).log_softmax(-1)  # uniform: any alignment ties
    labels, _ = torch_mt.ctc_forced_align(
        log_probs, torch.tensor([[1, 1]]), torch.tensor([3]), torch.tensor([2])
    )
    assert labels.tolist() == [[1, 0, 1]]
    with pytest.raises(ValueError, match=r"2 tokens with 1 repeats need at least 3 frames"):
        torch_mt.ctc_forced_align(
            log_probs[:, :2], torch.tensor([[1, 1]]), torch.tensor([2]), torch.tensor([2])
        )


def test_ties_follow_torchaudio_stay_then_advance_then_skip():
    # Uniform frames tie every alignment. Walking back: the last token wins
    # the end over the final blank, every frame prefers staying, and the first
    # frames then skip straight from the first token: 1 2 2 2 2 (a rule that
    # preferred moving would give 1 0 2 ... or blanks first).
    log_probs = torch.zeros(1, 5, 3).log_softmax(-1)
    labels, _ = torch_mt.ctc_forced_align(
        log_probs, torch.tensor([[1, 2]]), torch.tensor([5]), torch.tensor([2])
    )
    assert labels.tolist() == [[1, 2, 2, 2, 2]]


def test_results_are_identical_for_any_thread_count_on_speech_like_input():
    log_probs, targets, lengths = speech_like(12, 200, 10, 30, seed=5)
    target_lengths = torch.full((12,), 30, dtype=torch.int64)
    results = []
    for threads in (1, 2, 3):
        with torch_mt.num_threads(threads):
            results.append(
                (
                    torch_mt.ctc_forced_align(log_probs, targets, lengths, target_lengths),
                    torch_mt.ctc_beam_search(log_probs, lengths, 8, top_k=3),
                )
            )
    for other in results[1:]:
        for mine, theirs in zip(
            [*results[0][0], *results[0][1]], [*other[0], *other[1]], strict=True
        ):
            assert torch.equal(mine, theirs)


# Aligned once with the AVX2 trellis step and once in a process where it is
# switched off: speech-like, tie-heavy (all-equal frames) and repeat-heavy
# (two classes) batches, in both float dtypes.
_SIMD_CASES = """
import json, torch, torch_mt
from torch_mt.ctc.bench import speech_like
cases = []
for batch, steps, classes, tokens, seed in ((4, 300, 12, 40, 1), (3, 90, 2, 20, 2)):
    log_probs, targets, lengths = speech_like(batch, steps, classes, tokens, seed=seed)
    target_lengths = torch.full((batch,), tokens, dtype=torch.int64)
    tied = torch.zeros_like(log_probs)  # every path ties: the tie rules decide
    for lp in (log_probs, log_probs.double(), tied):
        labels, scores = torch.ops.mt.ctc_forced_align(lp, targets, lengths, target_lengths, 0)
        cases.append([labels.tolist(), scores.tolist()])
print(json.dumps(cases))
"""


def test_portable_trellis_step_aligns_as_the_avx2_one():
    with_simd, without_simd = json_with_and_without_simd(_SIMD_CASES)
    assert len(with_simd) == 6 and with_simd == without_simd
