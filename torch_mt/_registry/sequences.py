"""Specs and benchmark workloads of the edit-distance operators (ops/edit_distance.cpp).

The reference is a textbook Levenshtein dynamic programme in plain Python.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Optional

import torch
from hypothesis import strategies as st
from torch import Tensor

from ..bench.workload import (
    Arm,
    Workload,
    all_threads,
    as_int_lists,
    peer,
    random_sequences,
    small_workload,
)
from ..sequences import edit_distance, edit_distance_pairwise, pad_sequences, word_error_rate
from ..testing import LAYOUTS, BadInput, OpSpec, padded_sequences, rows_of, with_layout


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
        cases.append(BadInput(case.description, reordered, case.match))
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
            ),
            BadInput(
                "bool tokens",
                (a, b.bool(), a_lengths, b_lengths),
                rf"{op}: argument 'b' must be uint8, int16, int32 or int64",
            ),
            BadInput(
                "dtype mismatch",
                (a, b.to(other_dtype), a_lengths, b_lengths),
                rf"{op}: arguments 'a' and 'b' must have the same dtype",
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
        texts = st.text(st.sampled_from(alphabet), min_size=10, max_size=40)
        sizes = (st.integers(20, 40), st.integers(20, 40)) if pairwise else (st.integers(200, 400),)
    else:
        texts = st.text(st.sampled_from(alphabet), max_size=10)
        sizes = (st.integers(0, 5), st.integers(0, 5)) if pairwise else (st.integers(0, 5),)
    counts = [draw(size) for size in sizes]
    count_a, count_b = counts if pairwise else counts * 2
    a = draw(st.lists(texts, min_size=count_a, max_size=count_a))
    return a, draw(st.lists(texts, min_size=count_b, max_size=count_b)), draw(_MAX_DISTANCES)


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


# ---- benchmark workloads ------------------------------------------------------------


def workloads(quick: bool) -> list[Workload]:
    """Batched pairs and all-pairs grids of 20-60- and 500-1000-token sequences
    (vocabulary 1000), against editdistance and rapidfuzz; and tiny calls."""
    rng = random.Random(0)
    num_pairs = 2_000 if quick else 20_000
    grid_side = 200 if quick else 1_000
    # Token ids 0..999: no hash collisions in editdistance (hash(-1) == hash(-2)).
    lefts = random_sequences(num_pairs, 20, 60, 1000, rng)
    rights = random_sequences(num_pairs, 20, 60, 1000, rng)
    left_tokens, left_lengths = pad_sequences(lefts)
    right_tokens, right_lengths = pad_sequences(rights)
    rows, cols = lefts[:grid_side], rights[:grid_side]
    row_tokens, row_lengths = pad_sequences(rows)
    col_tokens, col_lengths = pad_sequences(cols)

    def levenshtein():
        return peer("rapidfuzz.distance").Levenshtein

    def cdist(rows: list, cols: list):
        return peer("rapidfuzz.process").cdist(
            rows, cols, scorer=levenshtein().distance, workers=-1
        )

    batch = Workload(
        name=f"edit_distance, {num_pairs} pairs",
        description=f"{num_pairs} pairs of 20-60-token sequences",
        ops=("edit_distance",),
        arms=[
            Arm(
                "python loop: editdistance.eval",
                lambda: [peer("editdistance").eval(x, y) for x, y in zip(lefts, rights)],
                requires=("editdistance",),
            ),
            Arm(
                "python loop: rapidfuzz Levenshtein.distance",
                lambda: [levenshtein().distance(x, y) for x, y in zip(lefts, rights)],
                requires=("rapidfuzz",),
            ),
        ],
        torch_mt=lambda: torch.ops.mt.edit_distance(
            left_tokens, right_tokens, left_lengths, right_lengths
        ),
        normalise=as_int_lists,
    )
    grid = Workload(
        name=f"edit_distance_pairwise, {grid_side}x{grid_side}",
        description=f"all pairs of {grid_side} x {grid_side} sequences of 20-60 tokens",
        ops=("edit_distance_pairwise",),
        arms=[
            Arm(
                "python loop: editdistance.eval",
                lambda: [[peer("editdistance").eval(x, y) for y in cols] for x in rows],
                requires=("editdistance",),
            ),
            Arm(
                "rapidfuzz.process.cdist(workers=-1)",
                lambda: cdist(rows, cols),
                requires=("rapidfuzz",),
            ),
        ],
        torch_mt=lambda: torch.ops.mt.edit_distance_pairwise(
            row_tokens, col_tokens, row_lengths, col_lengths
        ),
        normalise=as_int_lists,
    )
    long_side = 50 if quick else 200
    long_rows = random_sequences(long_side, 500, 1000, 1000, rng)
    long_cols = random_sequences(long_side, 500, 1000, 1000, rng)
    long_row_tokens, long_row_lengths = pad_sequences(long_rows)
    long_col_tokens, long_col_lengths = pad_sequences(long_cols)
    long_grid = Workload(
        name=f"edit_distance_pairwise, {long_side}x{long_side} long",
        description=f"all pairs of {long_side} x {long_side} sequences of 500-1000 tokens",
        ops=("edit_distance_pairwise",),
        # No Python-loop arm: editdistance needs ~0.4 ms a pair here (16 s a run).
        arms=[
            Arm(
                "rapidfuzz.process.cdist(workers=-1)",
                lambda: cdist(long_rows, long_cols),
                requires=("rapidfuzz",),
            )
        ],
        torch_mt=lambda: torch.ops.mt.edit_distance_pairwise(
            long_row_tokens, long_col_tokens, long_row_lengths, long_col_lengths
        ),
        normalise=as_int_lists,
    )
    return [
        batch,
        _from_strings(lefts, rights),
        grid,
        _grid_from_strings(rows, cols),
        long_grid,
        _padding(quick, rng),
        _word_error_rate(quick, rng),
        *_small_workloads(),
    ]


def _word_error_rate(quick: bool, rng: random.Random) -> Workload:
    """Corpus WER of 20 000 (quick: 2 000) utterance pairs of 5-20 words
    from a 1000-word vocabulary, hypotheses with ~20% of words changed."""
    count = 2_000 if quick else 20_000
    vocabulary = [f"w{i}" for i in range(1000)]
    references = [[rng.choice(vocabulary) for _ in range(rng.randint(5, 20))] for _ in range(count)]
    hypotheses = [
        [word if rng.random() > 0.2 else rng.choice(vocabulary) for word in sentence]
        for sentence in references
    ]
    references = [" ".join(words) for words in references]
    hypotheses = [" ".join(words) for words in hypotheses]

    def torchmetrics_wer() -> float:
        metric = peer("torchmetrics.text").WordErrorRate()
        return float(metric(hypotheses, references))

    return Workload(
        name=f"word_error_rate, {count} utterance pairs",
        description=f"corpus WER of {count} pairs of 5-20-word utterances",
        ops=("edit_distance",),
        arms=[
            Arm(
                "jiwer.wer", lambda: peer("jiwer").wer(references, hypotheses), requires=("jiwer",)
            ),
            Arm("torchmetrics WordErrorRate", torchmetrics_wer, requires=("torchmetrics",)),
        ],
        torch_mt=lambda: word_error_rate(hypotheses, references),
        normalise=float,
        agree=lambda actual, expected: abs(actual - expected) <= 1e-12,
    )


#: Token ids 0..999 as characters: ASCII letters, then CJK ideographs.
_CHARACTERS = [chr(0x61 + t) if t < 26 else chr(0x4E00 + t) for t in range(1000)]


def _as_text(sequences: list[list[int]]) -> list[str]:
    """The benchmark's token sequences spelled as strings, one character per token."""
    return ["".join(_CHARACTERS[t] for t in seq) for seq in sequences]


def _from_strings(lefts: list[list[int]], rights: list[list[int]]) -> Workload:
    """The same pairs as Python strings: the wrapper's conversion included."""
    left_strings, right_strings = _as_text(lefts), _as_text(rights)
    (a, a_lengths), (b, b_lengths) = pad_sequences(left_strings), pad_sequences(right_strings)
    distance = lambda: peer("rapidfuzz.distance").Levenshtein.distance  # noqa: E731
    return Workload(
        name=f"edit_distance from Python strings, {len(lefts)} pairs",
        description=f"{len(lefts)} pairs of 20-60-character strings, conversion included",
        ops=("edit_distance", "edit_distance_text"),
        arms=[
            Arm(
                "python loop: rapidfuzz Levenshtein.distance",
                lambda: [distance()(x, y) for x, y in zip(left_strings, right_strings)],
                requires=("rapidfuzz",),
            ),
            Arm(
                f"the op on prepared tensors, {all_threads()} threads",
                lambda: torch.ops.mt.edit_distance(a, b, a_lengths, b_lengths),
                threads=all_threads(),
            ),
            Arm(
                f"mt::edit_distance_text on the str lists, {all_threads()} threads",
                lambda: torch.ops.mt.edit_distance_text(left_strings, right_strings),
                threads=all_threads(),
            ),
        ],
        torch_mt=lambda: edit_distance(left_strings, right_strings),
        normalise=as_int_lists,
    )


def _grid_from_strings(rows: list[list[int]], cols: list[list[int]]) -> Workload:
    """The all-pairs grid on Python strings, conversion included, against
    rapidfuzz's own parallel grid."""
    row_strings, col_strings = _as_text(rows), _as_text(cols)
    return Workload(
        name=f"edit_distance_pairwise from Python strings, {len(rows)}x{len(cols)}",
        description=f"all pairs of {len(rows)} x {len(cols)} strings of 20-60 characters",
        ops=("edit_distance_pairwise", "edit_distance_pairwise_text"),
        arms=[
            Arm(
                "rapidfuzz.process.cdist(workers=-1)",
                lambda: peer("rapidfuzz.process").cdist(
                    row_strings,
                    col_strings,
                    scorer=peer("rapidfuzz.distance").Levenshtein.distance,
                    workers=-1,
                ),
                requires=("rapidfuzz",),
            ),
        ],
        torch_mt=lambda: edit_distance_pairwise(row_strings, col_strings),
        normalise=as_int_lists,
    )


def _padding(quick: bool, rng: random.Random) -> Workload:
    """pad_sequences on Python int lists against torch's pad_sequence on the
    same data already held as tensors (what it would cost to build them is
    left out: the comparison favours torch)."""
    count = 10_000 if quick else 100_000
    lists = random_sequences(count, 20, 60, 1000, rng)
    tensors = [torch.tensor(seq) for seq in lists]
    return Workload(
        name=f"pad_sequences, {count} int lists",
        description=f"{count} lists of 20-60 ints into a padded [B, L] tensor",
        ops=(),
        arms=[
            Arm(
                "torch.nn.utils.rnn.pad_sequence on tensors",
                lambda: torch.nn.utils.rnn.pad_sequence(tensors, batch_first=True),
            ),
            Arm("torch_mt.pad_sequences on int lists", lambda: pad_sequences(lists)[0]),
        ],
        normalise=lambda padded: padded,
        agree=torch.equal,
    )


def _small_workloads() -> list[Workload]:
    generator = torch.Generator().manual_seed(3)
    tokens = torch.randint(0, 5, (4, 6), generator=generator)
    lengths = torch.full((4,), 6)
    return [
        small_workload(
            "edit_distance",
            lambda: torch.ops.mt.edit_distance(tokens, tokens.flip(0), lengths, lengths),
        ),
        small_workload(
            "edit_distance_pairwise",
            lambda: torch.ops.mt.edit_distance_pairwise(tokens, tokens, lengths, lengths),
        ),
        small_workload(
            "edit_distance_text",
            lambda: torch.ops.mt.edit_distance_text(["kitten", "flaw"], ["sitting", "lawn"]),
        ),
        small_workload(
            "edit_distance_pairwise_text",
            lambda: torch.ops.mt.edit_distance_pairwise_text(["kitten", "flaw"], ["sitting"]),
        ),
    ]
