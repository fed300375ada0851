"""edit_distance / edit_distance_pairwise beyond the generic suite: other
references (editdistance, rapidfuzz), the wrapper's list inputs, its errors."""

from __future__ import annotations

import contextlib
import ctypes
import mmap
import os
import random
import subprocess
import sys

import editdistance
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Levenshtein

import torch_mt
from torch_mt.levenshtein.spec import levenshtein_reference
from torch_mt.testing import padded_sequences, rows_of

texts = st.lists(st.text(alphabet="abcdé漢", max_size=12), max_size=6)
token_lists = st.lists(st.lists(st.integers(-3, 3), max_size=12), max_size=6)


@given(x=st.lists(st.integers(0, 5), max_size=15), y=st.lists(st.integers(0, 5), max_size=15))
def test_python_reference_agrees_with_editdistance(x, y):
    # The registry's plain-Python reference is itself checked against a library.
    assert levenshtein_reference(x, y) == editdistance.eval(x, y)


ROW_WISE_ON_STRINGS = {
    "wrapper": torch_mt.edit_distance,
    # str[] values are UTF-8: ASCII-only ones (checked 64 bytes at once on
    # AVX-512) are compared as bytes, the others by code point.
    "str[] op": lambda a, b: torch.ops.mt.edit_distance_text(a, b, None),
}


@settings(max_examples=30)
@given(
    pairs=st.lists(
        st.tuples(st.text(alphabet="ab é漢", max_size=90), st.text(alphabet="ab é漢", max_size=90)),
        max_size=40,
    ),
    threads=st.integers(1, 3),
)
@pytest.mark.parametrize("form", sorted(ROW_WISE_ON_STRINGS))
def test_strings_row_wise_matches_rapidfuzz(form, pairs, threads):
    a = [x for x, _ in pairs]
    b = [y for _, y in pairs]
    with torch_mt.num_threads(threads):
        out = ROW_WISE_ON_STRINGS[form](a, b)
    assert out.tolist() == [Levenshtein.distance(x, y) for x, y in pairs]


# Characters of every storage width CPython picks for a str (1 byte: ASCII
# and Latin-1, 2 bytes, 4 bytes), and strings long enough for patterns of
# more than one 64-bit word; a pair of 1-byte strings is read where it lies.
NARROW = "ab \x00\x7féÿ"
ANY_WIDTH = NARROW + "Ωж漢\U0001d11e"


@st.composite
def string_pairs(draw):
    """Row-wise string pairs: the same alphabet kind on both sides or a
    different one, lengths across the word boundary. Small batches are drawn
    string by string; big ones (several chunks of the pool, a chunk being
    about a hundred pairs) from a drawn seed, as near-duplicates or unrelated
    strings: hypothesis's own big lists are mostly repeats, which trimming
    reduces to nothing."""
    alphabet = draw(st.sampled_from([NARROW, ANY_WIDTH]))
    if draw(st.booleans()):
        text = st.text(alphabet=alphabet, max_size=70) | st.text(
            alphabet=alphabet, min_size=60, max_size=140
        )
        return draw(st.lists(st.tuples(text, text), max_size=8))
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    longest = draw(st.sampled_from([20, 64, 140, 300]))  # 300: past the SIMD timeline's steps

    def spelled(length):
        return "".join(rng.choice(alphabet) for _ in range(length))

    def typo(text):
        chars = list(text)
        for _ in range(rng.randint(0, 6)):
            at = rng.randrange(len(chars) + 1)
            chars[at : at + rng.randint(0, 1)] = rng.choice(["", rng.choice(alphabet)])
        return "".join(chars)

    lefts = [spelled(rng.randint(0, longest)) for _ in range(draw(st.integers(200, 400)))]
    return [(x, typo(x) if rng.random() < 0.5 else spelled(rng.randint(0, longest))) for x in lefts]


@settings(max_examples=40)
@given(pairs=string_pairs(), threads=st.integers(1, 3), cutoff=st.none() | st.integers(0, 20))
def test_strings_read_in_place_matches_rapidfuzz(pairs, threads, cutoff):
    a = [x for x, _ in pairs]
    b = [y for _, y in pairs]
    with torch_mt.num_threads(threads):
        out = torch_mt.edit_distance(a, b, max_distance=cutoff)
    distances = [Levenshtein.distance(x, y) for x, y in pairs]
    if cutoff is not None:
        distances = [min(d, cutoff + 1) for d in distances]
    assert out.dtype == torch.int64 and out.tolist() == distances


@settings(max_examples=30)
@given(
    seed=st.integers(0, 2**32 - 1),
    batch=st.integers(0, 600),
    longest=st.sampled_from([8, 40, 64, 65, 130, 300]),
    threads=st.integers(1, 3),
    cutoff=st.none() | st.integers(0, 10),
)
def test_byte_tensors_match_rapidfuzz(seed, batch, longest, threads, cutoff):
    # uint8 rows (any byte, 0 included: the SIMD compare pads patterns with
    # zeros) as near-duplicates and unrelated rows, enough of them to fill
    # the SIMD timeline several times over, patterns and texts across its
    # limits (64 and 256 bytes), through the tensor op, non-contiguous too.
    rng = random.Random(seed)
    lefts = [[rng.randrange(256) if rng.random() < 0.3 else rng.randrange(4) for _ in
              range(rng.randint(0, longest))] for _ in range(batch)]  # fmt: skip
    rights = []
    for row in lefts:
        edited = list(row)
        for _ in range(rng.randint(0, 5)):
            at = rng.randrange(len(edited) + 1)
            edited[at : at + rng.randint(0, 1)] = rng.choice([[], [rng.randrange(256)]])
        rights.append(edited if rng.random() < 0.7 else edited[::-1])
    (a, a_lengths), (b, b_lengths) = (
        torch_mt.pad_sequences(side, torch.uint8) for side in (lefts, rights)
    )
    a = torch.cat([a, a], dim=1)[:, : a.shape[1]] if a.numel() else a  # a strided view
    with torch_mt.num_threads(threads):
        out = torch_mt.edit_distance(
            a, b, a_lengths=a_lengths, b_lengths=b_lengths, max_distance=cutoff
        )
    expected = [Levenshtein.distance(x, y) for x, y in zip(lefts, rights)]
    if cutoff is not None:
        expected = [min(d, cutoff + 1) for d in expected]
    assert out.tolist() == expected


@pytest.mark.parametrize(
    "a, b, error, match",
    [
        (["ab", 3], ["ab", "c"], TypeError, r"argument 'a'.*item 1"),
        (["ab", "c"], ["ab", b"c"], TypeError, r"argument 'b'.*item 1"),
        (["ab", "c"], ["ab"], ValueError, "as many sequences"),
    ],
)
def test_strings_read_in_place_fall_back_to_name_a_bad_item(a, b, error, match):
    # The workers find the bad item; the general path then names it.
    with pytest.raises(error, match=match):
        torch_mt.edit_distance(a, b)


@given(a=texts, b=texts)
def test_pairwise_strings_match_rapidfuzz(a, b):
    out = torch_mt.edit_distance_pairwise(a, b)
    assert out.shape == (len(a), len(b))
    assert out.tolist() == [[Levenshtein.distance(x, y) for y in b] for x in a]


@given(a=token_lists, data=st.data())
def test_int_lists_match_rapidfuzz(a, data):
    # Not editdistance here: it compares hash() values, and hash(-1) == hash(-2).
    b = data.draw(
        st.lists(st.lists(st.integers(-3, 3), max_size=12), min_size=len(a), max_size=len(a))
    )
    assert torch_mt.edit_distance(a, b).tolist() == [
        Levenshtein.distance(x, y) for x, y in zip(a, b)
    ]


@given(a=padded_sequences(batch=4, max_width=20), b=padded_sequences(batch=4, max_width=20))
def test_pairwise_diagonal_is_rowwise_and_transpose_is_symmetric(a, b):
    tokens_a, lengths_a = a
    tokens_b, lengths_b = b[0].to(tokens_a.dtype), b[1]
    grid = torch_mt.edit_distance_pairwise(
        tokens_a, tokens_b, a_lengths=lengths_a, b_lengths=lengths_b
    )
    rowwise = torch_mt.edit_distance(tokens_a, tokens_b, a_lengths=lengths_a, b_lengths=lengths_b)
    assert torch.equal(grid.diagonal(), rowwise)
    swapped = torch_mt.edit_distance_pairwise(
        tokens_b, tokens_a, a_lengths=lengths_b, b_lengths=lengths_a
    )
    assert torch.equal(grid, swapped.T)


@given(sample=padded_sequences(batch=5, max_width=16, dtype=torch.int64))
def test_distance_to_itself_is_zero_and_to_empty_is_length(sample):
    tokens, lengths = sample
    assert torch.equal(
        torch_mt.edit_distance(tokens, tokens, a_lengths=lengths, b_lengths=lengths),
        torch.zeros(5, dtype=torch.int64),
    )
    empty = torch.zeros(5, 0, dtype=torch.int64)
    none = torch.zeros(5, dtype=torch.int64)
    assert torch.equal(
        torch_mt.edit_distance(tokens, empty, a_lengths=lengths, b_lengths=none), lengths
    )


def test_extreme_int64_tokens_are_distinct():
    # Python's hash() maps 2**61 - 1 and 0 to the same value; tokens must not collide.
    a = torch.tensor([[2**61 - 1, -(2**63), 2**63 - 1]])
    b = torch.tensor([[0, -(2**63), 2**63 - 2]])
    assert torch_mt.edit_distance(a, b).tolist() == [2]


def test_ragged_long_batch_matches_reference_at_every_thread_count():
    # Lengths from 1 to 300 (cost differs ~10 000x between pairs): balance, not just correctness.
    generator = torch.Generator().manual_seed(1)
    lengths = torch.randint(1, 301, (64,), generator=generator)
    a = torch.randint(0, 4, (64, 300), generator=generator)
    b = torch.randint(0, 4, (64, 300), generator=generator)
    expected = [editdistance.eval(x, y) for x, y in zip(rows_of(a, lengths), rows_of(b, lengths))]
    for threads in (1, 2, 3):
        with torch_mt.num_threads(threads):
            assert (
                torch_mt.edit_distance(a, b, a_lengths=lengths, b_lengths=lengths).tolist()
                == expected
            )


def test_lists_take_the_dtype_of_a_tensor_on_the_other_side():
    a = torch.tensor([[1, 2, 3]], dtype=torch.int32)
    assert torch_mt.edit_distance(a, [[1, 3]]).tolist() == [1]
    assert torch_mt.edit_distance([[1, 3]], a).tolist() == [1]


def test_full_width_is_the_default_length():
    a = torch.tensor([[1, 2, 3], [4, 5, 6]])
    b = torch.tensor([[1, 2], [4, 4]])
    assert torch_mt.edit_distance(a, b).tolist() == [1, 2]


def test_empty_inputs():
    assert torch_mt.edit_distance([], []).shape == (0,)
    assert torch_mt.edit_distance_pairwise([], ["abc"]).shape == (0, 1)
    assert torch_mt.edit_distance_pairwise(["abc", ""], []).shape == (2, 0)
    assert torch_mt.edit_distance(["", ""], ["", "x"]).tolist() == [0, 1]


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda: torch_mt.edit_distance(["a"], ["b"], a_lengths=torch.tensor([1])),
            ValueError,
            r"torch_mt.edit_distance: argument 'a_lengths' must be None when 'a' is a list",
        ),
        (
            lambda: torch_mt.edit_distance("abc", ["b"]),
            TypeError,
            r"torch_mt.edit_distance: argument 'a' must be a tensor or a list",
        ),
        (
            lambda: torch_mt.edit_distance_pairwise(["a"], [[1, 2.5]]),
            TypeError,
            r"torch_mt.edit_distance_pairwise: argument 'b': item 0 must be a string or a sequence",
        ),
        (
            lambda: torch_mt.edit_distance(["a"], [[True]]),
            TypeError,
            r"torch_mt.edit_distance: argument 'b': item 0",
        ),
        (
            lambda: torch_mt.edit_distance(["a", "b"], ["c"]),
            ValueError,
            r"torch_mt.edit_distance: arguments 'a' and 'b' must hold as many sequences, "
            r"got 2 and 1",
        ),
        (
            lambda: torch_mt.edit_distance(torch.zeros(2, 3, dtype=torch.int64), ["c"]),
            ValueError,
            r"mt::edit_distance: argument 'b_lengths' has size 1 in dimension 0 "
            r"but the batch size of 'a' is 2",
        ),
        (
            lambda: torch_mt.edit_distance(torch.zeros(2, 3), ["abc", "d"]),
            TypeError,
            r"mt::edit_distance: argument 'a' must be uint8, int16, int32 or int64 token ids, "
            r"got float32",
        ),
        (
            lambda: torch_mt.edit_distance(torch.tensor([1, 2]), ["ab"]),
            ValueError,
            r"mt::edit_distance: argument 'a_lengths' is required when 'a' is 1-D \(packed",
        ),
    ],
)
def test_wrapper_errors_name_the_function_and_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---- the bit-parallel kernels: word boundaries and token spaces ----------------

BOUNDARY_LENGTHS = [0, 1, 2, 63, 64, 65, 127, 128, 129, 1000]

# Distance depends only on which tokens are equal, so sequences are drawn over
# a small alphabet (checked with rapidfuzz on those ids) and then spelled with
# other token values: ids under 2**16 take the dense mask table from 0, other
# narrow ranges (straddling 2**16, negative) a dense table from their minimum,
# values spread over more than 2**16 or at the int64/int32 extremes the hash table.
TOKEN_SPACES = {
    "small": lambda symbol, dtype: symbol,
    "top_of_small": lambda symbol, dtype: 2**16 - 1 - symbol,
    "across_2**16": lambda symbol, dtype: 2**16 - 2 + symbol,
    "negative": lambda symbol, dtype: -1 - symbol,
    "spread": lambda symbol, dtype: symbol * (2**20 if dtype == torch.int32 else 2**40) - 7,
    "extreme": lambda symbol, dtype: (
        torch.iinfo(dtype).max - symbol if symbol % 2 else torch.iinfo(dtype).min + symbol
    ),
}


@st.composite
def boundary_batches(draw, size):
    alphabet = draw(st.integers(1, 5))
    lengths = st.sampled_from(BOUNDARY_LENGTHS)
    return [
        draw(st.lists(st.integers(0, alphabet - 1), min_size=n, max_size=n))
        for n in draw(st.lists(lengths, min_size=size, max_size=size))
    ]


def draw_spelled(data, size, space, dtype):
    """Rows of symbols (for the reference) and the same rows spelled as padded tokens."""
    rows = data.draw(boundary_batches(size=size))
    spelled = [[TOKEN_SPACES[space](symbol, dtype) for symbol in row] for row in rows]
    return rows, *torch_mt.pad_sequences(spelled, dtype)


@settings(max_examples=40)
@given(
    data=st.data(),
    space=st.sampled_from(sorted(TOKEN_SPACES)),
    dtype=st.sampled_from([torch.int32, torch.int64]),
    threads=st.sampled_from([1, 2, 3]),
)
def test_bit_parallel_rowwise_at_word_boundaries(data, space, dtype, threads):
    # 9 pairs: two groups of 4 lanes, each with its own pattern, and a tail.
    a, a_tokens, a_lengths = draw_spelled(data, 9, space, dtype)
    b, b_tokens, b_lengths = draw_spelled(data, 9, space, dtype)
    with torch_mt.num_threads(threads):
        out = torch_mt.edit_distance(a_tokens, b_tokens, a_lengths=a_lengths, b_lengths=b_lengths)
    assert out.tolist() == [Levenshtein.distance(x, y) for x, y in zip(a, b)]


@settings(max_examples=25)
@given(
    data=st.data(),
    space=st.sampled_from(sorted(TOKEN_SPACES)),
    dtype=st.sampled_from([torch.int32, torch.int64]),
    threads=st.sampled_from([1, 2, 3]),
)
def test_bit_parallel_pairwise_at_word_boundaries(data, space, dtype, threads):
    # 9 columns: two groups of 4 interleaved texts (with ragged lengths) and a tail.
    a, a_tokens, a_lengths = draw_spelled(data, 3, space, dtype)
    b, b_tokens, b_lengths = draw_spelled(data, 9, space, dtype)
    with torch_mt.num_threads(threads):
        out = torch_mt.edit_distance_pairwise(
            a_tokens, b_tokens, a_lengths=a_lengths, b_lengths=b_lengths
        )
    assert out.tolist() == [[Levenshtein.distance(x, y) for y in b] for x in a]


#: Strings of 1-byte characters around one 64-bit word: the byte grid's
#: lanes take rows of 0..64 characters, the one-pattern loops longer ones.
BYTE_ROWS = st.text(alphabet=NARROW, max_size=12) | st.text(
    alphabet=NARROW, min_size=58, max_size=70
)


@settings(max_examples=40)
@given(
    rows=st.lists(BYTE_ROWS, max_size=19),
    columns=st.lists(BYTE_ROWS, max_size=7),
    threads=st.sampled_from([1, 2, 3]),
    cutoff=st.none() | st.integers(0, 4),
)
def test_byte_grid_matches_rapidfuzz(rows, columns, threads, cutoff):
    # Groups of eight rows (a partial last one), rows past 64 characters,
    # empty rows and columns; tables reused by the next example must be clean.
    with torch_mt.num_threads(threads):
        out = torch_mt.edit_distance_pairwise(rows, columns, max_distance=cutoff)
    expected = [[Levenshtein.distance(x, y) for y in columns] for x in rows]
    if cutoff is not None:
        expected = [[min(d, cutoff + 1) for d in row] for row in expected]
    assert out.shape == (len(rows), len(columns)) and out.tolist() == expected


def test_pattern_tables_are_clean_between_calls():
    # Per-thread mask tables are reused across calls and must be reset: a
    # pattern that shares no token with the text must give max(n, m).
    for threads in (1, 2):
        with torch_mt.num_threads(threads):
            torch_mt.edit_distance_pairwise([[1, 2, 3] * 30] * 8, [[1, 2, 3] * 30] * 8)
            out = torch_mt.edit_distance_pairwise([[4, 5]] * 8, [[1, 2, 3] * 30] * 8)
            assert bool((out == 90).all())
            # Row-wise: every lane's table too.
            torch_mt.edit_distance([[1, 2, 3] * 20] * 9, [[3, 2, 1] * 20] * 9)
            out = torch_mt.edit_distance([[4, 5]] * 9, [[1, 2, 3] * 20] * 9)
            assert bool((out == 60).all())


@contextlib.contextmanager
def bytes_before_an_unreadable_page():
    """A uint8 tensor filling one page, the next page unreadable: a read
    past its last byte faults."""
    page = mmap.PAGESIZE
    memory = mmap.mmap(-1, 2 * page)
    view = (ctypes.c_char * (2 * page)).from_buffer(memory)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    guard = ctypes.addressof(view) + page
    assert libc.mprotect(guard, page, 0) == 0  # PROT_NONE
    try:
        yield torch.frombuffer(memory, dtype=torch.uint8, count=page)
    finally:
        assert libc.mprotect(guard, page, 3) == 0  # PROT_READ | PROT_WRITE
        del view
        memory.close()


@settings(max_examples=20)
@given(width=st.integers(1, 70), rows=st.integers(1, 20), seed=st.integers(0, 2**32 - 1))
def test_rows_ending_at_an_unreadable_page(width, rows, seed):
    # The SIMD paths read whole windows and rounds of eight bytes past a
    # row's end only where those bytes lie in the row's page: rows that end
    # where an unreadable page begins must neither fault nor change.
    generator = torch.Generator().manual_seed(seed)
    with bytes_before_an_unreadable_page() as page:
        a = page[-2 * rows * width : -rows * width].view(rows, width)
        b = page[-rows * width :].view(rows, width)
        a.copy_(torch.randint(97, 101, (rows, width), generator=generator, dtype=torch.uint8))
        b.copy_(torch.randint(97, 101, (rows, width), generator=generator, dtype=torch.uint8))
        expected = [Levenshtein.distance(x, y) for x, y in zip(a.tolist(), b.tolist())]
        # Swapped too: either side may become the pattern or the text.
        assert torch_mt.edit_distance(a, b).tolist() == expected
        assert torch_mt.edit_distance(b, a).tolist() == expected
        del a, b


@pytest.mark.parametrize("switch", ["TORCH_MT_DISABLE_SIMD", "TORCH_MT_DISABLE_AVX512"])
def test_portable_and_avx2_kernels(switch):
    # The same boundary tests, in a process where the SIMD paths are switched
    # off (the portable loops) or only AVX-512 is (the AVX2 variants).
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            __file__,
            "-k",
            "word_boundaries or ragged or tables_are_clean or matches_rapidfuzz or unreadable_page",
        ],
        env={**os.environ, switch: "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout
