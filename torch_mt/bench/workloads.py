"""Benchmark workloads: what users do today vs torch_mt, on the same data."""

from __future__ import annotations

import operator
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import torch

import torch_mt
from torch_mt.reference import nms_loop, soft_dtw_antidiagonal, viterbi_loop


@dataclass(frozen=True)
class Arm:
    """One way of computing a workload's result."""

    name: str
    run: Callable[[], Any]
    #: torch_mt threads to run with (None: the arm does not use torch_mt).
    threads: int | None = None


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    #: What users do without torch_mt (the first is the baseline: every
    #: speedup is relative to it), and other ways of calling torch_mt.
    arms: list[Arm]
    #: Turns an arm's output into a comparable value (all arms must agree).
    normalise: Callable[[Any], Any]
    #: The torch_mt call; the harness runs it at each thread count measured
    #: (1 and all, or --threads), as arms "torch_mt, N threads".
    torch_mt: Optional[Callable[[], Any]] = None
    #: Whether two normalised results agree: equality unless floating point
    #: results computed in different orders are compared.
    agree: Callable[[Any, Any], bool] = operator.eq
    #: "main" (a realistic size), "small" (a tiny call: must not slow down
    #: with threads) or "runtime" (the pool's own costs).
    kind: str = "main"


def torch_mt_arm_name(threads: int) -> str:
    return f"torch_mt, {threads} thread{'' if threads == 1 else 's'}"


def arms_of(workload: Workload, thread_counts: Sequence[int]) -> list[Arm]:
    """The workload's arms, then torch_mt at each thread count."""
    generated = [Arm(torch_mt_arm_name(n), workload.torch_mt, threads=n) for n in thread_counts]
    return list(workload.arms) + (generated if workload.torch_mt is not None else [])


def _random_sequences(count: int, min_length: int, max_length: int, vocab: int,
                      rng: random.Random) -> list[list[int]]:
    return [[rng.randrange(vocab) for _ in range(rng.randint(min_length, max_length))]
            for _ in range(count)]


def _as_int_lists(result: Any) -> list:
    """A tensor, NumPy array or (nested) list of ints as nested Python lists."""
    if isinstance(result, torch.Tensor):
        return result.tolist()
    import numpy as np

    return np.asarray(result, dtype=np.int64).tolist()


def edit_distance_workloads(quick: bool, all_threads: int) -> list[Workload]:
    """Batched pairs and all-pairs grids of 20-60- and 500-1000-token sequences
    (vocabulary 1000)."""
    import editdistance
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    rng = random.Random(0)
    num_pairs = 2_000 if quick else 20_000
    grid_side = 200 if quick else 1_000
    # Token ids 0..999: no hash collisions in editdistance (hash(-1) == hash(-2)).
    lefts = _random_sequences(num_pairs, 20, 60, 1000, rng)
    rights = _random_sequences(num_pairs, 20, 60, 1000, rng)
    left_tokens, left_lengths = torch_mt.pad_sequences(lefts)
    right_tokens, right_lengths = torch_mt.pad_sequences(rights)
    rows, cols = lefts[:grid_side], rights[:grid_side]
    row_tokens, row_lengths = torch_mt.pad_sequences(rows)
    col_tokens, col_lengths = torch_mt.pad_sequences(cols)

    def pairs_torch_mt() -> torch.Tensor:
        return torch.ops.mt.edit_distance(left_tokens, left_lengths, right_tokens, right_lengths)

    def grid_torch_mt() -> torch.Tensor:
        return torch.ops.mt.edit_distance_pairwise(row_tokens, row_lengths, col_tokens,
                                                   col_lengths)

    batch = Workload(
        name=f"edit_distance, {num_pairs} pairs",
        description=f"{num_pairs} pairs of 20-60-token sequences",
        arms=[
            Arm("python loop: editdistance.eval",
                lambda: [editdistance.eval(x, y) for x, y in zip(lefts, rights)]),
            Arm("python loop: rapidfuzz Levenshtein.distance",
                lambda: [Levenshtein.distance(x, y) for x, y in zip(lefts, rights)]),
        ],
        torch_mt=pairs_torch_mt,
        normalise=_as_int_lists,
    )
    grid = Workload(
        name=f"edit_distance_pairwise, {grid_side}x{grid_side}",
        description=f"all pairs of {grid_side} x {grid_side} sequences of 20-60 tokens",
        arms=[
            Arm("python loop: editdistance.eval",
                lambda: [[editdistance.eval(x, y) for y in cols] for x in rows]),
            Arm("rapidfuzz.process.cdist(workers=-1)",
                lambda: process.cdist(rows, cols, scorer=Levenshtein.distance, workers=-1)),
        ],
        torch_mt=grid_torch_mt,
        normalise=_as_int_lists,
    )
    long_side = 50 if quick else 200
    long_rows = _random_sequences(long_side, 500, 1000, 1000, rng)
    long_cols = _random_sequences(long_side, 500, 1000, 1000, rng)
    long_row_tokens, long_row_lengths = torch_mt.pad_sequences(long_rows)
    long_col_tokens, long_col_lengths = torch_mt.pad_sequences(long_cols)

    def long_grid_torch_mt() -> torch.Tensor:
        return torch.ops.mt.edit_distance_pairwise(long_row_tokens, long_row_lengths,
                                                   long_col_tokens, long_col_lengths)

    long_grid = Workload(
        name=f"edit_distance_pairwise, {long_side}x{long_side} long",
        description=f"all pairs of {long_side} x {long_side} sequences of 500-1000 tokens",
        # No Python-loop arm: editdistance needs ~0.4 ms a pair here (16 s a run).
        arms=[
            Arm("rapidfuzz.process.cdist(workers=-1)",
                lambda: process.cdist(long_rows, long_cols, scorer=Levenshtein.distance,
                                      workers=-1)),
        ],
        torch_mt=long_grid_torch_mt,
        normalise=_as_int_lists,
    )
    return [batch, grid, long_grid]


def _as_assignments(result: Any) -> list[tuple[list[int], list[int]]]:
    """(row_ind, col_ind) per item, from torch_mt's padded pair of [B, K]
    tensors or from a list of SciPy's per-item pairs of arrays."""
    if isinstance(result, tuple):
        rows, cols = result
        return list(zip(rows.tolist(), cols.tolist()))
    return [(rows.tolist(), cols.tolist()) for rows, cols in result]


def assignment_workloads(quick: bool, all_threads: int) -> list[Workload]:
    """DETR-style matching: 64 cost matrices of 100 x 50 and of 300 x 100
    (queries x targets), float32, solved as a batch."""
    from concurrent.futures import ThreadPoolExecutor

    from scipy.optimize import linear_sum_assignment as scipy_assignment

    # SciPy's solver releases the GIL, so a thread pool is the best a user
    # gets without torch_mt; it is built once, outside the timed calls.
    executor = ThreadPoolExecutor(all_threads)
    generator = torch.Generator().manual_seed(0)
    batch = 16 if quick else 64
    workloads = []
    for queries, targets in ((100, 50), (300, 100)):
        cost = torch.rand(batch, queries, targets, generator=generator)
        matrices = list(cost.numpy())

        def solve_torch_mt(cost: torch.Tensor = cost) -> tuple[torch.Tensor, torch.Tensor]:
            return torch.ops.mt.linear_sum_assignment(cost, None, False)

        workloads.append(Workload(
            name=f"linear_sum_assignment, {batch} x {queries}x{targets}",
            description=f"{batch} float32 cost matrices of {queries} x {targets}",
            arms=[
                Arm("python loop: scipy linear_sum_assignment",
                    lambda matrices=matrices: [scipy_assignment(c) for c in matrices]),
                Arm(f"ThreadPoolExecutor({all_threads}): scipy",
                    lambda matrices=matrices: list(executor.map(scipy_assignment, matrices))),
            ],
            torch_mt=solve_torch_mt,
            normalise=_as_assignments,
        ))
    return workloads


def detector_output(images: int, boxes: int, objects: int,
                    generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """What a detector hands to NMS: per image, ``boxes`` proposals jittered
    around ``objects`` objects of 20-200 px in a 1000 x 1000 image, so most
    proposals overlap a better one. Boxes float32 [images, boxes, 4], scores
    [images, boxes]."""
    centre = torch.rand(images, objects, 2, generator=generator) * 1000
    extent = 20 + torch.rand(images, objects, 2, generator=generator) * 180
    owner = torch.randint(0, objects, (images, boxes, 1), generator=generator).expand(-1, -1, 2)
    owner_extent = extent.gather(1, owner)
    jitter = torch.randn(images, boxes, 2, generator=generator) * 0.15 * owner_extent
    box_centre = centre.gather(1, owner) + jitter
    box_extent = owner_extent * (0.7 + 0.6 * torch.rand(images, boxes, 2, generator=generator))
    corners = torch.cat([box_centre - box_extent / 2, box_centre + box_extent / 2], dim=-1)
    return corners, torch.rand(images, boxes, generator=generator)


def _as_kept_sets(result: Any) -> list[list[int]]:
    """Kept box indices per image, ascending: from a [B, N] keep mask or from
    a list of index tensors (in score order)."""
    if isinstance(result, torch.Tensor):
        return [row.nonzero().flatten().tolist() for row in result]
    return [sorted(kept.tolist()) for kept in result]


def detection_workloads(quick: bool, all_threads: int) -> list[Workload]:
    """NMS after a detector: 32 images x 5000 proposals around 50 objects each."""
    generator = torch.Generator().manual_seed(0)
    images, proposals = (4, 2000) if quick else (32, 5000)
    boxes, scores = detector_output(images, proposals, 50, generator)
    threshold = 0.5

    def padded_torch_mt() -> torch.Tensor:
        return torch.ops.mt.nms_padded(boxes, scores, None, threshold)

    nms_workload = Workload(
        name=f"nms, {images} images x {proposals} boxes",
        description=f"NMS of {images} images with {proposals} boxes each "
                    "(torch_mt arms: one nms_padded call)",
        # No torchvision arm: the registry's torchvision wheels are CUDA builds
        # that do not load with the CPU torch (docs/benchmarks.md).
        arms=[
            Arm("python loop: pure-PyTorch NMS per image",
                lambda: [nms_loop(boxes[i], scores[i], threshold) for i in range(images)]),
            Arm(f"python loop: torch_mt.nms per image ({all_threads} threads)",
                lambda: [torch.ops.mt.nms(boxes[i], scores[i], threshold)
                         for i in range(images)],
                threads=all_threads),
        ],
        torch_mt=padded_torch_mt,
        normalise=_as_kept_sets,
    )

    # batched_nms: one image's proposals of 80 categories (a COCO detector head).
    categories = 80
    flat_boxes, flat_scores = detector_output(1, 2500 if quick else 20_000, 400, generator)
    flat_boxes, flat_scores = flat_boxes[0], flat_scores[0]
    labels = torch.randint(0, categories, flat_scores.shape, generator=generator)

    def offset_trick() -> torch.Tensor:
        # torchvision's pure-PyTorch batched_nms: shift each category's boxes
        # apart so that one NMS never lets categories suppress each other.
        offsets = labels.to(flat_boxes.dtype) * (flat_boxes.max() + 1)
        return nms_loop(flat_boxes + offsets[:, None], flat_scores, threshold)

    batched_workload = Workload(
        name=f"batched_nms, {flat_scores.numel()} boxes x {categories} categories",
        description=f"NMS per category of {flat_scores.numel()} boxes",
        arms=[Arm("pure PyTorch: offset trick + NMS loop", offset_trick)],
        torch_mt=lambda: torch.ops.mt.batched_nms(flat_boxes, flat_scores, labels, threshold),
        normalise=lambda kept: sorted(kept.tolist()),
    )
    return [nms_workload, batched_workload]


def _close(rtol: float) -> Callable[[Any, Any], bool]:
    def agree(actual: torch.Tensor, expected: torch.Tensor) -> bool:
        return torch.allclose(actual.double(), expected.double(), rtol=rtol, atol=rtol)
    return agree


def soft_dtw_workloads(quick: bool, all_threads: int) -> list[Workload]:
    """Soft-DTW loss, forward and backward, of 64 pairs of 256-step sequences of
    8 features, from a precomputed squared-distance cost. float64: in float32
    the anti-diagonal baseline's gradient drifts by ~1e-3 at this size (its
    soft minima subtract accumulated costs of ~3000), too far to check the
    arms against each other."""
    generator = torch.Generator().manual_seed(0)
    batch, steps = (16, 64) if quick else (64, 256)
    x = torch.randn(batch, steps, 8, dtype=torch.float64, generator=generator)
    y = torch.randn(batch, steps, 8, dtype=torch.float64, generator=generator)
    cost = torch.cdist(x, y) ** 2
    gamma = 0.1

    def loss_gradient(soft_dtw: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        leaf = cost.detach().requires_grad_()
        soft_dtw(leaf).sum().backward()
        return leaf.grad

    def torch_mt_gradient() -> torch.Tensor:
        return loss_gradient(lambda c: torch.ops.mt.soft_dtw(c, gamma, None, None))

    from tslearn.metrics import SoftDTW

    matrices = list(cost.numpy())

    def tslearn_gradient() -> torch.Tensor:
        # tslearn's numba kernels: the loss gradient of a sum is each item's grad().
        gradients = []
        for matrix in matrices:
            item = SoftDTW(matrix, gamma=gamma)
            item.compute()
            gradients.append(torch.from_numpy(item.grad()))
        return torch.stack(gradients)

    return [Workload(
        name=f"soft_dtw forward+backward, {batch} x {steps}x{steps}",
        description=f"soft-DTW loss and its gradient, {batch} pairs of {steps} steps",
        arms=[
            Arm("pure PyTorch: vectorised anti-diagonals + autograd",
                lambda: loss_gradient(lambda c: soft_dtw_antidiagonal(c, gamma))),
            Arm("python loop: tslearn SoftDTW (numba), value + grad", tslearn_gradient),
        ],
        torch_mt=torch_mt_gradient,
        normalise=lambda gradient: gradient,
        agree=_close(1e-9),
    )]


def viterbi_workloads(quick: bool, all_threads: int) -> list[Workload]:
    """CRF decoding: 256 sequences of 200 steps over 32 tags, float32."""
    generator = torch.Generator().manual_seed(0)
    batch, steps, tags = (64, 50, 32) if quick else (256, 200, 32)
    emissions = torch.randn(batch, steps, tags, generator=generator)
    transitions = torch.randn(tags, tags, generator=generator)
    lengths = torch.randint(steps // 2, steps + 1, (batch,), generator=generator)

    def decode_torch_mt() -> tuple[torch.Tensor, torch.Tensor]:
        return torch.ops.mt.viterbi_decode(emissions, transitions, lengths, None, None)

    return [Workload(
        name=f"viterbi_decode, {batch} x {steps} steps x {tags} tags",
        description=f"Viterbi decoding of {batch} sequences of up to {steps} steps",
        arms=[
            Arm("pure PyTorch: loop over time steps",
                lambda: viterbi_loop(emissions, transitions, lengths)),
        ],
        torch_mt=decode_torch_mt,
        normalise=lambda result: result[0].tolist(),
    )]


def dtw_workloads(quick: bool, all_threads: int) -> list[Workload]:
    """DTW distance of 64 pairs of 512-step univariate series (float64); the
    torch_mt arms get the squared differences as a cost tensor, and one arm
    also pays for computing it."""
    from concurrent.futures import ThreadPoolExecutor

    from dtaidistance import dtw as dtaidistance_dtw

    generator = torch.Generator().manual_seed(0)
    batch, steps = (16, 128) if quick else (64, 512)
    x = torch.randn(batch, steps, dtype=torch.float64, generator=generator).cumsum(dim=1)
    y = torch.randn(batch, steps, dtype=torch.float64, generator=generator).cumsum(dim=1)
    pairs = list(zip(x.numpy(), y.numpy()))
    executor = ThreadPoolExecutor(all_threads)

    def dtaidistance_pair(pair) -> float:
        return dtaidistance_dtw.distance_fast(pair[0], pair[1], use_pruning=False)

    cost = (x.unsqueeze(2) - y.unsqueeze(1)) ** 2

    def dtw_torch_mt() -> torch.Tensor:
        return torch.ops.mt.dtw(cost, None, None).sqrt()

    def dtw_torch_mt_with_cost() -> torch.Tensor:
        return torch.ops.mt.dtw((x.unsqueeze(2) - y.unsqueeze(1)) ** 2, None, None).sqrt()

    return [Workload(
        name=f"dtw, {batch} x {steps}x{steps}",
        description=f"DTW distance of {batch} pairs of {steps}-step series",
        arms=[
            Arm("python loop: dtaidistance.dtw.distance_fast",
                lambda: [dtaidistance_pair(pair) for pair in pairs]),
            Arm(f"ThreadPoolExecutor({all_threads}): dtaidistance",
                lambda: list(executor.map(dtaidistance_pair, pairs))),
            # dtaidistance computes the differences inline; torch_mt's API takes
            # a [B, N, M] cost, which here is a 134 MB tensor to fill first.
            Arm(f"torch_mt + computing the cost tensor, {all_threads} threads",
                dtw_torch_mt_with_cost, threads=all_threads),
        ],
        torch_mt=dtw_torch_mt,
        normalise=lambda result: torch.as_tensor(result, dtype=torch.float64),
        agree=_close(1e-9),
    )]


def dtw_path_workloads(quick: bool, all_threads: int) -> list[Workload]:
    """Optimal DTW alignments of 32 pairs of 256-step univariate series."""
    from dtaidistance import dtw as dtaidistance_dtw

    generator = torch.Generator().manual_seed(1)
    batch, steps = (8, 64) if quick else (32, 256)
    x = torch.randn(batch, steps, dtype=torch.float64, generator=generator).cumsum(dim=1)
    y = torch.randn(batch, steps, dtype=torch.float64, generator=generator).cumsum(dim=1)
    cost = (x.unsqueeze(2) - y.unsqueeze(1)) ** 2
    pairs = list(zip(x.numpy(), y.numpy()))

    def as_paths(result: Any) -> list[list[tuple[int, int]]]:
        if isinstance(result, torch.Tensor):
            return [[tuple(cell) for cell in item.nonzero().tolist()] for item in result]
        return [[(int(i), int(j)) for i, j in path] for path in result]

    return [Workload(
        name=f"dtw_path, {batch} x {steps}x{steps}",
        description=f"DTW alignment paths of {batch} pairs of {steps}-step series",
        arms=[Arm("python loop: dtaidistance.dtw.warping_path",
                  lambda: [dtaidistance_dtw.warping_path(a, b, use_pruning=False)
                           for a, b in pairs])],
        torch_mt=lambda: torch.ops.mt.dtw_path(cost, None, None),
        normalise=as_paths,
    )]


def soft_dtw_hessian_workloads(quick: bool, all_threads: int) -> list[Workload]:
    """Hessian-vector products of the soft-DTW loss (double backward), 16 x 128 x 128."""
    generator = torch.Generator().manual_seed(2)
    batch, steps = (4, 32) if quick else (16, 128)
    cost = torch.rand(batch, steps, steps, dtype=torch.float64, generator=generator) * 4
    direction = torch.randn(cost.shape, dtype=torch.float64, generator=generator)
    gamma = 0.5

    def hessian_vector_product(soft_dtw: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        leaf = cost.detach().requires_grad_()
        (gradient,) = torch.autograd.grad(soft_dtw(leaf).sum(), leaf, create_graph=True)
        (product,) = torch.autograd.grad((gradient * direction).sum(), leaf)
        return product

    return [Workload(
        name=f"soft_dtw Hessian-vector product, {batch} x {steps}x{steps}",
        description=f"soft-DTW double backward, {batch} pairs of {steps} steps",
        arms=[Arm("pure PyTorch: anti-diagonals + double autograd",
                  lambda: hessian_vector_product(lambda c: soft_dtw_antidiagonal(c, gamma)))],
        torch_mt=lambda: hessian_vector_product(
            lambda c: torch.ops.mt.soft_dtw(c, gamma, None, None)),
        normalise=lambda product: product,
        agree=_close(1e-8),
    )]


def small_input_workloads() -> list[Workload]:
    """One tiny call per operator: below one grain, so it runs inline and
    must cost the same at any thread count (ratio all threads / 1 thread >= 0.9)."""
    generator = torch.Generator().manual_seed(3)
    tokens = torch.randint(0, 5, (4, 6), generator=generator)
    lengths = torch.full((4,), 6)
    cost = torch.rand(2, 12, 12, dtype=torch.float64, generator=generator)
    boxes, scores = detector_output(2, 30, 5, generator)
    labels = torch.randint(0, 3, (30,), generator=generator)
    emissions = torch.randn(2, 10, 5, generator=generator)
    transitions = torch.randn(5, 5, generator=generator)
    grad = torch.ones(2, dtype=torch.float64)
    ops: dict[str, Callable[[], Any]] = {
        "edit_distance": lambda: torch.ops.mt.edit_distance(tokens, lengths, tokens.flip(0),
                                                            lengths),
        "edit_distance_pairwise": lambda: torch.ops.mt.edit_distance_pairwise(
            tokens, lengths, tokens, lengths),
        "linear_sum_assignment": lambda: torch.ops.mt.linear_sum_assignment(cost, None, False),
        "nms": lambda: torch.ops.mt.nms(boxes[0], scores[0], 0.5),
        "batched_nms": lambda: torch.ops.mt.batched_nms(boxes[0], scores[0], labels, 0.5),
        "nms_padded": lambda: torch.ops.mt.nms_padded(boxes, scores, None, 0.5),
        "dtw": lambda: torch.ops.mt.dtw(cost, None, None),
        "dtw_path": lambda: torch.ops.mt.dtw_path(cost, None, None),
        "soft_dtw": lambda: torch.ops.mt.soft_dtw(cost, 1.0, None, None),
        "soft_dtw_backward": lambda: torch.ops.mt.soft_dtw_backward(grad, cost, 1.0, None, None),
        "soft_dtw_backward_backward": lambda: torch.ops.mt.soft_dtw_backward_backward(
            cost, grad, cost, 1.0, None, None),
        "viterbi_decode": lambda: torch.ops.mt.viterbi_decode(emissions, transitions, None, None,
                                                              None),
    }
    return [Workload(name=f"small: {op}", description=f"a tiny {op} call", arms=[],
                     torch_mt=call, normalise=_as_comparable, kind="small")
            for op, call in ops.items()]


def _as_comparable(result: Any) -> Any:
    """Tensors (or tuples of them) as nested lists."""
    if isinstance(result, tuple):
        return [_as_comparable(part) for part in result]
    return result.tolist()


def runtime_overhead_workloads(all_threads: int) -> list[Workload]:
    """What one fan-out costs: an (almost) empty body cut into 2 and into 64 chunks.

    Uses the runtime's test operator ``mt_test.fan_out_fail`` (writes one int
    per index), so the time is the runtime's own: wakeup, chunk claims, join.
    """
    workloads = []
    for chunks in (2, 64):
        def empty_fan_out(chunks: int = chunks) -> torch.Tensor:
            return torch.ops.mt_test.fan_out_fail(chunks, 1, -1, "")

        workloads.append(Workload(
            name=f"runtime: empty fan-out, {chunks} chunks",
            description=f"an empty parallel_for over {chunks} one-item chunks "
                        "(1 thread: inline)",
            arms=[],
            torch_mt=empty_fan_out,
            normalise=_as_int_lists,
            kind="runtime",
        ))
    return workloads
