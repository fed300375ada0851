"""torch_mt.similarity_join (local engine) and the max_distance cutoff it runs
on: against brute force (every pair, then a filter) with an independent
Levenshtein (rapidfuzz), on random corpora of every input form."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from rapidfuzz.distance import Levenshtein

import torch_mt
from torch_mt.testing import padded_sequences, rows_of

#: Few symbols, so near pairs are common; astral and combining characters too.
strings = st.text(alphabet="ab\u0301\U0001d11e", max_size=9)
token_lists = st.lists(st.integers(-2, 2), max_size=9)


def brute_force(a: list, b: list | None, k: int) -> list[tuple[int, int, int]]:
    """Every pair within k, sorted by (i, j); a self-join keeps i < j."""
    if b is None:
        pairs = [
            (i, j, Levenshtein.distance(a[i], a[j]))
            for i in range(len(a))
            for j in range(i + 1, len(a))
        ]
    else:
        pairs = [
            (i, j, Levenshtein.distance(x, y)) for i, x in enumerate(a) for j, y in enumerate(b)
        ]
    return [pair for pair in pairs if pair[2] <= k]


def as_triples(
    result: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
) -> list[tuple[int, int, int]]:
    i, j, d = result
    assert i.dtype == j.dtype == d.dtype == torch.int64
    return list(zip(i.tolist(), j.tolist(), d.tolist()))


@st.composite
def corpora(draw: st.DrawFn) -> tuple[list, list | None]:
    items = draw(st.sampled_from([strings, token_lists]))
    a = draw(st.lists(items, max_size=14))
    b = None if draw(st.booleans()) else draw(st.lists(items, max_size=14))
    return a, b


@given(
    corpus=corpora(),
    k=st.integers(0, 5),
    block_size=st.integers(1, 6),
    threads=st.integers(1, 3),
)
def test_join_equals_brute_force(corpus, k, block_size, threads):
    a, b = corpus
    with torch_mt.num_threads(threads):
        result = torch_mt.similarity_join(a, b, max_distance=k, block_size=block_size)
    assert as_triples(result) == brute_force(a, b, k)


@given(data=st.data(), k=st.integers(0, 4), self_join=st.booleans())
def test_padded_tensors_join_as_their_rows(data, k, self_join):
    dtype = data.draw(st.sampled_from([torch.uint8, torch.int16, torch.int32, torch.int64]))
    a, a_lengths = data.draw(
        padded_sequences(batch=data.draw(st.integers(0, 10)), dtype=dtype, max_width=8)
    )
    b, b_lengths = data.draw(
        padded_sequences(batch=data.draw(st.integers(0, 10)), dtype=dtype, max_width=8)
    )
    a = a.t().contiguous().t() if data.draw(st.booleans()) else a  # a non-contiguous layout
    if self_join:
        result = torch_mt.similarity_join(a, max_distance=k, a_lengths=a_lengths, block_size=3)
        expected = brute_force(rows_of(a, a_lengths), None, k)
    else:
        result = torch_mt.similarity_join(
            a, b, max_distance=k, a_lengths=a_lengths, b_lengths=b_lengths, block_size=3
        )
        expected = brute_force(rows_of(a, a_lengths), rows_of(b, b_lengths), k)
    assert as_triples(result) == expected


@given(a=st.lists(strings, max_size=12), k=st.integers(0, 3))
def test_strings_code_points_and_int_lists_give_the_same_join(a, k):
    as_ints = [[ord(c) for c in text] for text in a]
    assert as_triples(torch_mt.similarity_join(a, max_distance=k)) == as_triples(
        torch_mt.similarity_join(as_ints, max_distance=k)
    )


@given(
    a=st.lists(st.text(alphabet="abc", min_size=0, max_size=70), max_size=12),
    b=st.lists(st.text(alphabet="abc", min_size=0, max_size=70), max_size=12),
    k=st.integers(0, 80),
    threads=st.integers(1, 3),
)
def test_cutoff_grid_is_the_exact_grid_capped(a, b, k, threads):
    # Lengths up to 70 cross the one-word (64) limit: both kernels, four lanes and one.
    with torch_mt.num_threads(threads):
        cut = torch_mt.edit_distance_pairwise(a, b, max_distance=k)
        rows = torch_mt.edit_distance(a[: len(b)], b[: len(a)], max_distance=k)
    exact = [[Levenshtein.distance(x, y) for y in b] for x in a]
    assert cut.tolist() == [[min(d, k + 1) for d in row] for row in exact]
    assert rows.tolist() == [min(Levenshtein.distance(x, y), k + 1) for x, y in zip(a, b)]


def test_join_is_independent_of_block_size_and_threads_on_a_larger_corpus():
    rng = torch.Generator().manual_seed(3)
    lengths = torch.randint(0, 30, (600,), generator=rng)
    corpus = [torch.randint(0, 3, (int(n),), generator=rng).tolist() for n in lengths]
    results = []
    for block_size, threads in [(600, 1), (64, 2), (7, 3), (2048, 2)]:
        with torch_mt.num_threads(threads):
            results.append(
                as_triples(torch_mt.similarity_join(corpus, max_distance=3, block_size=block_size))
            )
    assert all(result == results[0] for result in results)
    assert results[0] == brute_force(corpus, None, 3)


def test_empty_sides_give_empty_results():
    for a, b in [([], None), ([], ["a"]), (["a"], []), (["a"], None)]:
        i, j, d = torch_mt.similarity_join(a, b, max_distance=2)
        assert i.shape == j.shape == d.shape == (0,)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(a=["a", 3]), TypeError, r"similarity_join: argument 'a': item 1"),
        (dict(a=["a"], b=["b", None]), TypeError, r"similarity_join: argument 'b': item 1"),
        (dict(a=[[1], "ab"]), TypeError, r"argument 'a': item 1 is a string but item 0"),
        (dict(a=["a"], max_distance=-1), ValueError, r"'max_distance' must be >= 0, got -1"),
        (dict(a=["a"], max_distance=1.5), TypeError, r"'max_distance' must be an int, got float"),
        (dict(a=["a"], max_distance=True), TypeError, r"'max_distance' must be an int, got bool"),
        (dict(a=["a"], block_size=0), ValueError, r"'block_size' must be >= 1, got 0"),
        (dict(a=["a"], engine="spark"), ValueError, r"'engine' must be one of"),
        (dict(a=["a"], a_lengths=torch.tensor([1])), ValueError, r"'a_lengths' must be None"),
        (
            dict(a=["a"], b_lengths=torch.tensor([1])),
            ValueError,
            r"'b_lengths' must be None when 'b' is None",
        ),
        (
            dict(a=torch.zeros(2, 3, dtype=torch.int64), a_lengths=torch.tensor([1, 4])),
            ValueError,
            r"a_lengths\[1\] = 4 is outside",
        ),
        (
            dict(a=torch.zeros(2, 3, dtype=torch.int64), b=torch.zeros(2, 3, dtype=torch.int32)),
            TypeError,
            r"arguments 'a' and 'b' must have the same dtype",
        ),
        (
            dict(a=torch.zeros(2, 3)),
            TypeError,
            r"argument 'a' must be uint8, int16, int32 or int64",
        ),
    ],
)
def test_bad_input_is_refused_naming_the_argument(kwargs, error, match):
    kwargs = {"max_distance": 1, **kwargs}
    with pytest.raises(error, match=match):
        torch_mt.similarity_join(**kwargs)


@pytest.mark.parametrize(
    "call",
    [
        lambda cutoff: torch_mt.edit_distance(["a"], ["b"], max_distance=cutoff),
        lambda cutoff: torch_mt.edit_distance_pairwise(["a"], ["b"], max_distance=cutoff),
        lambda cutoff: torch_mt.edit_distance_text(["a"], ["b"], max_distance=cutoff),
        lambda cutoff: torch_mt.edit_distance_pairwise_text(["a"], ["b"], max_distance=cutoff),
        lambda cutoff: torch_mt.edit_distance_join(["a"], ["b"], cutoff),
    ],
)
def test_a_cutoff_must_be_an_int_not_a_bool_or_float(call):
    # The schema's int? would take True as 1: the wrappers refuse it.
    for bad in (True, 1.5):
        with pytest.raises(TypeError, match=r"argument 'max_distance' must be an int"):
            call(bad)
    with pytest.raises(ValueError, match=r"argument 'max_distance' must be >= 0, got -1"):
        call(-1)
    result = call(5)
    distances = result[2] if isinstance(result, tuple) else result  # the join: (i, j, d)
    assert distances.flatten().tolist() == [1]
