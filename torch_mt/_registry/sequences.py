"""OpSpecs of the edit-distance operators (ops/edit_distance.cpp)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from hypothesis import strategies as st
from torch import Tensor

from .. import sequences
from ..testing import LAYOUTS, padded_sequences, rows_of, with_layout
from . import BadInput, OpSpec


def levenshtein_reference(x: list[int], y: list[int]) -> int:
    """Textbook Levenshtein dynamic programme, in plain Python."""
    previous = list(range(len(y) + 1))
    for i, x_token in enumerate(x, start=1):
        current = [i]
        for j, y_token in enumerate(y, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x_token != y_token))
            )
        previous = current
    return previous[-1]


def _edit_distance_reference(a: Tensor, a_lengths: Tensor, b: Tensor, b_lengths: Tensor) -> Tensor:
    pairs = zip(rows_of(a, a_lengths), rows_of(b, b_lengths))
    return torch.tensor([levenshtein_reference(x, y) for x, y in pairs], dtype=torch.int64)


def _edit_distance_pairwise_reference(
    a: Tensor, a_lengths: Tensor, b: Tensor, b_lengths: Tensor
) -> Tensor:
    b_rows = rows_of(b, b_lengths)
    grid = [[levenshtein_reference(x, y) for y in b_rows] for x in rows_of(a, a_lengths)]
    return torch.tensor(grid, dtype=torch.int64).reshape(len(grid), len(b_rows))


@st.composite
def _edit_distance_args(draw: st.DrawFn, pairwise: bool, large: bool = False) -> tuple:
    dtype = draw(st.sampled_from([torch.int32, torch.int64]))
    if large:  # enough DP cells that the kernel cuts the batch into many chunks
        sizes = dict(min_width=16, max_width=40)
        batch_a = draw(st.integers(20, 48) if pairwise else st.integers(200, 400))
        batch_b = draw(st.integers(20, 48)) if pairwise else batch_a
    else:
        sizes = dict(max_width=10)
        batch_a = draw(st.integers(0, 5))
        batch_b = draw(st.integers(0, 5)) if pairwise else batch_a
    a, a_lengths = draw(padded_sequences(batch=batch_a, dtype=dtype, **sizes))
    b, b_lengths = draw(padded_sequences(batch=batch_b, dtype=dtype, **sizes))
    layouts = st.sampled_from(LAYOUTS)
    return tuple(with_layout(t, draw(layouts)) for t in (a, a_lengths, b, b_lengths))


def _edit_distance_bad_inputs(op: str, pairwise: bool) -> Callable[[tuple], list[BadInput]]:
    def bad_inputs(args: tuple) -> list[BadInput]:
        a, a_lengths, b, b_lengths = (t.contiguous() for t in args)
        other_dtype = torch.int64 if a.dtype == torch.int32 else torch.int32
        zero_length = torch.zeros(1, dtype=torch.int64)
        cases = [
            BadInput("float tokens", (a.float(), a_lengths, b, b_lengths),
                     rf"{op}: argument 'a' must be int32 or int64"),
            BadInput("bool tokens", (a, a_lengths, b.bool(), b_lengths),
                     rf"{op}: argument 'b' must be int32 or int64"),
            BadInput("dtype mismatch", (a, a_lengths, b.to(other_dtype), b_lengths),
                     rf"{op}: arguments 'a' and 'b' must have the same dtype"),
            BadInput("1-D tokens", (a.flatten(), a_lengths, b, b_lengths),
                     rf"{op}: argument 'a' must be a 2-D tensor"),
            BadInput("3-D tokens", (a, a_lengths, b.unsqueeze(0), b_lengths),
                     rf"{op}: argument 'b' must be a 2-D tensor"),
            BadInput("int32 lengths", (a, a_lengths.int(), b, b_lengths),
                     rf"{op}: argument 'a_lengths' must be int64"),
            BadInput("2-D lengths", (a, a_lengths, b, b_lengths.unsqueeze(1)),
                     rf"{op}: argument 'b_lengths' must be a 1-D tensor"),
            BadInput("lengths batch mismatch", (a, torch.cat([a_lengths, zero_length]), b,
                     b_lengths), rf"{op}: argument 'a_lengths' has"),
            BadInput("lengths on another device", (a, a_lengths, b, b_lengths.to("meta")),
                     rf"{op}: argument 'b_lengths' is on meta but 'a' is on cpu"),
        ]
        if a.shape[0] > 0:
            too_long = a_lengths.clone()
            too_long[-1] = a.shape[1] + 1
            cases.append(
                BadInput("length beyond width", (a, too_long, b, b_lengths),
                         rf"{op}: a_lengths\[{a.shape[0] - 1}\] = {a.shape[1] + 1} is outside")
            )
        if b.shape[0] > 0:
            negative = b_lengths.clone()
            negative[0] = -1
            cases.append(
                BadInput("negative length", (a, a_lengths, b, negative),
                         rf"{op}: b_lengths\[0\] = -1 is outside")
            )
        if not pairwise:
            cases.append(
                BadInput("batch mismatch",
                         (a, a_lengths, torch.cat([b, b.new_zeros(1, b.shape[1])]),
                          torch.cat([b_lengths, zero_length])),
                         rf"{op}: 'a' and 'b' must hold the same number of sequences")
            )
        return cases

    return bad_inputs


def _edit_distance_spec(name: str, wrapper: Callable[..., Tensor],
                        reference: Callable[..., Tensor], pairwise: bool) -> OpSpec:
    return OpSpec(
        name=name,
        # The wrappers take (a, b, a_lengths, b_lengths); the operators (a, a_lengths, b, b_lengths).
        call_wrapper=lambda a, a_lengths, b, b_lengths: wrapper(a, b, a_lengths, b_lengths),
        reference=reference,
        sample_args=lambda large=False: _edit_distance_args(pairwise=pairwise, large=large),
        bad_inputs=_edit_distance_bad_inputs(f"mt::{name}", pairwise=pairwise),
    )


SPECS = [
    _edit_distance_spec("edit_distance", sequences.edit_distance,
                        _edit_distance_reference, pairwise=False),
    _edit_distance_spec("edit_distance_pairwise", sequences.edit_distance_pairwise,
                        _edit_distance_pairwise_reference, pairwise=True),
]
