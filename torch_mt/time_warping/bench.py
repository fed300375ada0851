"""The time warping family's benchmark workloads (``python -m torch_mt.bench``)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch
from torch import Tensor

from ..bench.workload import Arm, Workload, all_threads, close, peer, small_workload
from .reference import soft_dtw_antidiagonal


def _soft_dtw_workloads(quick: bool) -> list[Workload]:
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

    def loss_gradient(soft_dtw: Callable[[Tensor], Tensor]) -> Tensor:
        leaf = cost.detach().requires_grad_()
        soft_dtw(leaf).sum().backward()
        return leaf.grad

    matrices = list(cost.numpy())

    def tslearn_gradient() -> Tensor:
        # tslearn's numba kernels: the loss gradient of a sum is each item's grad().
        gradients = []
        for matrix in matrices:
            item = peer("tslearn.metrics").SoftDTW(matrix, gamma=gamma)
            item.compute()
            gradients.append(torch.from_numpy(item.grad()))
        return torch.stack(gradients)

    forward_backward = Workload(
        name=f"soft_dtw forward+backward, {batch} x {steps}x{steps}",
        description=f"soft-DTW loss and its gradient, {batch} pairs of {steps} steps",
        ops=("soft_dtw", "soft_dtw_backward"),
        arms=[
            Arm(
                "pure PyTorch: vectorised anti-diagonals + autograd",
                lambda: loss_gradient(lambda c: soft_dtw_antidiagonal(c, gamma)),
            ),
            Arm(
                "python loop: tslearn SoftDTW (numba), value + grad",
                tslearn_gradient,
                requires=("tslearn",),
            ),
        ],
        torch_mt=lambda: loss_gradient(lambda c: torch.ops.mt.soft_dtw(c, gamma, None, None)),
        normalise=lambda gradient: gradient,
        agree=close(1e-9),
    )

    hessian = _soft_dtw_hessian_workload(quick)
    return [forward_backward, *_soft_dtw_series_workloads(quick), hessian]


def headline() -> Workload:
    """The family's row of the headline run (``make bench``): soft-DTW loss and
    gradient of multivariate series (D = 16) against tslearn."""
    return _soft_dtw_series_workloads(quick=False, feature_counts=(16,))[0]


def _soft_dtw_series_workloads(
    quick: bool, feature_counts: tuple[int, ...] = (1, 16)
) -> list[Workload]:
    """Soft-DTW loss and its gradient with respect to the series, 64 pairs of
    256 steps of 1 and of 16 features (float64), against tslearn's numba
    SoftDTW on its SquaredEuclidean costs chained back to x (jacobian_product)
    per item, and against mt::soft_dtw on a cost tensor built by torch.cdist."""
    batch, steps, gamma = (16, 64, 0.1) if quick else (64, 256, 0.1)
    workloads = []
    for features in feature_counts:
        generator = torch.Generator().manual_seed(4 + features)
        x = torch.randn(batch, steps, features, dtype=torch.float64, generator=generator)
        y = torch.randn(batch, steps, features, dtype=torch.float64, generator=generator)
        items = list(zip(x.numpy(), y.numpy()))

        def tslearn_gradient(items=items) -> Tensor:
            variants = peer("tslearn.metrics.softdtw_variants")
            gradients = []
            for x_item, y_item in items:
                metric = variants.SquaredEuclidean(x_item, y_item)
                item = variants.SoftDTW(metric.compute(), gamma=gamma)
                item.compute()
                gradients.append(torch.from_numpy(metric.jacobian_product(item.grad())))
            return torch.stack(gradients)

        def series_gradient(loss: Callable[[Tensor], Tensor], x=x) -> Tensor:
            leaf = x.detach().requires_grad_()
            loss(leaf).sum().backward()
            return leaf.grad

        workloads.append(
            Workload(
                name=f"soft_dtw_series forward+backward, {batch} x {steps}x{steps}, D={features}",
                description=f"soft-DTW loss of {batch} series pairs and its gradient in x",
                ops=("soft_dtw_series", "soft_dtw_series_backward"),
                arms=[
                    Arm(
                        "python loop: tslearn SquaredEuclidean + SoftDTW (numba), value + grad",
                        tslearn_gradient,
                        requires=("tslearn",),
                    ),
                    Arm(
                        f"mt::soft_dtw on torch.cdist(x, y) ** 2, {all_threads()} threads",
                        lambda x=x, y=y: series_gradient(
                            lambda leaf: torch.ops.mt.soft_dtw(
                                torch.cdist(leaf, y) ** 2, gamma, None, None
                            ),
                            x,
                        ),
                        threads=all_threads(),
                    ),
                ],
                torch_mt=lambda x=x, y=y: series_gradient(
                    lambda leaf: torch.ops.mt.soft_dtw_series(leaf, y, gamma, None, None), x
                ),
                normalise=lambda gradient: gradient,
                agree=close(1e-6),
            )
        )
    return workloads


def _soft_dtw_hessian_workload(quick: bool) -> Workload:
    """Hessian-vector products of the soft-DTW loss (double backward), 16 x 128 x 128."""
    generator = torch.Generator().manual_seed(2)
    batch, steps = (4, 32) if quick else (16, 128)
    hessian_cost = torch.rand(batch, steps, steps, dtype=torch.float64, generator=generator) * 4
    direction = torch.randn(hessian_cost.shape, dtype=torch.float64, generator=generator)
    hessian_gamma = 0.5

    def hessian_vector_product(soft_dtw: Callable[[Tensor], Tensor]) -> Tensor:
        leaf = hessian_cost.detach().requires_grad_()
        (gradient,) = torch.autograd.grad(soft_dtw(leaf).sum(), leaf, create_graph=True)
        (product,) = torch.autograd.grad((gradient * direction).sum(), leaf)
        return product

    return Workload(
        name=f"soft_dtw Hessian-vector product, {batch} x {steps}x{steps}",
        description=f"soft-DTW double backward, {batch} pairs of {steps} steps",
        ops=("soft_dtw_backward_backward",),
        arms=[
            Arm(
                "pure PyTorch: anti-diagonals + double autograd",
                lambda: hessian_vector_product(lambda c: soft_dtw_antidiagonal(c, hessian_gamma)),
            )
        ],
        torch_mt=lambda: hessian_vector_product(
            lambda c: torch.ops.mt.soft_dtw(c, hessian_gamma, None, None)
        ),
        normalise=lambda product: product,
        agree=close(1e-8),
    )


def _dtw_workloads(quick: bool) -> list[Workload]:
    """DTW distance of 64 pairs of 512-step univariate series (float64) against
    dtaidistance: mt::dtw on the squared differences as a cost tensor, and
    mt::dtw_series on the series themselves (with mt::dtw paying for the cost
    tensor as an arm). DTW paths of 32 pairs of 256-step series."""
    generator = torch.Generator().manual_seed(0)
    batch, steps = (16, 128) if quick else (64, 512)
    x = torch.randn(batch, steps, dtype=torch.float64, generator=generator).cumsum(dim=1)
    y = torch.randn(batch, steps, dtype=torch.float64, generator=generator).cumsum(dim=1)
    pairs = list(zip(x.numpy(), y.numpy()))
    threads = all_threads()
    executor = ThreadPoolExecutor(threads)

    def dtaidistance_pair(pair) -> float:
        return peer("dtaidistance.dtw").distance_fast(pair[0], pair[1], use_pruning=False)

    cost = (x.unsqueeze(2) - y.unsqueeze(1)) ** 2
    distance = Workload(
        name=f"dtw, {batch} x {steps}x{steps}",
        description=f"DTW distance of {batch} pairs of {steps}-step series",
        ops=("dtw",),
        arms=[
            Arm(
                "python loop: dtaidistance.dtw.distance_fast",
                lambda: [dtaidistance_pair(pair) for pair in pairs],
                requires=("dtaidistance",),
            ),
            Arm(
                f"ThreadPoolExecutor({threads}): dtaidistance",
                lambda: list(executor.map(dtaidistance_pair, pairs)),
                requires=("dtaidistance",),
            ),
        ],
        torch_mt=lambda: torch.ops.mt.dtw(cost, None, None).sqrt(),
        normalise=lambda result: torch.as_tensor(result, dtype=torch.float64),
        agree=close(1e-9),
    )
    x_steps, y_steps = x.unsqueeze(-1), y.unsqueeze(-1)  # [B, N, 1]: univariate
    from_series = Workload(
        name=f"dtw_series, {batch} x {steps}x{steps}",
        description=f"DTW distance of {batch} pairs of {steps}-step series, from the series",
        ops=("dtw_series",),
        arms=[
            Arm(
                "python loop: dtaidistance.dtw.distance_fast",
                lambda: [dtaidistance_pair(pair) for pair in pairs],
                requires=("dtaidistance",),
            ),
            Arm(
                f"ThreadPoolExecutor({threads}): dtaidistance",
                lambda: list(executor.map(dtaidistance_pair, pairs)),
                requires=("dtaidistance",),
            ),
            # What mt::dtw costs a user who holds series: a 134 MB tensor to fill first.
            Arm(
                f"mt::dtw + computing the cost tensor, {threads} threads",
                lambda: torch.ops.mt.dtw((x.unsqueeze(2) - y.unsqueeze(1)) ** 2, None, None).sqrt(),
                threads=threads,
            ),
        ],
        torch_mt=lambda: torch.ops.mt.dtw_series(x_steps, y_steps, None, None).sqrt(),
        normalise=lambda result: torch.as_tensor(result, dtype=torch.float64),
        agree=close(1e-9),
    )

    generator = torch.Generator().manual_seed(1)
    batch, steps = (8, 64) if quick else (32, 256)
    path_x = torch.randn(batch, steps, dtype=torch.float64, generator=generator).cumsum(dim=1)
    path_y = torch.randn(batch, steps, dtype=torch.float64, generator=generator).cumsum(dim=1)
    path_cost = (path_x.unsqueeze(2) - path_y.unsqueeze(1)) ** 2
    path_pairs = list(zip(path_x.numpy(), path_y.numpy()))

    def as_paths(result: Any) -> list[list[tuple[int, int]]]:
        if isinstance(result, torch.Tensor):
            return [[tuple(cell) for cell in item.nonzero().tolist()] for item in result]
        return [[(int(i), int(j)) for i, j in path] for path in result]

    path = Workload(
        name=f"dtw_path, {batch} x {steps}x{steps}",
        description=f"DTW alignment paths of {batch} pairs of {steps}-step series",
        ops=("dtw_path",),
        arms=[
            Arm(
                "python loop: dtaidistance.dtw.warping_path",
                lambda: [
                    peer("dtaidistance.dtw").warping_path(a, b, use_pruning=False)
                    for a, b in path_pairs
                ],
                requires=("dtaidistance",),
            )
        ],
        torch_mt=lambda: torch.ops.mt.dtw_path(path_cost, None, None),
        normalise=as_paths,
    )
    return [distance, from_series, path]


def workloads(quick: bool) -> list[Workload]:
    """Soft-DTW (loss + gradient, Hessian-vector products), DTW, DTW paths; tiny calls."""
    generator = torch.Generator().manual_seed(3)
    cost = torch.rand(2, 12, 12, dtype=torch.float64, generator=generator)
    series = torch.rand(2, 12, 1, dtype=torch.float64, generator=generator)
    grad = torch.ones(2, dtype=torch.float64)
    small = [
        small_workload("dtw", lambda: torch.ops.mt.dtw(cost, None, None)),
        small_workload("dtw_path", lambda: torch.ops.mt.dtw_path(cost, None, None)),
        small_workload("dtw_series", lambda: torch.ops.mt.dtw_series(series, series, None, None)),
        small_workload(
            "soft_dtw_series",
            lambda: torch.ops.mt.soft_dtw_series(series, series, 1.0, None, None),
        ),
        small_workload(
            "soft_dtw_series_backward",
            lambda: torch.ops.mt.soft_dtw_series_backward(grad, series, series, 1.0, None, None),
        ),
        small_workload("soft_dtw", lambda: torch.ops.mt.soft_dtw(cost, 1.0, None, None)),
        small_workload(
            "soft_dtw_backward", lambda: torch.ops.mt.soft_dtw_backward(grad, cost, 1.0, None, None)
        ),
        small_workload(
            "soft_dtw_backward_backward",
            lambda: torch.ops.mt.soft_dtw_backward_backward(cost, grad, cost, 1.0, None, None),
        ),
    ]
    return [*_soft_dtw_workloads(quick), *_dtw_workloads(quick), *small]
