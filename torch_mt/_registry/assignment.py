"""OpSpec of mt::linear_sum_assignment (ops/linear_sum_assignment.cpp); SciPy is the reference."""

from __future__ import annotations

import math
from typing import Optional

import torch
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment as scipy_linear_sum_assignment
from torch import Tensor

from .. import assignment
from ..testing import LAYOUTS, with_layout
from . import BadInput, OpSpec

OP = "mt::linear_sum_assignment"


def item_shapes(cost: Tensor, sizes: Optional[Tensor]) -> list[tuple[int, int]]:
    """(n_b, m_b) of every item of a padded batch."""
    if sizes is None:
        return [tuple(cost.shape[1:])] * cost.shape[0]
    return [(int(n), int(m)) for n, m in sizes.tolist()]


def scipy_reference(cost: Tensor, sizes: Optional[Tensor], maximize: bool) -> tuple[Tensor, Tensor]:
    """SciPy on every item, padded with -1 as the operator pads."""
    pairs = min(cost.shape[1], cost.shape[2])
    row_ind = torch.full((cost.shape[0], pairs), -1, dtype=torch.int64)
    col_ind = torch.full((cost.shape[0], pairs), -1, dtype=torch.int64)
    for b, (n, m) in enumerate(item_shapes(cost, sizes)):
        rows, cols = scipy_linear_sum_assignment(
            cost[b, :n, :m].double().numpy(), maximize=maximize
        )
        row_ind[b, : len(rows)] = torch.from_numpy(rows)
        col_ind[b, : len(cols)] = torch.from_numpy(cols)
    return row_ind, col_ind


def assert_optimal(actual: tuple[Tensor, Tensor], expected: tuple[Tensor, Tensor],
                   args: tuple) -> None:
    """Valid assignments whose totals equal SciPy's (rel. 1e-9); indices may differ on ties."""
    cost, sizes, _maximize = args
    row_ind, col_ind = actual
    assert row_ind.dtype == col_ind.dtype == torch.int64
    assert row_ind.shape == col_ind.shape == expected[0].shape
    for b, (n, m) in enumerate(item_shapes(cost, sizes)):
        k = min(n, m)
        assert (row_ind[b, k:] == -1).all() and (col_ind[b, k:] == -1).all(), "padding"
        rows, cols = row_ind[b, :k].tolist(), col_ind[b, :k].tolist()
        assert rows == sorted(set(rows)) and all(0 <= r < n for r in rows), rows
        assert len(set(cols)) == k and all(0 <= c < m for c in cols), cols
        item = cost[b].double()
        total = item[rows, cols].sum().item() if k else 0.0
        best = item[expected[0][b, :k], expected[1][b, :k]].sum().item() if k else 0.0
        assert math.isfinite(total), f"item {b} uses a forbidden pair"
        scale = 1.0 + item[:n, :m].abs().nan_to_num(posinf=0.0, neginf=0.0).sum().item()
        assert math.isclose(total, best, rel_tol=1e-9, abs_tol=1e-12 * scale), (b, total, best)


@st.composite
def assignment_args(draw: st.DrawFn, large: bool = False) -> tuple:
    """(cost [B, N, M], sizes [B, 2] or None, maximize), always feasible.

    Costs are continuous (a unique optimum) or small integers (many tied
    optima); some entries are forbidden, but a complete assignment always
    avoids them. Padding, when there is some, is NaN: the kernel must not read it.
    """
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    if large:  # enough items and work per item to fan out over many chunks
        batch, rows, cols = draw(st.integers(12, 32)), draw(st.integers(6, 20)), draw(st.integers(6, 20))
    else:
        batch, rows, cols = draw(st.integers(0, 4)), draw(st.integers(0, 6)), draw(st.integers(0, 6))
    maximize = draw(st.booleans())
    padded = draw(st.booleans())
    forbidden_fraction = draw(st.sampled_from([0.0, 0.3, 0.7]))
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        cost = torch.randint(0, 4, (batch, rows, cols), generator=generator).to(dtype)
    else:
        cost = (torch.rand((batch, rows, cols), generator=generator, dtype=torch.float64) * 200
                - 100).to(dtype)
    sizes = None
    if padded:
        sizes = torch.stack([torch.randint(0, rows + 1, (batch,), generator=generator),
                             torch.randint(0, cols + 1, (batch,), generator=generator)], dim=1)
    for b, (n, m) in enumerate(item_shapes(cost, sizes)):
        item = cost[b, :n, :m]
        forbidden = torch.rand((n, m), generator=generator) < forbidden_fraction
        k = min(n, m)  # keep one complete assignment allowed
        forbidden[torch.randperm(n, generator=generator)[:k],
                  torch.randperm(m, generator=generator)[:k]] = False
        item[forbidden] = -math.inf if maximize else math.inf
        if padded:
            cost[b, n:, :] = math.nan
            cost[b, :, m:] = math.nan
    layouts = st.sampled_from(LAYOUTS)
    cost = with_layout(cost, draw(layouts))
    if sizes is not None:
        sizes = with_layout(sizes, draw(layouts))
    return cost, sizes, maximize


def assignment_bad_inputs(args: tuple) -> list[BadInput]:
    cost, sizes, maximize = args
    batch, rows, cols = cost.shape
    full_sizes = torch.tensor([[rows, cols]] * batch, dtype=torch.int64).reshape(batch, 2)
    cases = [
        BadInput("integer cost", (cost.long(), sizes, maximize),
                 rf"{OP}: argument 'cost' must be float32 or float64, got int64"),
        BadInput("2-D cost", (cost.flatten(0, 1), sizes, maximize),
                 rf"{OP}: argument 'cost' must be a 3-D tensor \[B, N, M\], got 2-D"),
        BadInput("int32 sizes", (cost, full_sizes.int(), maximize),
                 rf"{OP}: argument 'sizes' must be int64, got int32"),
        BadInput("sizes of triples", (cost, torch.cat([full_sizes, full_sizes[:, :1]], 1),
                                      maximize),
                 rf"{OP}: argument 'sizes' has size 3 in dimension 1"),
        BadInput("sizes for another batch", (cost, torch.zeros(batch + 1, 2, dtype=torch.int64),
                                             maximize),
                 rf"{OP}: argument 'sizes' has size {batch + 1} in dimension 0 but the batch"),
        BadInput("sizes on another device", (cost, full_sizes.to("meta"), maximize),
                 rf"{OP}: argument 'sizes' is on meta but 'cost' is on cpu"),
    ]
    if batch == 0:
        return cases
    last = batch - 1
    too_big = full_sizes.clone()
    too_big[last, 0] = rows + 1
    cases.append(BadInput("size beyond the padding", (cost, too_big, maximize),
                          rf"{OP}: sizes\[{last}\] = \({rows + 1}, {cols}\) is outside"))
    if rows == 0 or cols == 0:
        return cases
    forbidden, wrong = (-math.inf, math.inf) if maximize else (math.inf, -math.inf)
    # Whole matrices (sizes=None), so the padding's NaN must go first.
    clean = cost.nan_to_num(nan=0.0, posinf=math.inf, neginf=-math.inf)
    with_nan, with_wrong_inf, infeasible = (clean.clone() for _ in range(3))
    with_nan[last, 0, 0] = math.nan
    with_wrong_inf[last, -1, -1] = wrong
    if rows <= cols:
        infeasible[last, 0, :] = forbidden  # row 0 can take no column
    else:
        infeasible[last, :, 0] = forbidden  # column 0 can take no row
    return cases + [
        BadInput("NaN cost", (with_nan, None, maximize), rf"{OP}: cost\[{last}\] contains NaN"),
        BadInput("infinity of the wrong sign", (with_wrong_inf, None, maximize),
                 rf"{OP}: cost\[{last}\] contains {'[+]' if maximize else '-'}inf"),
        BadInput("infeasible item", (infeasible, None, maximize),
                 rf"{OP}: cost\[{last}\] is infeasible"),
    ]


SPECS = [
    OpSpec(
        name="linear_sum_assignment",
        call_wrapper=assignment.linear_sum_assignment,
        reference=scipy_reference,
        sample_args=lambda large=False: assignment_args(large=large),
        bad_inputs=assignment_bad_inputs,
        compare=assert_optimal,
    ),
]
