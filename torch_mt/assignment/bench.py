"""The assignment family's benchmark workloads (``python -m torch_mt.bench``).

The status quo is a Python loop over SciPy or lap.lapjv (one matrix at a
time); the peers are the 2026 batch solvers, each at 1 thread and at all
threads: lapx (module ``lap``: ``lapjvx_batch``, and ``lapjvr_batch`` on
square costs), lapcpp and laprust (``lapjv_batch``). Uniform costs: a unique
optimum, so every solver returns the same pairs.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch
from torch import Tensor

from ..bench.workload import Arm, Workload, all_threads, peer, small_workload

#: (label, module, function) of each batch peer; every one takes
#: (costs [B, N, M], extend_cost, cost_limit, n_threads) and returns
#: (totals, rows per item, cols per item).
_BATCH_PEERS = (
    ("lapx lapjvx_batch", "lap", "lapjvx_batch"),
    ("lapcpp lapjv_batch", "lapcpp", "lapjv_batch"),
    ("laprust lapjv_batch", "laprust", "lapjv_batch"),
)
#: lapx's solver for square costs only.
_SQUARE_PEER = ("lapx lapjvr_batch", "lap", "lapjvr_batch")
#: fastlap (Rust, 2026): lapx's ``lapjvx_batch`` call without ``extend_cost``.
#: Its ``cost_limit`` filters the pairs after solving instead of rejecting
#: implicitly (other pairs than lap's), so it has no arm on the tracking row.
_FASTLAP_PEER = ("fastlap lapjvx_batch", "fastlap", "lapjvx_batch")


def _as_assignments(result: Any) -> list[tuple[list[int], list[int]]]:
    """(row_ind, col_ind) per item, rows ascending, from torch_mt's padded pair
    of [B, K] tensors or from a list of per-item pairs of index arrays
    (SciPy's, lap's, the batch peers'); a -1 (no pair) is dropped."""
    if isinstance(result, tuple):
        result = zip(*result)
    assignments = []
    for rows, cols in result:
        pairs = sorted((r, c) for r, c in zip(rows.tolist(), cols.tolist()) if min(r, c) >= 0)
        assignments.append(([r for r, _ in pairs], [c for _, c in pairs]))
    return assignments


def _batch_peer_arms(cost: Tensor, cost_limit: float = math.inf) -> list[Arm]:
    """The batch peers on the whole batch, at 1 thread and at all threads."""
    costs = cost.numpy()
    peers = _BATCH_PEERS
    if cost.shape[1] == cost.shape[2] and cost_limit == math.inf:
        peers = (*peers, _SQUARE_PEER)
    arms = []
    for threads in sorted({1, all_threads()}):
        for label, module, function in peers:

            def solve(module=module, function=function, threads=threads) -> list:
                _, rows, cols = getattr(peer(module), function)(
                    costs, extend_cost=True, cost_limit=cost_limit, n_threads=threads
                )
                return list(zip(rows, cols))

            arms.append(Arm(f"{label}, n_threads={threads}", solve, requires=(module,)))
        if cost_limit == math.inf:
            label, module, function = _FASTLAP_PEER

            def solve_fastlap(module=module, function=function, threads=threads) -> list:
                _, rows, cols = getattr(peer(module), function)(costs, n_threads=threads)
                return list(zip(rows, cols))

            arms.append(Arm(f"{label}, n_threads={threads}", solve_fastlap, requires=(module,)))
    return arms


def _lapjv_loop(cost: Tensor, cost_limit: float = math.inf) -> list:
    """lap.lapjv per matrix, as a Python loop calls it (rows to columns, -1: none)."""
    lapjv = peer("lap").lapjv
    pairs = []
    for matrix in cost.numpy():
        col_for_row = torch.from_numpy(
            lapjv(matrix, extend_cost=True, cost_limit=cost_limit)[1]
        ).long()
        pairs.append((torch.arange(len(col_for_row)), col_for_row))
    return pairs


def _scipy_loop(cost: Tensor) -> list:
    solve = peer("scipy.optimize").linear_sum_assignment
    return [solve(matrix) for matrix in cost.numpy()]


def _solve_workload(name: str, description: str, cost: Tensor, status_quo: list[Arm]) -> Workload:
    return Workload(
        name=name,
        description=description,
        ops=("linear_sum_assignment",),
        arms=[*status_quo, *_batch_peer_arms(cost)],
        torch_mt=lambda: torch.ops.mt.linear_sum_assignment(cost, None, None, False),
        normalise=_as_assignments,
    )


def workloads(quick: bool) -> list[Workload]:
    """DETR-style matching: 64 cost matrices of 100 x 50 and of 300 x 100
    (queries x targets), float32, against SciPy; 16 square 500 x 500 and one
    1000 x 1000 float64 matrix against lap.lapjv and SciPy; tracking: 512
    frames of 40 tracks x 60 detections with cost_limit against lap.lapjv's
    implicit rejection; the batch peers on each; a tiny call."""
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
        status_quo = [
            Arm(
                "python loop: scipy linear_sum_assignment",
                lambda cost=cost: _scipy_loop(cost),
                requires=("scipy",),
            ),
            Arm(
                f"ThreadPoolExecutor({threads}): scipy",
                lambda matrices=matrices: list(executor.map(scipy_solve, matrices)),
                requires=("scipy",),
            ),
        ]
        declared.append(
            _solve_workload(
                f"linear_sum_assignment, {batch} x {queries}x{targets}",
                f"{batch} float32 cost matrices of {queries} x {targets}",
                cost,
                status_quo,
            )
        )
    declared.append(_square_workload(quick, generator))
    side = 300 if quick else 1000
    one = torch.rand(1, side, side, dtype=torch.float64, generator=generator)
    declared.append(
        _solve_workload(
            f"linear_sum_assignment, 1 x {side}x{side}",
            f"one float64 square cost matrix of {side} x {side}",
            one,
            _loop_arms(one),
        )
    )
    declared.append(_tracking_workload(quick, generator))
    small_cost = torch.rand(2, 12, 12, dtype=torch.float64, generator=generator)
    declared.append(
        small_workload(
            "linear_sum_assignment",
            lambda: torch.ops.mt.linear_sum_assignment(small_cost, None, None, False),
        )
    )
    return declared


def _src_d_lapjv_loop(cost: Tensor) -> list:
    """The ``lapjv`` package (square float64 costs only) per matrix."""
    lapjv = peer("lapjv").lapjv
    return [
        (torch.arange(matrix.shape[0]), torch.from_numpy(lapjv(matrix)[0]).long())
        for matrix in cost.numpy()
    ]


def _loop_arms(cost: Tensor) -> list[Arm]:
    """lap.lapjv (the status quo of square costs) and SciPy, each in a Python
    loop; and the ``lapjv`` package's loop where it is installed (it builds
    from source, so it is not in the ``bench`` extra)."""
    arms = [
        Arm("python loop: lap.lapjv", lambda: _lapjv_loop(cost), requires=("lap",)),
        Arm(
            "python loop: scipy linear_sum_assignment",
            lambda: _scipy_loop(cost),
            requires=("scipy",),
        ),
    ]
    if cost.shape[1] == cost.shape[2]:
        arms.append(
            Arm(
                "python loop: lapjv (package lapjv)",
                lambda: _src_d_lapjv_loop(cost),
                requires=("lapjv",),
            )
        )
    return arms


def headline() -> Workload:
    """The family's row of the headline run (``make bench``): the square batch."""
    return _square_workload(False, torch.Generator().manual_seed(0))


def _square_workload(quick: bool, generator: torch.Generator) -> Workload:
    """16 square 500 x 500 float64 matrices against lap.lapjv and SciPy, each
    in a Python loop, and the batch peers."""
    batch, side = (4, 200) if quick else (16, 500)
    cost = torch.rand(batch, side, side, dtype=torch.float64, generator=generator)
    return _solve_workload(
        f"linear_sum_assignment, {batch} x {side}x{side} square",
        f"{batch} float64 square cost matrices of {side} x {side}",
        cost,
        _loop_arms(cost),
    )


#: ByteTrack's match threshold on 1 - IoU.
TRACKING_COST_LIMIT = 0.8


def tracking_costs(frames: int, tracks: int, detections: int, generator: torch.Generator) -> Tensor:
    """1 - IoU distances of a tracker's frames: most track-detection pairs do
    not overlap (cost 1); each track overlaps its own detection well (cost
    0.05-0.6, 90% of tracks: the others were lost) and two neighbours poorly
    (0.5-1). float64, [frames, tracks, detections]."""
    cost = torch.ones(frames, tracks, detections, dtype=torch.float64)
    for frame in range(frames):
        own = torch.randperm(detections, generator=generator)[:tracks]
        found = torch.rand(tracks, generator=generator) < 0.9
        rows = torch.arange(tracks)
        cost[frame, rows[found], own[found]] = 0.05 + 0.55 * torch.rand(
            int(found.sum()), generator=generator, dtype=torch.float64
        )
        for _ in range(2):
            neighbour = torch.randint(0, detections, (tracks,), generator=generator)
            poor = 0.5 + 0.5 * torch.rand(tracks, generator=generator, dtype=torch.float64)
            cost[frame, rows, neighbour] = torch.minimum(cost[frame, rows, neighbour], poor)
    return cost


def _tracking_workload(quick: bool, generator: torch.Generator) -> Workload:
    """A tracker's association step over many frames (or many videos): 512
    frames of 40 tracks x 60 detections with lap.lapjv's implicit rejection
    at cost_limit=0.8, as ByteTrack and BoT-SORT call it."""
    frames = 64 if quick else 512
    cost = tracking_costs(frames, 40, 60, generator)
    limit = TRACKING_COST_LIMIT
    return Workload(
        name=f"linear_sum_assignment cost_limit={limit}, {frames} x 40x60 tracking",
        description=f"{frames} tracker frames of 40 tracks x 60 detections (1 - IoU)",
        ops=("linear_sum_assignment",),
        arms=[
            Arm(
                "python loop: lap.lapjv(extend_cost=True, cost_limit)",
                lambda: _lapjv_loop(cost, limit),
                requires=("lap",),
            ),
            *_batch_peer_arms(cost, limit),
        ],
        torch_mt=lambda: torch.ops.mt.linear_sum_assignment(cost, None, None, False, limit),
        normalise=_as_assignments,
    )
