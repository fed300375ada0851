"""References of the time-warping family, written independently of the kernels.

Plain-Python dynamic programmes (value and path) and, for gradients, autograd
through a vectorised anti-diagonal soft-DTW (:func:`soft_dtw_antidiagonal`,
what users write without torch_mt, also the benchmark's baseline) — an
algorithm the kernel does not use.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor


def soft_dtw_antidiagonal(
    cost: Tensor,
    gamma: float,
    n_lengths: Optional[Tensor] = None,
    m_lengths: Optional[Tensor] = None,
) -> Tensor:
    """Soft-DTW of a batch as a loop over anti-diagonals, each one vectorised.

    The cells of one anti-diagonal (i + j constant) depend only on the two
    before it, so the batch and the whole diagonal go through a few tensor ops
    at once: N + M - 1 Python iterations in all. Differentiable by autograd
    (which stores every diagonal). ``+inf`` cells are allowed; padding past
    each item's lengths is masked out, so it may hold anything.
    """
    batch, rows, cols = cost.shape
    device = cost.device
    n = n_lengths if n_lengths is not None else torch.full((batch,), rows, device=device)
    m = m_lengths if m_lengths is not None else torch.full((batch,), cols, device=device)
    i_index = torch.arange(rows, device=device).view(1, rows, 1)
    j_index = torch.arange(cols, device=device).view(1, 1, cols)
    valid = (i_index < n.view(-1, 1, 1)) & (j_index < m.view(-1, 1, 1))
    cost = torch.where(valid, cost, torch.zeros((), dtype=cost.dtype))
    inf = torch.tensor(math.inf, dtype=cost.dtype)
    # R with a border: R[:, 0, 0] = 0, R[:, 0, j] = R[:, i, 0] = inf, one list
    # entry per anti-diagonal d = i + j of the bordered table (no in-place writes).
    # Each diagonal is also kept padded to all rows 0..rows (inf off-table),
    # built once, for the two steps that read it.
    diagonals: list[Tensor] = [torch.zeros(batch, 1, dtype=cost.dtype)]
    padded: list[Tensor] = [_bordered(diagonals[0], 0, rows, cols, inf)]
    for d in range(1, rows + cols + 1):
        i_low, i_high = max(0, d - cols), min(rows, d)  # bordered rows on diagonal d
        i = torch.arange(i_low, i_high + 1)
        previous = padded[d - 1]
        before = padded[d - 2] if d >= 2 else None
        inner = (i >= 1) & (d - i >= 1)
        values = torch.full((batch, len(i)), math.inf, dtype=cost.dtype)
        if inner.any():
            ii = i[inner]
            jj = d - ii
            up, left = previous[:, ii - 1], previous[:, ii]
            diagonal = before[:, ii - 1] if before is not None else torch.full_like(up, math.inf)
            soft = _softmin3(diagonal, up, left, gamma)
            values = values.index_put(
                (torch.arange(batch).unsqueeze(1), (ii - i_low).unsqueeze(0).expand(batch, -1)),
                cost[:, ii - 1, jj - 1] + soft,
            )
        diagonals.append(values)
        padded.append(_bordered(values, d, rows, cols, inf))
    # Item b's value is R[n_b, m_b] on diagonal n_b + m_b, at bordered row n_b.
    out = []
    for b in range(batch):
        nb, mb = int(n[b]), int(m[b])
        if nb == 0 or mb == 0:
            out.append(cost.new_tensor(0.0 if nb == mb else math.inf))
            continue
        d = nb + mb
        out.append(diagonals[d][b, nb - max(0, d - cols)])
    return torch.stack(out) if out else cost.new_zeros(0)


def _bordered(diagonal: Tensor, d: int, rows: int, cols: int, inf: Tensor) -> Tensor:
    """Diagonal d of the bordered table indexed by row i (0..rows), inf off-table."""
    i_low = max(0, d - cols)
    full = inf.expand(diagonal.shape[0], rows + 1)
    return torch.cat([full[:, :i_low], diagonal, full[:, i_low + diagonal.shape[1] :]], dim=1)


def _softmin3(a: Tensor, b: Tensor, c: Tensor, gamma: float) -> Tensor:
    """-gamma log(exp(-a/gamma) + exp(-b/gamma) + exp(-c/gamma)), shifted by the
    minimum; +inf where all three are +inf, with finite (zero) gradients there."""
    stacked = torch.stack([a, b, c])
    smallest = stacked.min(dim=0).values
    shift = torch.where(torch.isinf(smallest), torch.zeros_like(smallest), smallest).detach()
    total = torch.exp(-(stacked - shift) / gamma).sum(dim=0)
    safe_total = torch.where(total > 0, total, torch.ones_like(total))
    return torch.where(
        total > 0, shift - gamma * torch.log(safe_total), torch.full_like(total, math.inf)
    )


def item_blocks(
    cost: Tensor, n_lengths: Optional[Tensor], m_lengths: Optional[Tensor]
) -> list[tuple[int, int, list[list[float]]]]:
    """(n, m, valid block as nested Python floats) of each item."""
    blocks = []
    for b in range(cost.shape[0]):
        n = int(n_lengths[b]) if n_lengths is not None else cost.shape[1]
        m = int(m_lengths[b]) if m_lengths is not None else cost.shape[2]
        blocks.append((n, m, cost[b, :n, :m].double().tolist()))
    return blocks


def accumulate(n: int, m: int, block: list[list[float]], combine) -> list[list[float]]:
    """R[i][j] over the bordered (n+1) x (m+1) table: R[0][0] = 0, inf on the
    border, R[i][j] = block[i-1][j-1] + combine(diagonal, up, left)."""
    table = [[math.inf] * (m + 1) for _ in range(n + 1)]
    table[0][0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            table[i][j] = block[i - 1][j - 1] + combine(
                table[i - 1][j - 1], table[i - 1][j], table[i][j - 1]
            )
    return table


def _value(n: int, m: int, block: list[list[float]], combine) -> float:
    if n == 0 or m == 0:
        return 0.0 if n == m else math.inf
    return accumulate(n, m, block, combine)[n][m]


def python_softmin(gamma: float):
    def softmin(*values: float) -> float:
        smallest = min(values)
        if smallest == math.inf:
            return math.inf
        return smallest - gamma * math.log(sum(math.exp(-(v - smallest) / gamma) for v in values))

    return softmin


def dtw_reference(
    cost: Tensor, n_lengths: Optional[Tensor] = None, m_lengths: Optional[Tensor] = None
) -> Tensor:
    values = [_value(*item, min) for item in item_blocks(cost, n_lengths, m_lengths)]
    return torch.tensor(values, dtype=torch.float64).to(cost.dtype)


def squared_distances(x: Tensor, y: Tensor) -> Tensor:
    """[B, N, M] squared Euclidean distances of every step pair, in float64, by
    broadcasting (not torch.cdist, not the kernel's loop)."""
    return ((x.double().unsqueeze(2) - y.double().unsqueeze(1)) ** 2).sum(dim=-1)


def dtw_series_reference(
    x: Tensor, y: Tensor, x_lengths: Optional[Tensor] = None, y_lengths: Optional[Tensor] = None
) -> Tensor:
    """The Python DP of :func:`dtw_reference` on the series' squared distances."""
    return dtw_reference(squared_distances(x, y), x_lengths, y_lengths).to(x.dtype)


def soft_dtw_reference(
    cost: Tensor,
    gamma: float,
    n_lengths: Optional[Tensor] = None,
    m_lengths: Optional[Tensor] = None,
) -> Tensor:
    softmin = python_softmin(gamma)
    values = [_value(*item, softmin) for item in item_blocks(cost, n_lengths, m_lengths)]
    return torch.tensor(values, dtype=torch.float64).to(cost.dtype)


def dtw_path_reference(
    cost: Tensor, n_lengths: Optional[Tensor] = None, m_lengths: Optional[Tensor] = None
) -> Tensor:
    """Backtracking through the Python table; ties: diagonal, then up, then left."""
    mask = torch.zeros(cost.shape, dtype=torch.bool)
    for b, (n, m, block) in enumerate(item_blocks(cost, n_lengths, m_lengths)):
        if n == 0 or m == 0:
            continue
        table = accumulate(n, m, block, min)
        if table[n][m] == math.inf:
            continue
        i, j = n, m
        while True:
            mask[b, i - 1, j - 1] = True
            if (i, j) == (1, 1):
                break
            steps = [
                (table[i - 1][j - 1], i - 1, j - 1),
                (table[i - 1][j], i - 1, j),
                (table[i][j - 1], i, j - 1),
            ]
            steps = [step for step in steps if step[1] >= 1 and step[2] >= 1]
            best = min(value for value, _, _ in steps)
            _, i, j = next(step for step in steps if step[0] == best)
    return mask


def soft_dtw_backward_reference(
    grad: Tensor,
    cost: Tensor,
    gamma: float,
    n_lengths: Optional[Tensor] = None,
    m_lengths: Optional[Tensor] = None,
) -> Tensor:
    """grad[b] times autograd's gradient of the anti-diagonal soft-DTW (float64);
    zero for items with no finite path (the operator's convention)."""
    padded = cost.double().nan_to_num(nan=0.0, posinf=math.inf).requires_grad_()
    values = soft_dtw_antidiagonal(padded, gamma, n_lengths, m_lengths)
    total = values[torch.isfinite(values)].sum()
    if not total.requires_grad:  # only empty or pathless items: constants
        return torch.zeros_like(cost)
    (gradient,) = torch.autograd.grad(total, padded)
    return (gradient * grad.double().view(-1, 1, 1)).to(cost.dtype)


def soft_dtw_backward_backward_reference(
    grad_grad: Tensor,
    grad: Tensor,
    cost: Tensor,
    gamma: float,
    n_lengths: Optional[Tensor] = None,
    m_lengths: Optional[Tensor] = None,
) -> tuple[Tensor, Tensor]:
    """(sum of grad_grad * E per item, grad[b] * Hessian @ grad_grad[b]) by double
    autograd through the anti-diagonal soft-DTW (float64); zero for pathless items."""
    padded = cost.double().nan_to_num(nan=0.0, posinf=math.inf).requires_grad_()
    values = soft_dtw_antidiagonal(padded, gamma, n_lengths, m_lengths)
    total = values[torch.isfinite(values)].sum()
    if not total.requires_grad:
        return torch.zeros_like(grad), torch.zeros_like(cost)
    (expected_alignment,) = torch.autograd.grad(total, padded, create_graph=True)
    dots = (grad_grad.double() * expected_alignment).sum(dim=(1, 2))
    weighted = (dots * grad.double()).sum()
    if weighted.requires_grad:
        (hessian_products,) = torch.autograd.grad(weighted, padded, allow_unused=True)
    else:  # no item's alignment depends on its cost (1 x 1 items, say)
        hessian_products = None
    if hessian_products is None:
        hessian_products = torch.zeros_like(padded)
    return dots.detach().to(cost.dtype), hessian_products.to(cost.dtype)


def soft_dtw_series_reference(
    x: Tensor,
    y: Tensor,
    gamma: float,
    x_lengths: Optional[Tensor] = None,
    y_lengths: Optional[Tensor] = None,
) -> Tensor:
    """The Python soft-DTW DP on the series' squared distances."""
    return soft_dtw_reference(squared_distances(x, y), gamma, x_lengths, y_lengths).to(x.dtype)


def soft_dtw_series_backward_reference(
    grad: Tensor,
    x: Tensor,
    y: Tensor,
    gamma: float,
    x_lengths: Optional[Tensor] = None,
    y_lengths: Optional[Tensor] = None,
) -> tuple[Tensor, Tensor]:
    """Autograd through the anti-diagonal soft-DTW of the broadcast squared
    distances (float64), times grad[b]; zero for items with no finite value."""
    x64 = x.double().nan_to_num(nan=0.0).requires_grad_()
    y64 = y.double().nan_to_num(nan=0.0).requires_grad_()
    values = soft_dtw_antidiagonal(squared_distances(x64, y64), gamma, x_lengths, y_lengths)
    finite = torch.isfinite(values)
    total = (values[finite] * grad.double()[finite]).sum()
    if not total.requires_grad:  # only empty items: constants
        return torch.zeros_like(x), torch.zeros_like(y)
    grad_x, grad_y = torch.autograd.grad(total, (x64, y64), allow_unused=True)
    grad_x = grad_x if grad_x is not None else torch.zeros_like(x64)
    grad_y = grad_y if grad_y is not None else torch.zeros_like(y64)
    return grad_x.to(x.dtype), grad_y.to(y.dtype)
