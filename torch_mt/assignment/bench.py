"""The assignment family's benchmark workloads (``python -m torch_mt.bench``)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch

from ..bench.workload import Arm, Workload, all_threads, peer, small_workload


def _as_assignments(result: Any) -> list[tuple[list[int], list[int]]]:
    """(row_ind, col_ind) per item, from torch_mt's padded pair of [B, K]
    tensors or from a list of SciPy's per-item pairs of arrays."""
    if isinstance(result, tuple):
        rows, cols = result
        return list(zip(rows.tolist(), cols.tolist()))
    return [(rows.tolist(), cols.tolist()) for rows, cols in result]


def workloads(quick: bool) -> list[Workload]:
    """DETR-style matching: 64 cost matrices of 100 x 50 and of 300 x 100
    (queries x targets), float32, solved as a batch, against SciPy; 16 square
    500 x 500 float64 matrices against lap.lapjv and SciPy; a tiny call."""
    threads = all_threads()
    # SciPy's solver releases the GIL, so a thread pool is the best a user
    # gets without torch_mt; it is built once, outside the timed calls.
    executor = ThreadPoolExecutor(threads)
    generator = torch.Generator().manual_seed(0)
    batch = 16 if quick else 64

    def scipy_solve(matrix):
        return peer("scipy.optimize").linear_sum_assignment(matrix)

    declared = []
    for queries, targets in ((100, 50), (300, 100)):
        cost = torch.rand(batch, queries, targets, generator=generator)
        matrices = list(cost.numpy())
        declared.append(
            Workload(
                name=f"linear_sum_assignment, {batch} x {queries}x{targets}",
                description=f"{batch} float32 cost matrices of {queries} x {targets}",
                ops=("linear_sum_assignment",),
                arms=[
                    Arm(
                        "python loop: scipy linear_sum_assignment",
                        lambda matrices=matrices: [scipy_solve(c) for c in matrices],
                        requires=("scipy",),
                    ),
                    Arm(
                        f"ThreadPoolExecutor({threads}): scipy",
                        lambda matrices=matrices: list(executor.map(scipy_solve, matrices)),
                        requires=("scipy",),
                    ),
                ],
                torch_mt=lambda cost=cost: torch.ops.mt.linear_sum_assignment(
                    cost, None, None, False
                ),
                normalise=_as_assignments,
            )
        )
    declared.append(_square_workload(quick, generator))
    small_cost = torch.rand(2, 12, 12, dtype=torch.float64, generator=generator)
    declared.append(
        small_workload(
            "linear_sum_assignment",
            lambda: torch.ops.mt.linear_sum_assignment(small_cost, None, None, False),
        )
    )
    return declared


def headline() -> Workload:
    """The family's row of the headline run (``make bench``): the square batch."""
    return _square_workload(False, torch.Generator().manual_seed(0))


def _square_workload(quick: bool, generator: torch.Generator) -> Workload:
    """16 square 500 x 500 float64 matrices (uniform: a unique optimum, so
    every solver returns the same pairs) against lap.lapjv, the fastest
    CPU solver in common use, and SciPy, each in a Python loop."""
    batch, side = (4, 200) if quick else (16, 500)
    cost = torch.rand(batch, side, side, dtype=torch.float64, generator=generator)
    matrices = list(cost.numpy())

    rows = torch.arange(side)

    def lapjv_pairs() -> list:
        # lapjv gives each row's column; as (row_ind, col_ind) pairs like SciPy's.
        return [(rows, peer("lap").lapjv(matrix)[1]) for matrix in matrices]

    return Workload(
        name=f"linear_sum_assignment, {batch} x {side}x{side} square",
        description=f"{batch} float64 square cost matrices of {side} x {side}",
        ops=("linear_sum_assignment",),
        arms=[
            Arm("python loop: lap.lapjv", lapjv_pairs, requires=("lap",)),
            Arm(
                "python loop: scipy linear_sum_assignment",
                lambda: [peer("scipy.optimize").linear_sum_assignment(c) for c in matrices],
                requires=("scipy",),
            ),
        ],
        torch_mt=lambda: torch.ops.mt.linear_sum_assignment(cost, None, None, False),
        normalise=_as_assignments,
    )
