"""The benchmark row of user_ops::lcs_length (docs/custom_ops.md, step 5):

    python -m torch_mt.bench --workloads examples/user_op/bench.py [--quick]

Pairs of token sequences, against a Python loop over rapidfuzz's
LCSseq.similarity (the fastest LCS a Python user installs), side by side.
"""

from __future__ import annotations

import os
import random
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from spec import build  # noqa: E402

from torch_mt.bench.workload import Arm, Workload, as_int_lists, peer, random_sequences  # noqa: E402
from torch_mt.levenshtein import pad_sequences  # noqa: E402


def workloads(quick: bool) -> list[Workload]:
    """One row: LCS length of 2 000 (quick) or 20 000 pairs of 20-60 tokens."""
    build()
    rng = random.Random(0)
    pairs = 2_000 if quick else 20_000
    lefts = random_sequences(pairs, 20, 60, 1000, rng)
    rights = random_sequences(pairs, 20, 60, 1000, rng)
    (a, a_lengths), (b, b_lengths) = pad_sequences(lefts), pad_sequences(rights)

    def rapidfuzz_loop() -> list[int]:
        similarity = peer("rapidfuzz.distance").LCSseq.similarity
        return [similarity(x, y) for x, y in zip(lefts, rights)]

    return [
        Workload(
            name=f"user_ops::lcs_length, {pairs} pairs",
            description=f"{pairs} pairs of 20-60-token sequences",
            ops=("lcs_length",),
            arms=[
                Arm(
                    "python loop: rapidfuzz LCSseq.similarity",
                    rapidfuzz_loop,
                    requires=("rapidfuzz",),
                )
            ],
            torch_mt=lambda: torch.ops.user_ops.lcs_length(a, b, a_lengths, b_lengths),
            normalise=as_int_lists,
        )
    ]
