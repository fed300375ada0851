"""Benchmark workloads of the edit-distance cutoff and the similarity join
(torch_mt/joins.py, torch_mt/ray.py).

No specs: the cutoff is an argument of the edit-distance operators and
``mt::edit_distance_join`` is one of them (their specs are in ``sequences``);
the join itself is Python over it, checked by tests/test_joins.py and
tests/test_ray*.py.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from ..bench.workload import Arm, Workload, all_threads, peer, random_sequences, small_workload
from ..joins import similarity_join
from ..sequences import edit_distance_pairwise, pad_sequences
from .sequences import _as_text

SPECS: list = []


def workloads(quick: bool) -> list[Workload]:
    """A string grid with a cutoff (k = 2 and 10) against rapidfuzz's, and a
    near-duplicate self-join local, on a local Ray, and as a dense grid plus
    filtering."""
    rng = random.Random(0)
    grid_strings = _as_text(random_sequences(300 if quick else 2_000, 20, 60, 1000, rng))
    corpus = _near_duplicates(2_000 if quick else 20_000, rng)
    tiny, tiny_lengths = pad_sequences([[1, 2, 3], [1, 2], [3]])
    return [
        _cutoff_grid(grid_strings, 2),
        _cutoff_grid(grid_strings, 10),
        _join(corpus, 2),
        small_workload(
            "edit_distance_join",
            lambda: torch.ops.mt.edit_distance_join(tiny, tiny, 1, tiny_lengths, tiny_lengths),
        ),
    ]


def _cutoff_grid(strings: list[str], k: int) -> Workload:
    n = len(strings)

    def rapidfuzz_grid() -> np.ndarray:
        levenshtein = peer("rapidfuzz.distance").Levenshtein
        return peer("rapidfuzz.process").cdist(
            strings, strings, scorer=levenshtein.distance, score_cutoff=k, workers=-1
        )

    return Workload(
        name=f"edit_distance_pairwise max_distance={k}, {n}x{n} strings",
        description=f"all pairs of {n} strings of 20-60 characters, distances cut at {k}",
        ops=("edit_distance_pairwise",),
        arms=[
            Arm(
                f"rapidfuzz.process.cdist(score_cutoff={k}, workers=-1)",
                rapidfuzz_grid,
                requires=("rapidfuzz",),
            ),
            Arm(
                f"torch_mt without the cutoff, {all_threads()} threads",
                lambda: edit_distance_pairwise(strings, strings),
                threads=all_threads(),
            ),
        ],
        torch_mt=lambda: edit_distance_pairwise(strings, strings, max_distance=k),
        # rapidfuzz reports a distance past the cutoff as k + 1, as we do.
        normalise=lambda grid: np.minimum(np.asarray(grid, dtype=np.int64), k + 1).tolist(),
    )


def _join(corpus: list[str], k: int) -> Workload:
    n = len(corpus)

    def pairs_of_grid(grid: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        grid = torch.as_tensor(np.asarray(grid, dtype=np.int64))  # rapidfuzz's: uint32
        close = torch.triu(grid <= k, diagonal=1)
        i, j = close.nonzero(as_tuple=True)
        return i, j, grid[i, j].long()

    def dense_grid() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return pairs_of_grid(edit_distance_pairwise(corpus, corpus, max_distance=k))

    def rapidfuzz_grid() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        levenshtein = peer("rapidfuzz.distance").Levenshtein
        grid = peer("rapidfuzz.process").cdist(
            corpus, corpus, scorer=levenshtein.distance, score_cutoff=k, workers=-1
        )
        return pairs_of_grid(grid)

    started_ray = []  # the Ray this workload started, if any: stopped when it is timed

    def on_local_ray() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        ray = peer("ray")
        if not ray.is_initialized():
            ray.init(num_cpus=all_threads(), include_dashboard=False, log_to_driver=False)
            started_ray.append(ray)
        return peer("torch_mt.ray").similarity_join(corpus, max_distance=k)

    def stop_ray() -> None:
        for ray in started_ray:
            ray.shutdown()
        started_ray.clear()

    return Workload(
        name=f"similarity_join max_distance={k}, {n} strings",
        description=f"self-join of {n} strings of 20-60 characters, half near-duplicates "
        f"(1-3 edits) of the other half: every pair within {k}",
        ops=("edit_distance_join",),
        arms=[
            Arm(
                f"dense grid with the cutoff + filter, torch_mt {all_threads()} threads",
                dense_grid,
                threads=all_threads(),
            ),
            Arm(
                f"dense rapidfuzz.process.cdist(score_cutoff={k}, workers=-1) + filter",
                rapidfuzz_grid,
                requires=("rapidfuzz",),
            ),
            Arm(
                f"torch_mt.ray on a local Ray, {all_threads()} CPUs",
                on_local_ray,
                requires=("ray",),
            ),
        ],
        torch_mt=lambda: similarity_join(corpus, max_distance=k),
        normalise=lambda pairs: [part.tolist() for part in pairs],
        finish=stop_ray,
    )


def _near_duplicates(count: int, rng: random.Random) -> list[str]:
    """Half random strings, half copies of them with 1-3 random edits."""
    originals = random_sequences(count // 2, 20, 60, 1000, rng)

    def edited(tokens: list[int]) -> list[int]:
        tokens = list(tokens)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(tokens))
            kind = rng.randrange(3)
            if kind == 0:
                tokens[at] = rng.randrange(1000)
            elif kind == 1:
                del tokens[at]
            else:
                tokens.insert(at, rng.randrange(1000))
        return tokens

    copies = [edited(rng.choice(originals)) for _ in range(count - count // 2)]
    return _as_text(originals + copies)
