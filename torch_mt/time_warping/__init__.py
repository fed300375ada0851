"""Dynamic time warping, hard and soft, over batches of precomputed cost matrices.

Wrappers around ``torch.ops.mt.dtw``, ``dtw_path``, ``dtw_series`` (kernels in
``ops/time_warping/dtw.cpp``), ``soft_dtw`` (``soft_dtw.cpp``) and ``soft_dtw_series``
(``soft_dtw_series.cpp``); their gradients are C++ autograd (``soft_dtw_autograd.cpp``).
Soft-DTW's autograd formula is registered in C++ at the Autograd key: its
backward is the parallel operator ``mt::soft_dtw_backward`` (itself
differentiable, through ``mt::soft_dtw_backward_backward``), so gradients
reach whatever produced the cost (``torch.cdist(x, y) ** 2``, a network's
features, ...) in eager mode, under ``torch.compile``, from scripted models
and from C++ without Python; ``soft_dtw_series``'s backward,
``mt::soft_dtw_series_backward``, gives the gradients of the series.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

__all__ = ["dtw", "dtw_path", "dtw_series", "soft_dtw", "soft_dtw_series"]


def dtw(
    cost: Tensor, *, n_lengths: Optional[Tensor] = None, m_lengths: Optional[Tensor] = None
) -> Tensor:
    """Dynamic time warping distance of every item of a batch, in parallel.

    ``out[b]`` is the smallest sum of ``cost[b, i, j]`` along a path from
    ``(0, 0)`` to ``(n_b - 1, m_b - 1)`` taking steps ``(1, 0)``, ``(0, 1)``
    or ``(1, 1)``.

    Args:
        cost: float32 or float64 ``[B, N, M]``, e.g. ``torch.cdist(x, y) ** 2``.
            ``+inf`` forbids a cell (a band constraint, say).
        n_lengths: int64 ``[B]`` or None: item ``b`` uses the first
            ``n_lengths[b]`` rows (None: all ``N``).
        m_lengths: int64 ``[B]`` or None: likewise for the columns.

    Returns:
        ``[B]``, the dtype of ``cost`` (accumulated in float64). ``+inf`` when
        no path avoids the forbidden cells, or when exactly one side is empty;
        0 when both are.

    Raises:
        RuntimeError: wrong shape, dtype or device; a length outside the
            padding; NaN or ``-inf`` in an item's block (the message names it).

    Example:
        >>> x = torch.tensor([[0.0, 1.0, 2.0]])
        >>> y = torch.tensor([[0.0, 0.0, 1.0, 2.0]])
        >>> cost = (x.unsqueeze(2) - y.unsqueeze(1)) ** 2
        >>> dtw(cost).tolist()
        [0.0]
    """
    return torch.ops.mt.dtw(cost, n_lengths, m_lengths)


def dtw_path(
    cost: Tensor, *, n_lengths: Optional[Tensor] = None, m_lengths: Optional[Tensor] = None
) -> Tensor:
    """The optimal DTW alignment of every item, as a boolean mask.

    Where several paths are optimal, the one found by walking back from the
    last cell and preferring, among the predecessors of equal accumulated
    cost, the diagonal step, then ``(i - 1, j)``, then ``(i, j - 1)``
    (tslearn's rule).

    Args:
        cost: float32 or float64 ``[B, N, M]``; ``+inf`` forbids a cell.
        n_lengths: int64 ``[B]`` or None: item ``b`` uses the first
            ``n_lengths[b]`` rows (None: all ``N``).
        m_lengths: int64 ``[B]`` or None: likewise for the columns.

    Returns:
        bool ``[B, N, M]``: ``True`` on the cells of item ``b``'s path. An item
        with no finite path, or an empty one, has no ``True`` cell.

    Example:
        >>> cost = torch.tensor([[[0.0, 5.0, 5.0], [5.0, 0.0, 0.0]]])
        >>> dtw_path(cost).int().tolist()
        [[[1, 0, 0], [0, 1, 1]]]

    Raises:
        RuntimeError: as :func:`dtw`.
    """
    return torch.ops.mt.dtw_path(cost, n_lengths, m_lengths)


def dtw_series(
    x: Tensor,
    y: Tensor,
    *,
    x_lengths: Optional[Tensor] = None,
    y_lengths: Optional[Tensor] = None,
) -> Tensor:
    """DTW of every pair of series of a batch, the local cost computed on the fly.

    Equal to ``dtw(torch.cdist(x, y) ** 2)`` (to rounding) without the
    ``[B, N, M]`` cost tensor: the squared Euclidean distance
    ``||x[b, i] - y[b, j]||**2`` of each cell is computed inside the dynamic
    programme, in float64, four items at a time in SIMD lanes. dtaidistance's
    ``dtw.distance`` of univariate series is the square root of this value.

    Args:
        x: float32 or float64 ``[B, N, D]`` (``D`` features per step; ``[B, N, 1]``
            for univariate series).
        y: ``[B, M, D]``, the dtype of ``x``.
        x_lengths: int64 ``[B]`` or None: item ``b`` uses the first
            ``x_lengths[b]`` steps of ``x[b]`` (None: all ``N``).
        y_lengths: int64 ``[B]`` or None: likewise for ``y``.

    Returns:
        ``[B]``, the dtype of ``x``. ``+inf`` when exactly one series of a
        pair is empty, 0 when both are.

    Raises:
        RuntimeError: wrong rank, dtype or device; batch or feature sizes that
            differ; a length outside the padding; NaN or inf in an item's
            steps (the message names the argument and the item).

    Example:
        >>> x = torch.tensor([[0.0, 1.0, 2.0]]).unsqueeze(-1)
        >>> y = torch.tensor([[0.0, 0.0, 1.0, 3.0]]).unsqueeze(-1)
        >>> dtw_series(x, y).tolist()
        [1.0]
    """
    return torch.ops.mt.dtw_series(x, y, x_lengths, y_lengths)


def soft_dtw(
    cost: Tensor,
    *,
    gamma: float = 1.0,
    n_lengths: Optional[Tensor] = None,
    m_lengths: Optional[Tensor] = None,
) -> Tensor:
    """Soft-DTW (Cuturi & Blondel, 2017) of every item: differentiable DTW.

    The DTW recursion with ``min`` replaced by
    ``softmin_gamma(a) = -gamma * log(sum(exp(-a / gamma)))`` (computed
    shifted by the minimum, so small ``gamma`` does not overflow). As
    ``gamma -> 0`` it tends to :func:`dtw`. Differentiable with respect to
    ``cost``: the gradient of ``out[b]`` is the expected alignment matrix,
    computed in parallel by ``mt::soft_dtw_backward``.

    Args:
        cost: float32 or float64 ``[B, N, M]``; ``+inf`` forbids a cell.
        gamma: smoothing, > 0.
        n_lengths: int64 ``[B]`` or None, as in :func:`dtw`.
        m_lengths: int64 ``[B]`` or None, as in :func:`dtw`.

    Returns:
        ``[B]``, the dtype of ``cost``. Empty items as in :func:`dtw`; an item
        with no finite path has value ``+inf`` and a zero gradient.

    Raises:
        RuntimeError: as :func:`dtw`, plus ``gamma <= 0`` or not finite.

    Example — train a small model under the soft-DTW loss:
        >>> _ = torch.manual_seed(0)
        >>> inputs = torch.randn(8, 20, 3)                       # 8 sequences of 20 steps
        >>> targets = torch.randn(8, 15, 2)                      # of other lengths
        >>> model = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Tanh(),
        ...                             torch.nn.Linear(16, 2))
        >>> optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        >>> def loss_value():
        ...     cost = torch.cdist(model(inputs), targets) ** 2  # [8, 20, 15]
        ...     return soft_dtw(cost, gamma=0.1).mean()
        >>> before = loss_value().item()
        >>> for _ in range(30):
        ...     optimizer.zero_grad()
        ...     loss_value().backward()                          # mt::soft_dtw_backward
        ...     optimizer.step()
        >>> loss_value().item() < before
        True
    """
    return torch.ops.mt.soft_dtw(cost, gamma, n_lengths, m_lengths)


def soft_dtw_series(
    x: Tensor,
    y: Tensor,
    *,
    gamma: float = 1.0,
    x_lengths: Optional[Tensor] = None,
    y_lengths: Optional[Tensor] = None,
) -> Tensor:
    """Soft-DTW of every pair of series, the local cost computed on the fly; differentiable.

    Equal to ``soft_dtw(torch.cdist(x, y) ** 2, gamma=gamma)`` (to rounding),
    gradients included, without the ``[B, N, M]`` cost tensor or its
    gradient: the squared Euclidean distance of each cell is computed inside
    the dynamic programme, four items at a time in SIMD lanes, and the
    backward pass (``mt::soft_dtw_series_backward``, parallel, registered in
    C++) accumulates the gradients with respect to ``x`` and ``y`` directly.
    Second derivatives are not implemented (they raise); use
    :func:`soft_dtw` on the cost for Hessian-vector products.

    Args:
        x: float32 or float64 ``[B, N, D]``.
        y: ``[B, M, D]``, the dtype of ``x``.
        gamma: smoothing, > 0.
        x_lengths: int64 ``[B]`` or None: item ``b`` uses the first
            ``x_lengths[b]`` steps of ``x[b]`` (None: all ``N``).
        y_lengths: int64 ``[B]`` or None: likewise for ``y``.

    Returns:
        ``[B]``, the dtype of ``x``. Empty items as in :func:`dtw_series`, with
        zero gradients.

    Raises:
        RuntimeError: as :func:`dtw_series`, plus ``gamma <= 0`` or not finite.

    Example — fit one series to another under the soft-DTW loss:
        >>> _ = torch.manual_seed(0)
        >>> target = torch.sin(torch.linspace(0, 6, 40)).view(1, 40, 1)
        >>> fitted = torch.zeros(1, 30, 1, requires_grad=True)
        >>> optimizer = torch.optim.Adam([fitted], lr=0.1)
        >>> before = soft_dtw_series(fitted, target, gamma=0.1).item()
        >>> for _ in range(50):
        ...     optimizer.zero_grad()
        ...     soft_dtw_series(fitted, target, gamma=0.1).sum().backward()
        ...     optimizer.step()
        >>> soft_dtw_series(fitted, target, gamma=0.1).item() < before / 10
        True
    """
    return torch.ops.mt.soft_dtw_series(x, y, gamma, x_lengths, y_lengths)
