"""Batched linear sum assignment (the Hungarian-matching step of DETR-style training).

Wrapper around ``torch.ops.mt.linear_sum_assignment`` (kernel and shape
function in ``ops/assignment/linear_sum_assignment.cpp``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, Union, overload

import torch
from torch import Tensor

__all__ = ["linear_sum_assignment"]


@overload
def linear_sum_assignment(
    cost: Tensor,
    *,
    n_lengths: Optional[Tensor] = None,
    m_lengths: Optional[Tensor] = None,
    maximize: bool = False,
    cost_limit: Optional[float] = None,
) -> tuple[Tensor, Tensor]: ...


@overload
def linear_sum_assignment(
    cost: Sequence[Tensor],
    *,
    n_lengths: None = None,
    m_lengths: None = None,
    maximize: bool = False,
    cost_limit: Optional[float] = None,
) -> list[tuple[Tensor, Tensor]]: ...


def linear_sum_assignment(
    cost: Union[Tensor, Sequence[Tensor]],
    *,
    n_lengths: Optional[Tensor] = None,
    m_lengths: Optional[Tensor] = None,
    maximize: bool = False,
    cost_limit: Optional[float] = None,
) -> Union[tuple[Tensor, Tensor], list[tuple[Tensor, Tensor]]]:
    """Optimal assignment of rows to columns for every cost matrix of a batch, in parallel.

    Each item is solved as ``scipy.optimize.linear_sum_assignment`` solves it:
    every row is assigned a distinct column (or every column a distinct row,
    when there are fewer columns) so that the total cost is minimal (maximal
    with ``maximize=True``). Where several assignments are optimal, the one
    SciPy returns. Items are solved in parallel on torch_mt's pool.

    Args:
        cost: any real dtype (floating, integer or bool; solved in float64, as
            SciPy does), one of
            ``[N, M]``: a single matrix;
            ``[B, N, M]``: a batch, optionally padded (see the lengths);
            a list of ``[N_b, M_b]`` matrices of any shapes (padded for you).
            ``+inf`` marks a forbidden pair (``-inf`` when ``maximize=True``).
        n_lengths: int64 ``[B]``, only with a ``[B, N, M]`` batch: item ``b``
            has the first ``n_lengths[b]`` rows; the padding is ignored.
        m_lengths: int64 ``[B]``, likewise for the columns.
        maximize: find the assignment of maximal total cost instead.
        cost_limit: implicit rejection, as multi-object trackers call
            ``lap.lapjv(cost, extend_cost=True, cost_limit=cost_limit)``: any
            row and any column may stay unassigned (at ``cost_limit / 2``
            each), so only pairs that pay are kept; a pair costing more than
            ``cost_limit`` never is. Where no costs tie, the pairs are lap's.
            ``None`` or ``inf``: every row (or column) is assigned, as without
            it. Not with ``maximize=True``.

    Returns:
        For a matrix: ``(row_ind, col_ind)``, int64 ``[min(N, M)]``, rows ascending:
        ``cost[row_ind, col_ind].sum()`` is optimal.
        For a batch: ``(row_ind, col_ind)``, int64 ``[B, min(N, M)]``, each row
        padded with ``-1`` past its item's ``min(n_b, m_b)`` pairs.
        For a list: a list of ``(row_ind, col_ind)`` pairs, one per matrix.
        With ``cost_limit`` the kept pairs come first, rows ascending, and
        ``-1`` fills the rest (``row_ind >= 0`` selects them; a list's
        entries hold only the kept pairs); an unassigned row or column is
        one that no kept pair names.

    Raises:
        RuntimeError: wrong dtype or shape; a NaN, a ``-inf`` (``+inf`` when
            maximizing) or an infeasible item (no complete assignment avoids the
            forbidden pairs) — the message names the batch item.
        ValueError: lengths given with a single matrix or a list; a NaN or
            negative ``cost_limit``, or one with ``maximize=True``.

    Example:
        >>> cost = torch.tensor([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0], [3.0, 2.0, 2.0]])
        >>> row_ind, col_ind = linear_sum_assignment(cost)
        >>> col_ind.tolist(), cost[row_ind, col_ind].sum().item()
        ([1, 0, 2], 5.0)

        A tracker's gating: pairs costing more than the limit are not made.

        >>> cost = torch.tensor([[0.1, 0.9], [0.8, 0.95]])
        >>> row_ind, col_ind = linear_sum_assignment(cost, cost_limit=0.5)
        >>> row_ind.tolist(), col_ind.tolist()
        ([0, -1], [0, -1])
    """
    if isinstance(cost, Tensor):
        if cost.dim() == 2:
            if n_lengths is not None or m_lengths is not None:
                raise ValueError("linear_sum_assignment: lengths need a [B, N, M] batch")
            row_ind, col_ind = torch.ops.mt.linear_sum_assignment(
                cost.unsqueeze(0), None, None, maximize, cost_limit
            )
            return row_ind[0], col_ind[0]
        return torch.ops.mt.linear_sum_assignment(cost, n_lengths, m_lengths, maximize, cost_limit)
    if n_lengths is not None or m_lengths is not None:
        raise ValueError("linear_sum_assignment: the lengths of a list come from the list itself")
    batch, rows, cols = _pad_matrices(cost)
    row_ind, col_ind = torch.ops.mt.linear_sum_assignment(batch, rows, cols, maximize, cost_limit)
    pairs = (row_ind >= 0).sum(dim=1).tolist()  # min(n_b, m_b), or the pairs kept
    return [(row_ind[b, :k], col_ind[b, :k]) for b, k in enumerate(pairs)]


def _pad_matrices(matrices: Sequence[Tensor]) -> tuple[Tensor, Tensor, Tensor]:
    """Stack 2-D matrices of different shapes into ``[B, max N, max M]``, plus
    their row and column counts."""
    for position, matrix in enumerate(matrices):
        if not isinstance(matrix, Tensor) or matrix.dim() != 2:
            raise TypeError(
                f"linear_sum_assignment: cost[{position}] must be a 2-D tensor, "
                f"got {type(matrix).__name__}"
                + (f" of {matrix.dim()} dimensions" if isinstance(matrix, Tensor) else "")
            )
    dtypes = {matrix.dtype for matrix in matrices}
    if len(dtypes) > 1:
        raise TypeError(
            f"linear_sum_assignment: the matrices mix dtypes {sorted(map(str, dtypes))}"
        )
    row_counts = [m.shape[0] for m in matrices]
    col_counts = [m.shape[1] for m in matrices]
    dtype = matrices[0].dtype if len(matrices) else torch.float64
    batch = torch.zeros(
        (len(matrices), max(row_counts, default=0), max(col_counts, default=0)), dtype=dtype
    )
    for b, matrix in enumerate(matrices):
        batch[b, : matrix.shape[0], : matrix.shape[1]] = matrix
    return (
        batch,
        torch.tensor(row_counts, dtype=torch.int64),
        torch.tensor(col_counts, dtype=torch.int64),
    )
