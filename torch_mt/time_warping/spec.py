"""OpSpecs of the time-warping family (ops/time_warping/).

References: plain-Python dynamic programmes written for the tests (value and
path) and, for the gradient, autograd through the vectorised anti-diagonal
soft-DTW of reference.py — an algorithm the kernel does not use.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Optional

import torch
from hypothesis import strategies as st
from torch import Tensor

from ..testing import LAYOUTS, BadInput, OpSpec, cost_batches, with_layout
from .reference import (
    dtw_path_reference,
    dtw_reference,
    dtw_series_reference,
    soft_dtw_backward_backward_reference,
    soft_dtw_backward_reference,
    soft_dtw_reference,
    soft_dtw_series_backward_reference,
    soft_dtw_series_reference,
)

GAMMAS = st.one_of(st.sampled_from([0.01, 0.1, 1.0, 10.0]), st.floats(0.05, 5.0))


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
) -> list[BadInput]:
    """What every series op refuses, with args ``(x, y, x_lengths, y_lengths)``."""
    batch, rows, features = x.shape
    other_dtype = torch.float32 if x.dtype == torch.float64 else torch.float64
    full_x = torch.full((batch,), rows, dtype=torch.int64)
    cases = [
        (
            "integer x",
            (x.nan_to_num().long(), y, x_lengths, y_lengths),
            rf"{op}: argument 'x' must be float32 or float64, got int64",
            TypeError,
        ),
        (
            "y of another dtype",
            (x, y.to(other_dtype), x_lengths, y_lengths),
            rf"{op}: argument 'y' must be {str(x.dtype)[6:]} like 'x', got {str(other_dtype)[6:]}",
            TypeError,
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
            TypeError,
        ),
    ]
    if batch == 0:
        return [BadInput(*case) for case in cases]
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
        return [BadInput(*case) for case in cases]
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
    return [BadInput(*case) for case in cases]


def dtw_series_bad_inputs(args: tuple) -> list[BadInput]:
    return series_bad_inputs("mt::dtw_series", *args)


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
        replace(case, args=(bx, by, gamma, bxl, byl))
        for case in series_bad_inputs(op, x, y, x_lengths, y_lengths)
        for bx, by, bxl, byl in [case.args]
    ]
    return cases + _gamma_cases(op, lambda g: (x, y, g, x_lengths, y_lengths))


def soft_dtw_series_backward_bad_inputs(args: tuple) -> list[BadInput]:
    grad, x, y, gamma, x_lengths, y_lengths = args
    op = "mt::soft_dtw_series_backward"
    cases = [
        replace(case, args=(grad, bx, by, gamma, bxl, byl))
        for case in series_bad_inputs(op, x, y, x_lengths, y_lengths)
        for bx, by, bxl, byl in [case.args]
    ]
    return (
        cases
        + [
            BadInput(
                "grad of another dtype",
                (grad.to(torch.float16), x, y, gamma, x_lengths, y_lengths),
                rf"{op}: argument 'grad' must be {str(x.dtype)[6:]}",
                error=TypeError,
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


def cost_bad_inputs(
    op: str, cost: Tensor, n_lengths: Optional[Tensor], m_lengths: Optional[Tensor]
) -> list[BadInput]:
    """What every DTW op refuses, with args ``(cost, n_lengths, m_lengths)``."""
    batch, rows, cols = cost.shape
    full_n = torch.full((batch,), rows, dtype=torch.int64)
    cases = [
        (
            "integer cost",
            (cost.long(), n_lengths, m_lengths),
            rf"{op}: argument 'cost' must be float32 or float64, got int64",
            TypeError,
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
            TypeError,
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
        return [BadInput(*case) for case in cases]
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
        return [BadInput(*case) for case in cases]
    clean = cost.nan_to_num(nan=1.0, posinf=math.inf, neginf=-math.inf)
    with_nan, with_minus_inf = clean.clone(), clean.clone()
    with_nan[last, -1, 0] = math.nan
    with_minus_inf[last, 0, -1] = -math.inf
    cases += [
        ("NaN cost", (with_nan, None, None), rf"{op}: cost\[{last}\] contains NaN"),
        ("-inf cost", (with_minus_inf, None, None), rf"{op}: cost\[{last}\] contains -inf"),
    ]
    return [BadInput(*case) for case in cases]


def _hard_bad_inputs(op: str):
    def bad_inputs(args: tuple) -> list[BadInput]:
        return cost_bad_inputs(op, *args)

    return bad_inputs


def soft_dtw_bad_inputs(args: tuple) -> list[BadInput]:
    cost, gamma, n_lengths, m_lengths = args
    op = "mt::soft_dtw"
    cases = [
        replace(case, args=(c, gamma, n, m))
        for case in cost_bad_inputs(op, cost, n_lengths, m_lengths)
        for c, n, m in [case.args]
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
        replace(case, args=(grad, c, gamma, n, m))
        for case in cost_bad_inputs(op, cost, n_lengths, m_lengths)
        for c, n, m in [case.args]
    ]
    return cases + [
        BadInput(
            "grad of another dtype",
            (grad.to(torch.float16), cost, gamma, n_lengths, m_lengths),
            rf"{op}: argument 'grad' must be {str(cost.dtype).removeprefix('torch.')}",
            error=TypeError,
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
        replace(case, args=(grad_grad, grad, c, gamma, n, m))
        for case in cost_bad_inputs(op, cost, n_lengths, m_lengths)
        for c, n, m in [case.args]
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
