"""The spec of user_ops::lcs_length for torch_mt's harness (docs/custom_ops.md).

from spec import SPEC, build
build()                                          # compile (cached) and load lcs.cpp
torch_mt.testing.check_operator(SPEC)            # or operator_tests([SPEC]) in pytest
"""

from __future__ import annotations

import os

import torch
from hypothesis import strategies as st

import torch_mt.cpp_extension
from torch_mt.testing import LAYOUTS, BadInput, OpSpec, padded_sequences, rows_of, with_layout

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(os.path.dirname(os.path.dirname(HERE)), "build", "user_op")


def build() -> None:
    """Compiles lcs.cpp against torch_mt's runtime (cached) and loads it."""
    torch_mt.cpp_extension.load(
        "user_op_lcs", [os.path.join(HERE, "lcs.cpp")], build_directory=BUILD
    )


def lcs_length(a, b, *, a_lengths=None, b_lengths=None) -> torch.Tensor:
    """The Python wrapper: LCS length of each pair of padded int64 sequences, in parallel.

    Args:
        a: int64 ``[B, La]``.
        b: int64 ``[B, Lb]``.
        a_lengths: int64 ``[B]`` or None (whole rows).
        b_lengths: int64 ``[B]`` or None.

    Returns:
        int64 ``[B]``.
    """
    return torch.ops.user_ops.lcs_length(a, b, a_lengths, b_lengths)


def lcs_reference(a, b, a_lengths=None, b_lengths=None) -> torch.Tensor:
    """The textbook dynamic programme, in plain Python."""

    def lcs(x: list[int], y: list[int]) -> int:
        previous = [0] * (len(y) + 1)
        for token in x:
            current = [0]
            for j, other in enumerate(y, start=1):
                current.append(
                    previous[j - 1] + 1 if token == other else max(previous[j], current[j - 1])
                )
            previous = current
        return previous[-1]

    pairs = zip(rows_of(a, a_lengths), rows_of(b, b_lengths))
    return torch.tensor([lcs(x, y) for x, y in pairs], dtype=torch.int64)


@st.composite
def lcs_args(draw: st.DrawFn, large: bool = False) -> tuple:
    batch = draw(st.integers(100, 300) if large else st.integers(0, 5))
    sizes = dict(min_width=20, max_width=40) if large else dict(max_width=10)
    a, a_lengths = draw(padded_sequences(batch=batch, dtype=torch.int64, **sizes))
    b, b_lengths = draw(padded_sequences(batch=batch, dtype=torch.int64, **sizes))
    layouts = st.sampled_from(LAYOUTS)
    a, b = with_layout(a, draw(layouts)), with_layout(b, draw(layouts))
    return (
        a,
        b,
        a_lengths if draw(st.booleans()) else None,
        b_lengths if draw(st.booleans()) else None,
    )


def lcs_bad_inputs(args: tuple) -> list[BadInput]:
    a, b, _, _ = args
    op = "user_ops::lcs_length"
    cases = [
        BadInput(
            "int32 tokens",
            (a.int(), b, None, None),
            rf"{op}: argument 'a' must be int64",
            error=TypeError,
        ),
        BadInput(
            "1-D tokens", (a, b.flatten(), None, None), rf"{op}: argument 'b' must be a 2-D tensor"
        ),
        BadInput(
            "batch mismatch",
            (a, torch.cat([b, b.new_zeros(1, b.shape[1])]), None, None),
            rf"{op}: argument 'b' has size {b.shape[0] + 1} in dimension 0",
        ),
    ]
    if a.shape[0] > 0:
        too_long = torch.full((a.shape[0],), a.shape[1] + 1)
        cases.append(
            BadInput(
                "length beyond width",
                (a, b, too_long, None),
                rf"{op}: a_lengths\[0\] = {a.shape[1] + 1} is outside",
            )
        )
    return cases


SPEC = OpSpec(
    name="lcs_length",
    namespace="user_ops",
    wrapper=lcs_length,
    reference=lcs_reference,
    sample_args=lcs_args,
    bad_inputs=lcs_bad_inputs,
    # The fresh interpreter of the TorchScript check loads the library too.
    setup_code=f"import sys; sys.path.insert(0, {HERE!r}); import spec; spec.build()",
)
