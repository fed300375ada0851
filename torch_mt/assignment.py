"""Batched linear sum assignment (the Hungarian-matching step of DETR-style training).

Wrapper around ``torch.ops.mt.linear_sum_assignment`` (kernel and shape
function in ``ops/linear_sum_assignment.cpp``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, Union, overload

import torch
from torch import Tensor


@overload
def linear_sum_assignment(
    cost: Tensor, sizes: Optional[Tensor] = None, maximize: bool = False
) -> tuple[Tensor, Tensor]: ...


@overload
def linear_sum_assignment(
    cost: Sequence[Tensor], sizes: None = None, maximize: bool = False
) -> list[tuple[Tensor, Tensor]]: ...


def linear_sum_assignment(
    cost: Union[Tensor, Sequence[Tensor]],
    sizes: Optional[Tensor] = None,
    maximize: bool = False,
) -> Union[tuple[Tensor, Tensor], list[tuple[Tensor, Tensor]]]:
    """Optimal assignment of rows to columns for every cost matrix of a batch, in parallel.

    Each item is solved as ``scipy.optimize.linear_sum_assignment`` solves it:
    every row is assigned a distinct column (or every column a distinct row,
    when there are fewer columns) so that the total cost is minimal (maximal
    with ``maximize=True``). Items are solved in parallel on torch_mt's pool.

    Args:
        cost: float32 or float64, one of
            ``[N, M]``: a single matrix;
            ``[B, N, M]``: a batch, optionally padded (see ``sizes``);
            a list of ``[N_b, M_b]`` matrices of any shapes (padded for you).
            ``+inf`` marks a forbidden pair (``-inf`` when ``maximize=True``).
        sizes: int64 ``[B, 2]``, only with a ``[B, N, M]`` batch: item ``b``
            is ``cost[b, :sizes[b, 0], :sizes[b, 1]]``; the padding is ignored.
        maximize: find the assignment of maximal total cost instead.

    Returns:
        For a matrix: ``(row_ind, col_ind)``, int64 ``[min(N, M)]``, rows ascending:
        ``cost[row_ind, col_ind].sum()`` is optimal.
        For a batch: ``(row_ind, col_ind)``, int64 ``[B, min(N, M)]``, each row
        padded with ``-1`` past its item's ``min(n_b, m_b)`` pairs.
        For a list: a list of ``(row_ind, col_ind)`` pairs, one per matrix.

    Raises:
        RuntimeError: wrong dtype or shape; a NaN, a ``-inf`` (``+inf`` when
            maximizing) or an infeasible item (no complete assignment avoids the
            forbidden pairs) — the message names the batch item.

    Example:
        >>> cost = torch.tensor([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0], [3.0, 2.0, 2.0]])
        >>> row_ind, col_ind = linear_sum_assignment(cost)
        >>> col_ind.tolist(), cost[row_ind, col_ind].sum().item()
        ([1, 0, 2], 5.0)
    """
    if isinstance(cost, Tensor):
        if cost.dim() == 2:
            if sizes is not None:
                raise ValueError("linear_sum_assignment: 'sizes' needs a [B, N, M] batch")
            row_ind, col_ind = torch.ops.mt.linear_sum_assignment(cost.unsqueeze(0), None, maximize)
            return row_ind[0], col_ind[0]
        return torch.ops.mt.linear_sum_assignment(cost, sizes, maximize)
    if sizes is not None:
        raise ValueError("linear_sum_assignment: 'sizes' comes from the list itself")
    batch, item_sizes = _pad_matrices(cost)
    row_ind, col_ind = torch.ops.mt.linear_sum_assignment(batch, item_sizes, maximize)
    pairs = item_sizes.min(dim=1).values.tolist()
    return [(row_ind[b, :k], col_ind[b, :k]) for b, k in enumerate(pairs)]


def _pad_matrices(matrices: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
    """Stack 2-D matrices of different shapes into ``[B, max N, max M]`` plus their sizes."""
    for position, matrix in enumerate(matrices):
        if not isinstance(matrix, Tensor) or matrix.dim() != 2:
            raise TypeError(
                f"linear_sum_assignment: cost[{position}] must be a 2-D tensor, "
                f"got {type(matrix).__name__}"
                + (f" of {matrix.dim()} dimensions" if isinstance(matrix, Tensor) else "")
            )
    dtypes = {matrix.dtype for matrix in matrices}
    if len(dtypes) > 1:
        raise TypeError(f"linear_sum_assignment: the matrices mix dtypes {sorted(map(str, dtypes))}")
    sizes = torch.tensor([list(m.shape) for m in matrices], dtype=torch.int64).reshape(-1, 2)
    rows, cols = (int(s) for s in sizes.max(dim=0).values) if len(matrices) else (0, 0)
    dtype = matrices[0].dtype if len(matrices) else torch.float64
    batch = torch.zeros((len(matrices), rows, cols), dtype=dtype)
    for b, matrix in enumerate(matrices):
        batch[b, : matrix.shape[0], : matrix.shape[1]] = matrix
    return batch, sizes
