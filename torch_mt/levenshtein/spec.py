"""Specs of the edit-distance operators (ops/levenshtein/).

The reference is a textbook Levenshtein dynamic programme in plain Python.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from typing import Optional

import torch
from hypothesis import strategies as st
from torch import Tensor

from ..testing import LAYOUTS, BadInput, OpSpec, padded_sequences, rows_of, with_layout
from . import pad_sequences


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


def _cut(distances: Tensor, max_distance: Optional[int]) -> Tensor:
    """What a cutoff makes of exact distances: min(d, max_distance + 1)."""
    return distances if max_distance is None else distances.clamp(max=max_distance + 1)


def _edit_distance_reference(
    a: Tensor,
    b: Tensor,
    a_lengths: Optional[Tensor] = None,
    b_lengths: Optional[Tensor] = None,
    max_distance: Optional[int] = None,
) -> Tensor:
    pairs = zip(_sequences_of(a, a_lengths), _sequences_of(b, b_lengths))
    distances = [levenshtein_reference(x, y) for x, y in pairs]
    return _cut(torch.tensor(distances, dtype=torch.int64), max_distance)


def _edit_distance_pairwise_reference(
    a: Tensor,
    b: Tensor,
    a_lengths: Optional[Tensor] = None,
    b_lengths: Optional[Tensor] = None,
    max_distance: Optional[int] = None,
) -> Tensor:
    b_rows = _sequences_of(b, b_lengths)
    grid = [[levenshtein_reference(x, y) for y in b_rows] for x in _sequences_of(a, a_lengths)]
    grid = torch.tensor(grid, dtype=torch.int64).reshape(len(grid), len(b_rows))
    return _cut(grid, max_distance)


def _edit_distance_join_reference(
    a: Tensor,
    b: Tensor,
    max_distance: int,
    a_lengths: Optional[Tensor] = None,
    b_lengths: Optional[Tensor] = None,
    diagonal: Optional[int] = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Every cell of the exact grid within the cutoff (and on or above the
    diagonal), in row-major order."""
    grid = _edit_distance_pairwise_reference(a, b, a_lengths, b_lengths).tolist()
    pairs = [
        (i, j, d)
        for i, row in enumerate(grid)
        for j, d in enumerate(row)
        if d <= max_distance and (diagonal is None or j - i >= diagonal)
    ]
    return tuple(torch.tensor([pair[at] for pair in pairs], dtype=torch.int64) for at in range(3))


@st.composite
def _edit_distance_join_args(draw: st.DrawFn, large: bool = False) -> tuple:
    a, b, a_lengths, b_lengths, _ = draw(_edit_distance_args(pairwise=True, large=large))
    max_distance = draw(st.integers(0, 12) | st.just(2**62))
    diagonal = draw(st.none() | st.integers(-6, 6))
    return a, b, max_distance, a_lengths, b_lengths, diagonal


def _edit_distance_join_bad_inputs(args: tuple) -> list[BadInput]:
    """The grid's bad inputs, in the join's argument order and words."""
    a, b, max_distance, a_lengths, b_lengths, _ = args
    grid_cases = _edit_distance_bad_inputs("mt::edit_distance_join", pairwise=True)(
        (a, b, a_lengths, b_lengths)
    )
    cases = []
    for case in grid_cases:
        bad_a, bad_b, bad_a_lengths, bad_b_lengths, *cutoff = case.args
        reordered = (
            bad_a,
            bad_b,
            cutoff[0] if cutoff else max_distance,
            bad_a_lengths,
            bad_b_lengths,
        )
        cases.append(replace(case, args=reordered))
    return cases


#: Cutoffs the strategies draw: none (exact), tight ones that settle most
#: pairs by length or early exit, and loose ones that settle none.
_MAX_DISTANCES = st.none() | st.integers(0, 12) | st.just(2**62)


@st.composite
def _edit_distance_args(draw: st.DrawFn, pairwise: bool, large: bool = False) -> tuple:
    dtype = draw(st.sampled_from([torch.uint8, torch.int16, torch.int32, torch.int64]))
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
    a, b, a_lengths, b_lengths = (
        with_layout(t, draw(layouts)) for t in (a, b, a_lengths, b_lengths)
    )
    # Without lengths, every row is whole; a packed side needs its lengths.
    a_lengths = a_lengths if draw(st.booleans()) else None
    b_lengths = b_lengths if draw(st.booleans()) else None
    if draw(st.booleans()):
        a, a_lengths = _packed(a, a_lengths, draw(layouts), trailing=draw(st.integers(0, 2)))
    if draw(st.booleans()):
        b, b_lengths = _packed(b, b_lengths, draw(layouts), trailing=draw(st.integers(0, 2)))
    return a, b, a_lengths, b_lengths, draw(_MAX_DISTANCES)


def _packed(
    tokens: Tensor, lengths: Optional[Tensor], layout: str, trailing: int
) -> tuple[Tensor, Tensor]:
    """The packed form of a padded side: its sequences one after another (then
    ``trailing`` unused tokens, which the kernel must ignore) and lengths."""
    lengths = _full_lengths(tokens, lengths)
    rows = [tokens[i, : int(n)] for i, n in enumerate(lengths.tolist())]
    values = torch.cat([*rows, tokens.new_full((trailing,), 7)])
    return with_layout(values, layout), lengths


def _sequences_of(tokens: Tensor, lengths: Optional[Tensor]) -> list[list[int]]:
    """The sequences of a padded or a packed side, as Python lists."""
    if tokens.dim() == 2:
        return rows_of(tokens, lengths)
    starts = [0, *torch.cumsum(lengths, 0).tolist()]
    values = tokens.tolist()
    return [values[start:end] for start, end in zip(starts, starts[1:])]


def _padded_args(args: tuple) -> tuple:
    """The same arguments with packed sides padded (bad inputs build on padded ones)."""
    a, b, a_lengths, b_lengths = args[:4]
    if a.dim() == 1:
        a, a_lengths = pad_sequences(_sequences_of(a, a_lengths), a.dtype)
    if b.dim() == 1:
        b, b_lengths = pad_sequences(_sequences_of(b, b_lengths), b.dtype)
    return a, b, a_lengths, b_lengths


def _full_lengths(tokens: Tensor, lengths: Optional[Tensor]) -> Tensor:
    """``lengths``, or the whole width for every row when None."""
    if lengths is not None:
        return lengths.contiguous()
    return torch.full((tokens.shape[0],), tokens.shape[1], dtype=torch.int64)


def _edit_distance_bad_inputs(op: str, pairwise: bool) -> Callable[[tuple], list[BadInput]]:
    def bad_inputs(args: tuple) -> list[BadInput]:
        args = _padded_args(args)
        a, b = (t.contiguous() for t in args[:2])
        a_lengths, b_lengths = _full_lengths(a, args[2]), _full_lengths(b, args[3])
        packed_a, _ = _packed(a, a_lengths, "contiguous", trailing=0)
        other_dtype = torch.int64 if a.dtype == torch.int32 else torch.int32
        zero_length = torch.zeros(1, dtype=torch.int64)
        cases = [
            BadInput(
                "float tokens",
                (a.float(), b, a_lengths, b_lengths),
                rf"{op}: argument 'a' must be uint8, int16, int32 or int64",
                error=TypeError,
            ),
            BadInput(
                "bool tokens",
                (a, b.bool(), a_lengths, b_lengths),
                rf"{op}: argument 'b' must be uint8, int16, int32 or int64",
                error=TypeError,
            ),
            BadInput(
                "dtype mismatch",
                (a, b.to(other_dtype), a_lengths, b_lengths),
                rf"{op}: arguments 'a' and 'b' must have the same dtype",
                error=TypeError,
            ),
            BadInput(
                "3-D tokens",
                (a, b.unsqueeze(0), a_lengths, None),
                rf"{op}: argument 'b' must be a 2-D tensor",
            ),
            BadInput(
                "int32 lengths",
                (a, b, a_lengths.int(), b_lengths),
                rf"{op}: argument 'a_lengths' must be int64",
                error=TypeError,
            ),
            BadInput(
                "2-D lengths",
                (a, b, a_lengths, b_lengths.unsqueeze(1)),
                rf"{op}: argument 'b_lengths' must be a 1-D tensor",
            ),
            BadInput(
                "lengths batch mismatch",
                (a, b, torch.cat([a_lengths, zero_length]), b_lengths),
                rf"{op}: argument 'a_lengths' has size {a.shape[0] + 1} in "
                r"dimension 0 but the batch size of 'a' is",
            ),
            BadInput(
                "lengths on another device",
                (a, b, a_lengths, b_lengths.to("meta")),
                rf"{op}: argument 'b_lengths' is on meta but 'a' is on cpu",
            ),
            BadInput(
                "negative cutoff",
                (a, b, a_lengths, b_lengths, -1),
                rf"{op}: argument 'max_distance' must be >= 0, got -1",
            ),
        ]
        cases.append(
            BadInput(
                "packed tokens without lengths",
                (packed_a, b, None, b_lengths),
                rf"{op}: argument 'a_lengths' is required when 'a' is 1-D \(packed",
            )
        )
        if a.shape[0] > 0:
            beyond = a_lengths.clone()
            beyond[0] += 1
            cases.append(
                BadInput(
                    "packed lengths beyond the tokens",
                    (packed_a, b, beyond, b_lengths),
                    rf"{op}: (the lengths in 'a_lengths' add up to {packed_a.numel() + 1} but "
                    rf"'a' holds {packed_a.numel()} tokens|a_lengths\[0\] = \d+ is outside)",
                )
            )
        if a.shape[0] > 0:
            too_long = a_lengths.clone()
            too_long[-1] = a.shape[1] + 1
            cases.append(
                BadInput(
                    "length beyond width",
                    (a, b, too_long, b_lengths),
                    rf"{op}: a_lengths\[{a.shape[0] - 1}\] = {a.shape[1] + 1} is outside",
                )
            )
        if b.shape[0] > 0:
            negative = b_lengths.clone()
            negative[0] = -1
            cases.append(
                BadInput(
                    "negative length",
                    (a, b, a_lengths, negative),
                    rf"{op}: b_lengths\[0\] = -1 is outside",
                )
            )
        if not pairwise:
            cases.append(
                BadInput(
                    "batch mismatch",
                    (a, torch.cat([b, b.new_zeros(1, b.shape[1])]), None, None),
                    rf"{op}: argument 'b' has size {b.shape[0] + 1} in dimension 0 but the "
                    r"batch size of 'a' is",
                )
            )
        return cases

    return bad_inputs


def _text_distances(a: list[str], b: list[str], max_distance: Optional[int] = None) -> Tensor:
    codes = lambda text: [ord(c) for c in text]  # noqa: E731
    distances = [levenshtein_reference(codes(x), codes(y)) for x, y in zip(a, b)]
    return _cut(torch.tensor(distances, dtype=torch.int64), max_distance)


def _text_grid(a: list[str], b: list[str], max_distance: Optional[int] = None) -> Tensor:
    codes = lambda text: [ord(c) for c in text]  # noqa: E731
    grid = [[levenshtein_reference(codes(x), codes(y)) for y in b] for x in a]
    return _cut(torch.tensor(grid, dtype=torch.int64).reshape(len(a), len(b)), max_distance)


@st.composite
def _text_args(draw: st.DrawFn, pairwise: bool, large: bool = False) -> tuple:
    """Two lists of strings over a few characters of any plane (so pairs share
    some), combining marks and empty strings included; no lone surrogates
    (they have no UTF-8 form: str[] cannot carry them)."""
    alphabet = draw(st.lists(st.characters(codec="utf-8"), min_size=1, max_size=4, unique=True))
    if large:  # enough pairs (rows) or cells (grid) to fan out over many chunks
        sizes = (st.integers(20, 40), st.integers(20, 40)) if pairwise else (st.integers(200, 400),)
        count_a, count_b = _counts(draw, sizes, pairwise)
        # Drawn character by character, 400 texts of 40 overrun Hypothesis's
        # buffer: most examples were discarded and each took seconds. The
        # lists pick from a drawn pool of texts instead.
        pool = draw(
            st.lists(
                st.text(st.sampled_from(alphabet), min_size=10, max_size=40),
                min_size=1,
                max_size=12,
            )
        )
        rng = random.Random(draw(st.integers(0, 2**32 - 1)))  # one draw, not one per call
        a = [rng.choice(pool) for _ in range(count_a)]
        return a, [rng.choice(pool) for _ in range(count_b)], draw(_MAX_DISTANCES)
    texts = st.text(st.sampled_from(alphabet), max_size=10)
    sizes = (st.integers(0, 5), st.integers(0, 5)) if pairwise else (st.integers(0, 5),)
    count_a, count_b = _counts(draw, sizes, pairwise)
    a = draw(st.lists(texts, min_size=count_a, max_size=count_a))
    return a, draw(st.lists(texts, min_size=count_b, max_size=count_b)), draw(_MAX_DISTANCES)


def _counts(draw: st.DrawFn, sizes: tuple, pairwise: bool) -> tuple[int, int]:
    """The two lists' lengths: drawn apart for a grid, one length for pairs."""
    counts = [draw(size) for size in sizes]
    return tuple(counts) if pairwise else (counts[0], counts[0])


def _text_bad_inputs(op: str, pairwise: bool) -> Callable[[tuple], list[BadInput]]:
    def bad_inputs(args: tuple) -> list[BadInput]:
        a, b = args[:2]
        cases = [
            BadInput(
                "negative cutoff",
                (a, b, -3),
                rf"{op}: argument 'max_distance' must be >= 0, got -3",
            )
        ]
        if not pairwise:
            cases.append(
                BadInput(
                    "batch mismatch",
                    (a, [*b, "x"]),
                    rf"{op}: argument 'b' has {len(b) + 1} strings but 'a' has {len(a)}",
                )
            )
        return cases

    return bad_inputs


SPECS = [
    OpSpec(
        name="edit_distance",
        reference=_edit_distance_reference,
        sample_args=lambda large=False: _edit_distance_args(pairwise=False, large=large),
        bad_inputs=_edit_distance_bad_inputs("mt::edit_distance", pairwise=False),
    ),
    OpSpec(
        name="edit_distance_pairwise",
        reference=_edit_distance_pairwise_reference,
        sample_args=lambda large=False: _edit_distance_args(pairwise=True, large=large),
        bad_inputs=_edit_distance_bad_inputs("mt::edit_distance_pairwise", pairwise=True),
    ),
    OpSpec(
        name="edit_distance_join",
        reference=_edit_distance_join_reference,
        sample_args=lambda large=False: _edit_distance_join_args(large=large),
        bad_inputs=_edit_distance_join_bad_inputs,
    ),
    OpSpec(
        name="edit_distance_text",
        reference=_text_distances,
        sample_args=lambda large=False: _text_args(pairwise=False, large=large),
        bad_inputs=_text_bad_inputs("mt::edit_distance_text", pairwise=False),
    ),
    OpSpec(
        name="edit_distance_pairwise_text",
        reference=_text_grid,
        sample_args=lambda large=False: _text_args(pairwise=True, large=large),
        # Non-strings in a list torch refuses before the kernel, with its own
        # message: only the cutoff is the kernel's to check.
        bad_inputs=_text_bad_inputs("mt::edit_distance_pairwise_text", pairwise=True),
    ),
]
