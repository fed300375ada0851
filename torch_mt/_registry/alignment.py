"""OpSpecs of the DTW family (ops/dtw.cpp).

References: plain-Python dynamic programmes written for the tests (value and
path) and, for the gradient, autograd through the vectorised anti-diagonal
soft-DTW of torch_mt.reference — an algorithm the kernel does not use.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

import torch
from hypothesis import strategies as st
from torch import Tensor

from ..bench.workload import Arm, Workload, all_threads, close, peer, small_workload
from ..reference import soft_dtw_antidiagonal
from ..testing import LAYOUTS, BadInput, OpSpec, cost_batches, with_layout

GAMMAS = st.one_of(st.sampled_from([0.01, 0.1, 1.0, 10.0]), st.floats(0.05, 5.0))


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


def assert_close_for_dtype(actual, expected, args: tuple) -> None:
    """Agreement to rounding: both sides compute in float64 (in different orders)
    and round once to the inputs' dtype. Absolute errors scale with the
    largest entry (second derivatives grow like 1 / gamma)."""
    if isinstance(expected, tuple):
        assert isinstance(actual, tuple) and len(actual) == len(expected)
        for actual_part, expected_part in zip(actual, expected):
            assert_close_for_dtype(actual_part, expected_part, args)
        return
    tolerance = {torch.float64: 1e-9, torch.float32: 2e-6}[expected.dtype]
    largest = (
        expected.double().nan_to_num(posinf=0.0, neginf=0.0).abs().max().item()
        if expected.numel()
        else 0.0
    )
    torch.testing.assert_close(actual, expected, rtol=tolerance, atol=tolerance * max(1.0, largest))


@st.composite
def soft_dtw_args(draw: st.DrawFn, large: bool = False) -> tuple:
    cost, n_lengths, m_lengths = draw(cost_batches(large=large))
    return cost, draw(GAMMAS), n_lengths, m_lengths


@st.composite
def soft_dtw_backward_args(draw: st.DrawFn, large: bool = False) -> tuple:
    cost, gamma, n_lengths, m_lengths = draw(soft_dtw_args(large=large))
    grad = torch.randn(
        cost.shape[0],
        dtype=torch.float64,
        generator=torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1))),
    )
    return grad.to(cost.dtype), cost, gamma, n_lengths, m_lengths


@st.composite
def soft_dtw_backward_backward_args(draw: st.DrawFn, large: bool = False) -> tuple:
    grad, cost, gamma, n_lengths, m_lengths = draw(soft_dtw_backward_args(large=large))
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    grad_grad = torch.randn(cost.shape, dtype=torch.float64, generator=generator).to(cost.dtype)
    return (
        with_layout(grad_grad, draw(st.sampled_from(LAYOUTS))),
        grad,
        cost,
        gamma,
        n_lengths,
        m_lengths,
    )


@st.composite
def series_pairs(draw: st.DrawFn, large: bool = False) -> tuple:
    """``(x [B, N, D], y [B, M, D], x_lengths or None, y_lengths or None)``:
    values continuous or small integers (tied optima), padding past the
    lengths NaN (the kernel must never read it). ``large``: 8-24 items of
    30-60 steps, several lane groups and chunks; else up to 6 items (a group
    of four and one with idle lanes) of up to 6 steps, 0-3 features."""
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    if large:
        batch, rows, cols = (
            draw(st.integers(8, 24)),
            draw(st.integers(30, 60)),
            draw(st.integers(30, 60)),
        )
    else:
        batch, rows, cols = (
            draw(st.integers(0, 6)),
            draw(st.integers(0, 6)),
            draw(st.integers(0, 6)),
        )
    features = draw(st.integers(0 if not large else 1, 3))
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))

    def series(steps: int) -> Tensor:
        if draw(st.booleans()):
            values = torch.randint(-2, 3, (batch, steps, features), generator=generator)
        else:
            values = (
                torch.randn((batch, steps, features), generator=generator, dtype=torch.float64) * 3
            )
        return values.to(dtype)

    x, y = series(rows), series(cols)
    lengths = []
    for padded, steps in ((x, rows), (y, cols)):
        item_lengths = None
        if draw(st.booleans()):
            item_lengths = torch.randint(0, steps + 1, (batch,), generator=generator)
            for b, length in enumerate(item_lengths.tolist()):
                padded[b, length:] = math.nan
        lengths.append(item_lengths)
    layouts = st.sampled_from(LAYOUTS)
    return tuple(with_layout(t, draw(layouts)) if t is not None else None for t in (x, y, *lengths))


def series_bad_inputs(
    op: str, x: Tensor, y: Tensor, x_lengths: Optional[Tensor], y_lengths: Optional[Tensor]
) -> list[tuple[str, tuple, str]]:
    """(description, (x, y, x_lengths, y_lengths), message) every series op refuses."""
    batch, rows, features = x.shape
    other_dtype = torch.float32 if x.dtype == torch.float64 else torch.float64
    full_x = torch.full((batch,), rows, dtype=torch.int64)
    cases = [
        (
            "integer x",
            (x.nan_to_num().long(), y, x_lengths, y_lengths),
            rf"{op}: argument 'x' must be float32 or float64, got int64",
        ),
        (
            "y of another dtype",
            (x, y.to(other_dtype), x_lengths, y_lengths),
            rf"{op}: argument 'y' must be {str(x.dtype)[6:]} like 'x', got {str(other_dtype)[6:]}",
        ),
        (
            "4-D x",
            (x.unsqueeze(0), y, x_lengths, y_lengths),
            rf"{op}: argument 'x' must be a 3-D tensor \[B, N, D\], got 4-D",
        ),
        (
            "2-D y",
            (x, y[..., 0] if features else y.flatten(1), x_lengths, y_lengths),
            rf"{op}: argument 'y' must be a 3-D tensor \[B, M, D\], got 2-D",
        ),
        (
            "features that differ",
            (x, torch.zeros(batch, 2, features + 1, dtype=x.dtype), x_lengths, None),
            rf"{op}: argument 'y' has size {features + 1} in dimension 2 but the number of "
            rf"features of 'x' is {features}",
        ),
        (
            "batch sizes that differ",
            (x, torch.zeros(batch + 1, 2, features, dtype=x.dtype), x_lengths, None),
            rf"{op}: argument 'y' has size {batch + 1} in dimension 0 but the batch size of 'x'",
        ),
        (
            "int32 lengths",
            (x, y, full_x.int(), y_lengths),
            rf"{op}: argument 'x_lengths' must be int64, got int32",
        ),
    ]
    if batch == 0:
        return cases
    last = batch - 1
    too_long = full_x.clone()
    too_long[last] = rows + 1
    cases.append(
        (
            "length beyond the padding",
            (x, y, too_long, y_lengths),
            rf"{op}: x_lengths\[{last}\] = {rows + 1} is outside \[0, {rows}\]",
        )
    )
    if rows == 0 or features == 0:
        return cases
    for value, name in ((math.nan, "NaN"), (math.inf, "inf"), (-math.inf, "-inf")):
        clean = x.nan_to_num(nan=0.0)
        clean[last, rows - 1, features - 1] = value
        cases.append(
            (
                f"{name} in x",
                (clean, y.nan_to_num(nan=0.0), None, None),
                rf"{op}: x\[{last}\] contains NaN or inf",
            )
        )
    return cases


def dtw_series_bad_inputs(args: tuple) -> list[BadInput]:
    return [BadInput(*case) for case in series_bad_inputs("mt::dtw_series", *args)]


def _gamma_cases(op: str, with_gamma: Callable[[float], tuple]) -> list[BadInput]:
    return [
        BadInput(
            f"gamma {text}", with_gamma(value), rf"{op}: argument 'gamma' must be > 0, got {text}"
        )
        for value, text in ((0.0, "0"), (-1.0, "-1"), (math.nan, "nan"))
    ]


def soft_dtw_series_bad_inputs(args: tuple) -> list[BadInput]:
    x, y, gamma, x_lengths, y_lengths = args
    op = "mt::soft_dtw_series"
    cases = [
        BadInput(description, (bx, by, gamma, bxl, byl), match)
        for description, (bx, by, bxl, byl), match in series_bad_inputs(
            op, x, y, x_lengths, y_lengths
        )
    ]
    return cases + _gamma_cases(op, lambda g: (x, y, g, x_lengths, y_lengths))


def soft_dtw_series_backward_bad_inputs(args: tuple) -> list[BadInput]:
    grad, x, y, gamma, x_lengths, y_lengths = args
    op = "mt::soft_dtw_series_backward"
    cases = [
        BadInput(description, (grad, bx, by, gamma, bxl, byl), match)
        for description, (bx, by, bxl, byl), match in series_bad_inputs(
            op, x, y, x_lengths, y_lengths
        )
    ]
    return (
        cases
        + [
            BadInput(
                "grad of another dtype",
                (grad.to(torch.float16), x, y, gamma, x_lengths, y_lengths),
                rf"{op}: argument 'grad' must be {str(x.dtype)[6:]}",
            ),
            BadInput(
                "grad of another batch",
                (torch.zeros(x.shape[0] + 1, dtype=x.dtype), x, y, gamma, x_lengths, y_lengths),
                rf"{op}: argument 'grad' has size {x.shape[0] + 1} in dimension 0",
            ),
        ]
        + _gamma_cases(op, lambda g: (grad, x, y, g, x_lengths, y_lengths))
    )


@st.composite
def soft_dtw_series_args(draw: st.DrawFn, large: bool = False) -> tuple:
    x, y, x_lengths, y_lengths = draw(series_pairs(large=large))
    return x, y, draw(GAMMAS), x_lengths, y_lengths


@st.composite
def soft_dtw_series_backward_args(draw: st.DrawFn, large: bool = False) -> tuple:
    x, y, gamma, x_lengths, y_lengths = draw(soft_dtw_series_args(large=large))
    grad = torch.randn(
        x.shape[0],
        dtype=torch.float64,
        generator=torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1))),
    )
    return grad.to(x.dtype), x, y, gamma, x_lengths, y_lengths


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


def cost_bad_inputs(
    op: str, cost: Tensor, n_lengths: Optional[Tensor], m_lengths: Optional[Tensor]
) -> list[tuple[str, tuple, str]]:
    """(description, (cost, n_lengths, m_lengths), message) every DTW op refuses."""
    batch, rows, cols = cost.shape
    full_n = torch.full((batch,), rows, dtype=torch.int64)
    cases = [
        (
            "integer cost",
            (cost.long(), n_lengths, m_lengths),
            rf"{op}: argument 'cost' must be float32 or float64, got int64",
        ),
        (
            "2-D cost",
            (cost.flatten(0, 1), None, None),
            rf"{op}: argument 'cost' must be a 3-D tensor \[B, N, M\], got 2-D",
        ),
        (
            "int32 lengths",
            (cost, full_n.int(), m_lengths),
            rf"{op}: argument 'n_lengths' must be int64, got int32",
        ),
        (
            "lengths of another batch",
            (cost, n_lengths, torch.zeros(batch + 1, dtype=torch.int64)),
            rf"{op}: argument 'm_lengths' has size {batch + 1} in dimension 0 but the batch size",
        ),
        (
            "lengths on another device",
            (cost, full_n.to("meta"), m_lengths),
            rf"{op}: argument 'n_lengths' is on meta but 'cost' is on cpu",
        ),
    ]
    if batch == 0:
        return cases
    last = batch - 1
    too_long = full_n.clone()
    too_long[last] = rows + 1
    cases.append(
        (
            "length beyond the padding",
            (cost, too_long, m_lengths),
            rf"{op}: n_lengths\[{last}\] = {rows + 1} is outside \[0, {rows}\]",
        )
    )
    if rows == 0 or cols == 0:
        return cases
    clean = cost.nan_to_num(nan=1.0, posinf=math.inf, neginf=-math.inf)
    with_nan, with_minus_inf = clean.clone(), clean.clone()
    with_nan[last, -1, 0] = math.nan
    with_minus_inf[last, 0, -1] = -math.inf
    return cases + [
        ("NaN cost", (with_nan, None, None), rf"{op}: cost\[{last}\] contains NaN"),
        ("-inf cost", (with_minus_inf, None, None), rf"{op}: cost\[{last}\] contains -inf"),
    ]


def _hard_bad_inputs(op: str):
    def bad_inputs(args: tuple) -> list[BadInput]:
        return [BadInput(*case) for case in cost_bad_inputs(op, *args)]

    return bad_inputs


def soft_dtw_bad_inputs(args: tuple) -> list[BadInput]:
    cost, gamma, n_lengths, m_lengths = args
    op = "mt::soft_dtw"
    cases = [
        BadInput(description, (c, gamma, n, m), match)
        for description, (c, n, m), match in cost_bad_inputs(op, cost, n_lengths, m_lengths)
    ]
    return cases + [
        BadInput(
            "zero gamma",
            (cost, 0.0, n_lengths, m_lengths),
            rf"{op}: argument 'gamma' must be > 0, got 0",
        ),
        BadInput(
            "negative gamma",
            (cost, -1.0, n_lengths, m_lengths),
            rf"{op}: argument 'gamma' must be > 0, got -1",
        ),
        BadInput(
            "NaN gamma",
            (cost, math.nan, n_lengths, m_lengths),
            rf"{op}: argument 'gamma' must be > 0, got nan",
        ),
    ]


def soft_dtw_backward_bad_inputs(args: tuple) -> list[BadInput]:
    grad, cost, gamma, n_lengths, m_lengths = args
    op = "mt::soft_dtw_backward"
    cases = [
        BadInput(description, (grad, c, gamma, n, m), match)
        for description, (c, n, m), match in cost_bad_inputs(op, cost, n_lengths, m_lengths)
    ]
    return cases + [
        BadInput(
            "grad of another dtype",
            (grad.to(torch.float16), cost, gamma, n_lengths, m_lengths),
            rf"{op}: argument 'grad' must be {str(cost.dtype).removeprefix('torch.')}",
        ),
        BadInput(
            "grad of another batch",
            (torch.zeros(cost.shape[0] + 1, dtype=cost.dtype), cost, gamma, n_lengths, m_lengths),
            rf"{op}: argument 'grad' has size {cost.shape[0] + 1} in dimension 0",
        ),
        BadInput(
            "zero gamma",
            (grad, cost, 0.0, n_lengths, m_lengths),
            rf"{op}: argument 'gamma' must be > 0, got 0",
        ),
    ]


def soft_dtw_backward_backward_bad_inputs(args: tuple) -> list[BadInput]:
    grad_grad, grad, cost, gamma, n_lengths, m_lengths = args
    op = "mt::soft_dtw_backward_backward"
    cases = [
        BadInput(description, (grad_grad, grad, c, gamma, n, m), match)
        for description, (c, n, m), match in cost_bad_inputs(op, cost, n_lengths, m_lengths)
    ]
    return cases + [
        BadInput(
            "grad_grad of another shape",
            (
                torch.zeros(*cost.shape[:2], cost.shape[2] + 1, dtype=cost.dtype),
                grad,
                cost,
                gamma,
                n_lengths,
                m_lengths,
            ),
            rf"{op}: argument 'grad_grad' has size {cost.shape[2] + 1} in dimension 2",
        ),
        BadInput(
            "zero gamma",
            (grad_grad, grad, cost, 0.0, n_lengths, m_lengths),
            rf"{op}: argument 'gamma' must be > 0, got 0",
        ),
    ]


SPECS = [
    OpSpec(
        name="dtw",
        reference=dtw_reference,
        sample_args=cost_batches,
        bad_inputs=_hard_bad_inputs("mt::dtw"),
        compare=assert_close_for_dtype,
    ),
    OpSpec(
        name="dtw_path",
        reference=dtw_path_reference,
        sample_args=cost_batches,
        bad_inputs=_hard_bad_inputs("mt::dtw_path"),
    ),
    OpSpec(
        name="dtw_series",
        reference=dtw_series_reference,
        sample_args=series_pairs,
        bad_inputs=dtw_series_bad_inputs,
        compare=assert_close_for_dtype,
    ),
    OpSpec(
        name="soft_dtw_series",
        reference=soft_dtw_series_reference,
        sample_args=soft_dtw_series_args,
        bad_inputs=soft_dtw_series_bad_inputs,
        compare=assert_close_for_dtype,
    ),
    OpSpec(
        name="soft_dtw_series_backward",
        derivative_of="soft_dtw_series",
        reference=soft_dtw_series_backward_reference,
        sample_args=soft_dtw_series_backward_args,
        bad_inputs=soft_dtw_series_backward_bad_inputs,
        compare=assert_close_for_dtype,
    ),
    OpSpec(
        name="soft_dtw",
        reference=soft_dtw_reference,
        sample_args=soft_dtw_args,
        bad_inputs=soft_dtw_bad_inputs,
        compare=assert_close_for_dtype,
    ),
    OpSpec(
        name="soft_dtw_backward",
        derivative_of="soft_dtw",
        reference=soft_dtw_backward_reference,
        sample_args=soft_dtw_backward_args,
        bad_inputs=soft_dtw_backward_bad_inputs,
        compare=assert_close_for_dtype,
    ),
    OpSpec(
        name="soft_dtw_backward_backward",
        derivative_of="soft_dtw_backward",
        reference=soft_dtw_backward_backward_reference,
        sample_args=soft_dtw_backward_backward_args,
        bad_inputs=soft_dtw_backward_backward_bad_inputs,
        compare=assert_close_for_dtype,
    ),
]


# ---- benchmark workloads ------------------------------------------------------------


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


def _soft_dtw_series_workloads(quick: bool) -> list[Workload]:
    """Soft-DTW loss and its gradient with respect to the series, 64 pairs of
    256 steps of 1 and of 16 features (float64), against tslearn's numba
    SoftDTW on its SquaredEuclidean costs chained back to x (jacobian_product)
    per item, and against mt::soft_dtw on a cost tensor built by torch.cdist."""
    batch, steps, gamma = (16, 64, 0.1) if quick else (64, 256, 0.1)
    workloads = []
    for features in (1, 16):
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
