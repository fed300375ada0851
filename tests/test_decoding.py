"""viterbi_decode beyond the generic suite: path scores, constraints, and the
pure-PyTorch loop the benchmark uses as its baseline."""

from __future__ import annotations

import math

import torch
from hypothesis import given

import torch_mt
from torch_mt.decoding.reference import viterbi_loop
from torch_mt.decoding.spec import python_viterbi, viterbi_args
from torch_mt.testing import assert_identical


def path_score(emissions, transitions, start, end, tags) -> float:
    score = (start[tags[0]] if start is not None else 0.0) + emissions[0, tags[0]]
    for t in range(1, len(tags)):
        score += transitions[tags[t - 1], tags[t]] + emissions[t, tags[t]]
    return float(score + (end[tags[-1]] if end is not None else 0.0))


@given(args=viterbi_args())
def test_returned_path_scores_what_is_reported_and_no_path_beats_it(args):
    emissions, transitions, lengths, start, end = args
    tags, scores = torch_mt.viterbi_decode(
        emissions, transitions, lengths=lengths, start=start, end=end
    )
    expected_tags, expected_scores = python_viterbi(*args)
    for b in range(emissions.shape[0]):
        length = int(lengths[b]) if lengths is not None else emissions.shape[1]
        path = tags[b, :length].tolist()
        assert (tags[b, length:] == -1).all()
        if length == 0 or emissions.shape[2] == 0:
            continue
        recomputed = path_score(
            emissions[b].double(),
            transitions.double(),
            start.double() if start is not None else None,
            end.double() if end is not None else None,
            path,
        )
        reported = scores[b].double().item()
        assert recomputed == reported or math.isclose(recomputed, reported, rel_tol=1e-6)
        assert reported == expected_scores[b].double().item()


@given(args=viterbi_args())
def test_pure_pytorch_loop_baseline_matches_python_viterbi(args):
    assert_identical(viterbi_loop(*args), python_viterbi(*args))


def test_bio_constraints_are_respected():
    # Tags O=0, B=1, I=2: I may only follow B or I.
    transitions = torch.zeros(3, 3)
    transitions[0, 2] = -math.inf
    start = torch.tensor([0.0, 0.0, -math.inf])
    # Emissions favour I everywhere; the constraint forces a B first.
    emissions = torch.tensor([[[0.0, 1.0, 2.0]] * 4])
    tags, scores = torch_mt.viterbi_decode(emissions, transitions, start=start)
    assert tags.tolist() == [[1, 2, 2, 2]] and scores.tolist() == [7.0]
