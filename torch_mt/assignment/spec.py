"""OpSpec of mt::linear_sum_assignment (ops/assignment/linear_sum_assignment.cpp).

SciPy is the reference, compared exactly: on tied optima torch_mt returns
SciPy's assignment, index for index. With ``cost_limit`` (implicit rejection)
the reference is lap.lapjv(cost, extend_cost=True, cost_limit=L) (lapx), on
continuous costs: lap's pairs are the only optimum there, and on ties lap
picks its own.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from hypothesis import strategies as st
from torch import Tensor

from ..bench.workload import peer
from ..testing import LAYOUTS, BadInput, OpSpec, with_layout

OP = "mt::linear_sum_assignment"


def item_shapes(
    cost: Tensor, n_lengths: Optional[Tensor], m_lengths: Optional[Tensor]
) -> list[tuple[int, int]]:
    """(n_b, m_b) of every item of a padded batch."""
    batch, rows, cols = cost.shape
    ns = [rows] * batch if n_lengths is None else n_lengths.tolist()
    ms = [cols] * batch if m_lengths is None else m_lengths.tolist()
    return list(zip(ns, ms))


def lap_pairs(item: Tensor, cost_limit: float) -> tuple[Tensor, Tensor]:
    """The pairs lap.lapjv(item, extend_cost=True, cost_limit=cost_limit)
    keeps, rows ascending: the trackers' call."""
    if item.shape[0] == 0 or item.shape[1] == 0:
        empty = torch.zeros(0, dtype=torch.int64)
        return empty, empty
    _, col_for_row, _ = peer("lap").lapjv(
        item.double().numpy(), extend_cost=True, cost_limit=cost_limit
    )
    col_for_row = torch.from_numpy(col_for_row).long()
    kept = col_for_row >= 0
    return torch.arange(len(col_for_row))[kept], col_for_row[kept]


def scipy_reference(
    cost: Tensor,
    n_lengths: Optional[Tensor],
    m_lengths: Optional[Tensor],
    maximize: bool,
    cost_limit: Optional[float] = None,
) -> tuple[Tensor, Tensor]:
    """SciPy on every item (as a NumPy array of the same dtype: SciPy does its
    own conversion to float64), padded with -1 as the operator pads; lap's
    pairs with a finite cost_limit."""
    pairs = min(cost.shape[1], cost.shape[2])
    row_ind = torch.full((cost.shape[0], pairs), -1, dtype=torch.int64)
    col_ind = torch.full((cost.shape[0], pairs), -1, dtype=torch.int64)
    for b, (n, m) in enumerate(item_shapes(cost, n_lengths, m_lengths)):
        item = cost[b, :n, :m]
        item = item.float() if item.dtype in (torch.float16, torch.bfloat16) else item
        if cost_limit is not None and cost_limit < math.inf:
            rows, cols = lap_pairs(item, cost_limit)
        else:
            solve = peer("scipy.optimize").linear_sum_assignment
            rows, cols = map(torch.from_numpy, solve(item.numpy(), maximize=maximize))
        row_ind[b, : len(rows)] = rows
        col_ind[b, : len(cols)] = cols
    return row_ind, col_ind


#: Cost dtypes SciPy accepts (bool and integers are solved in float64).
COST_DTYPES = [
    torch.float32,
    torch.float64,
    torch.int64,
    torch.int32,
    torch.int8,
    torch.uint8,
    # torch's "limited support" unsigned dtypes: SciPy takes them, so must we.
    torch.uint16,
    torch.uint32,
    torch.uint64,
    torch.bool,
]


def _tie_heavy(
    draw: st.DrawFn, generator: torch.Generator, shape: tuple[int, int, int], dtype: torch.dtype
) -> Tensor:
    """Costs with many tied optima: constant, duplicated rows, or a tiny range."""
    kind = draw(st.sampled_from(["constant", "duplicated rows", "tiny range"]))
    if dtype == torch.bool:
        cost = torch.randint(0, 2, shape, generator=generator)
    elif kind == "constant":
        cost = torch.full(shape, draw(st.integers(0, 3)))
    elif kind == "duplicated rows":
        cost = (
            torch.randint(0, 5, (shape[0], 1, shape[2]), generator=generator).expand(shape).clone()
        )
    else:
        cost = torch.randint(0, 3, shape, generator=generator)
    return cost.to(dtype)


@st.composite
def assignment_args(draw: st.DrawFn, large: bool = False) -> tuple:
    """(cost [B, N, M], n_lengths, m_lengths, maximize, cost_limit), always feasible.

    Costs are continuous (a unique optimum) or tie-heavy (constant, duplicated
    rows, a tiny integer range: many tied optima, where SciPy's choice must be
    ours); floating costs have some forbidden entries, but a complete
    assignment always avoids them. Padding, when there is some, is NaN (or
    garbage for integer dtypes): the kernel must not read it. A cost_limit
    (in the costs' range, or +inf) comes with continuous floating costs
    without forbidden entries, minimised: lap's reference has ties of its own.
    """
    dtype = draw(st.sampled_from(COST_DTYPES))
    if large:  # enough items and work per item to fan out over many chunks
        batch, rows, cols = (
            draw(st.integers(12, 32)),
            draw(st.integers(6, 20)),
            draw(st.integers(6, 20)),
        )
    else:
        batch, rows, cols = (
            draw(st.integers(0, 4)),
            draw(st.integers(0, 6)),
            draw(st.integers(0, 6)),
        )
    floating = dtype in (torch.float32, torch.float64)
    cost_limit = None
    if floating and draw(st.booleans()):
        cost_limit = draw(st.sampled_from([math.inf, 0.0, 1.0, 50.0, 120.0, 250.0]))
    maximize = draw(st.booleans()) if cost_limit is None else False
    padded_rows, padded_cols = draw(st.booleans()), draw(st.booleans())
    forbidden_fraction = 0.0
    if floating and cost_limit is None:
        forbidden_fraction = draw(st.sampled_from([0.0, 0.3, 0.7]))
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    if not floating or (cost_limit is None and draw(st.booleans())):
        cost = _tie_heavy(draw, generator, (batch, rows, cols), dtype)
    else:
        cost = (
            torch.rand((batch, rows, cols), generator=generator, dtype=torch.float64) * 200 - 100
        ).to(dtype)
    n_lengths = torch.randint(0, rows + 1, (batch,), generator=generator) if padded_rows else None
    m_lengths = torch.randint(0, cols + 1, (batch,), generator=generator) if padded_cols else None
    for b, (n, m) in enumerate(item_shapes(cost, n_lengths, m_lengths)):
        item = cost[b, :n, :m]
        if forbidden_fraction:
            forbidden = torch.rand((n, m), generator=generator) < forbidden_fraction
            k = min(n, m)  # keep one complete assignment allowed
            forbidden[
                torch.randperm(n, generator=generator)[:k],
                torch.randperm(m, generator=generator)[:k],
            ] = False
            item[forbidden] = -math.inf if maximize else math.inf
        padding = math.nan if floating else 1
        cost[b, n:, :] = padding
        cost[b, :, m:] = padding
    layouts = st.sampled_from(LAYOUTS)
    cost = with_layout(cost, draw(layouts))
    n_lengths, m_lengths = (
        None if t is None else with_layout(t, draw(layouts)) for t in (n_lengths, m_lengths)
    )
    return cost, n_lengths, m_lengths, maximize, cost_limit


def assignment_bad_inputs(args: tuple) -> list[BadInput]:
    cost, n_lengths, m_lengths, maximize, _ = args
    batch, rows, cols = cost.shape
    full_rows = torch.full((batch,), rows, dtype=torch.int64)
    full_cols = torch.full((batch,), cols, dtype=torch.int64)
    cases = [
        BadInput(
            "complex cost",
            (cost.to(torch.complex64), n_lengths, m_lengths, maximize),
            rf"{OP}: argument 'cost' must be real \(floating, integer or bool\), got "
            "complex64",
            error=TypeError,
        ),
        BadInput(
            "2-D cost",
            (cost.flatten(0, 1), None, None, maximize),
            rf"{OP}: argument 'cost' must be a 3-D tensor \[B, N, M\], got 2-D",
        ),
        BadInput(
            "int32 lengths",
            (cost, full_rows.int(), m_lengths, maximize),
            rf"{OP}: argument 'n_lengths' must be int64, got int32",
            error=TypeError,
        ),
        BadInput(
            "2-D lengths",
            (cost, n_lengths, full_cols.unsqueeze(1), maximize),
            rf"{OP}: argument 'm_lengths' must be a 1-D tensor",
        ),
        BadInput(
            "lengths for another batch",
            (cost, torch.zeros(batch + 1, dtype=torch.int64), m_lengths, maximize),
            rf"{OP}: argument 'n_lengths' has size {batch + 1} in dimension 0 but the batch",
        ),
        BadInput(
            "lengths on another device",
            (cost, n_lengths, full_cols.to("meta"), maximize),
            rf"{OP}: argument 'm_lengths' is on meta but 'cost' is on cpu",
        ),
        BadInput(
            "NaN cost_limit",
            (cost, n_lengths, m_lengths, False, math.nan),
            rf"{OP}: cost_limit is NaN",
        ),
        BadInput(
            "negative cost_limit",
            (cost, n_lengths, m_lengths, False, -1.0),
            rf"{OP}: cost_limit must be >= 0 \(got -1\)",
        ),
        BadInput(
            "cost_limit with maximize",
            (cost, n_lengths, m_lengths, True, 1.0),
            rf"{OP}: cost_limit rejects pairs that cost more than it; it has no meaning",
        ),
    ]
    if batch == 0:
        return cases
    last = batch - 1
    too_big = full_rows.clone()
    too_big[last] = rows + 1
    cases.append(
        BadInput(
            "length beyond the padding",
            (cost, too_big, None, maximize),
            rf"{OP}: n_lengths\[{last}\] = {rows + 1} is outside \[0, {rows}\]",
        )
    )
    if rows == 0 or cols == 0 or not cost.dtype.is_floating_point:
        return cases
    forbidden, wrong = (-math.inf, math.inf) if maximize else (math.inf, -math.inf)
    # Whole matrices (no lengths), so the padding's NaN must go first.
    clean = cost.nan_to_num(nan=0.0, posinf=math.inf, neginf=-math.inf)
    with_nan, with_wrong_inf, infeasible = (clean.clone() for _ in range(3))
    with_nan[last, 0, 0] = math.nan
    with_wrong_inf[last, -1, -1] = wrong
    if rows <= cols:
        infeasible[last, 0, :] = forbidden  # row 0 can take no column
    else:
        infeasible[last, :, 0] = forbidden  # column 0 can take no row
    return cases + [
        BadInput(
            "NaN cost", (with_nan, None, None, maximize), rf"{OP}: cost\[{last}\] contains NaN"
        ),
        BadInput(
            "infinity of the wrong sign",
            (with_wrong_inf, None, None, maximize),
            rf"{OP}: cost\[{last}\] contains {'[+]' if maximize else '-'}inf",
        ),
        BadInput(
            "infeasible item",
            (infeasible, None, None, maximize),
            rf"{OP}: cost\[{last}\] is infeasible",
        ),
    ]


SPECS = [
    OpSpec(
        name="linear_sum_assignment",
        reference=scipy_reference,
        sample_args=assignment_args,
        bad_inputs=assignment_bad_inputs,
    ),
]
