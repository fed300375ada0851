"""edit_distance's inputs from Python and C++: pad_sequences and the C
string packer against their definitions (ord, len), the dtype two string
lists share, what is refused (naming the item), and mt::edit_distance_text
from C++ on any bytes, valid UTF-8 or not."""

from __future__ import annotations

import array

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from rapidfuzz.distance import Levenshtein

import torch_mt

# ---- pad_sequences: one buffer per batch, same result as item by item ---------


def padded_by_hand(sequences, dtype):
    """The definition, in plain Python: code points or ints, zero padding."""
    rows = [[ord(c) for c in item] if isinstance(item, str) else list(item) for item in sequences]
    width = max(map(len, rows), default=0)
    tokens = torch.tensor([row + [0] * (width - len(row)) for row in rows], dtype=dtype)
    return tokens.reshape(len(rows), width), torch.tensor(list(map(len, rows)), dtype=torch.int64)


#: Code points from every plane, lone surrogates included (legal in a str).
TEXT = st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF), max_size=12)
INT32 = st.integers(-(2**31), 2**31 - 1)


@given(
    batch=st.one_of(
        st.lists(TEXT, max_size=6),
        st.lists(st.lists(INT32, max_size=12), max_size=6),
        st.lists(st.tuples(INT32, INT32) | st.lists(INT32, max_size=3).map(tuple), max_size=6),
    ),
    dtype=st.sampled_from([torch.int32, torch.int64]),
)
def test_pad_sequences_equals_its_definition(batch, dtype):
    tokens, lengths = torch_mt.pad_sequences(batch, dtype)
    expected_tokens, expected_lengths = padded_by_hand(batch, dtype)
    assert tokens.dtype == dtype and lengths.dtype == torch.int64
    assert torch.equal(tokens, expected_tokens) and torch.equal(lengths, expected_lengths)


class Word(str):
    """A str subclass: still a string to the packer."""


@given(
    strings=st.lists(TEXT.map(lambda t: Word(t) if len(t) % 3 == 1 else t), max_size=8),
    as_tuple=st.booleans(),
    width=st.sampled_from([0, 1, 2, 4]),
    intruder=st.none() | st.sampled_from([3, b"ab", None, ["a"]]),
    at=st.integers(0, 8),
)
def test_the_c_string_packer_equals_ord_and_len(strings, as_tuple, width, intruder, at):
    # torch_mt._text copies CPython's 1-, 2- and 4-byte storage into code
    # points of `width` bytes (0: the narrowest that holds them all).
    from torch_mt import _text

    if intruder is not None:
        strings.insert(min(at, len(strings)), intruder)
    batch = tuple(strings) if as_tuple else strings
    if intruder is not None:
        assert _text.string_width(batch) == 0 and _text.pack_strings(batch, width) is None
        return
    needed = max(
        [
            1,
            *(
                4 if max(map(ord, s)) > 0xFFFF else 2 if max(map(ord, s)) > 0xFF else 1
                for s in strings
                if s
            ),
        ]
    )
    assert _text.string_width(batch) == needed
    if width not in (0, needed) and width < needed:
        with pytest.raises(ValueError, match=f"needs {needed} bytes, more than width={width}"):
            _text.pack_strings(batch, width)
        return
    code_points, lengths, packed_width = _text.pack_strings(batch, width)
    assert packed_width == (width or needed)
    unit = {1: "B", 2: "H", 4: "i"}[packed_width]
    assert array.array(unit, bytes(code_points)).tolist() == [ord(c) for s in strings for c in s]
    assert array.array("q", bytes(lengths)).tolist() == [len(s) for s in strings]


def test_two_string_lists_take_the_narrowest_dtype_that_holds_both_sides():
    # Only equality matters: code points >= 2**15 become negative int16, and a
    # narrower side is packed again at the other side's width.
    from torch_mt.levenshtein.packing import packed_text_pair

    for a, b, dtype in [
        (["ab"], ["\xe9"], torch.uint8),
        (["ab"], ["\uffff\u8000"], torch.int16),
        (["\uffff"], ["\U0001d11e"], torch.int32),
    ]:
        a_tokens, b_tokens, *_ = packed_text_pair(a, b)
        assert a_tokens.dtype == b_tokens.dtype == dtype
        assert torch_mt.edit_distance(a, b).tolist() == [Levenshtein.distance(a[0], b[0])]
    # U+FFFF as int16 is -1; a real token -1 on the other side is no code point.
    assert torch_mt.edit_distance(["\uffff"], ["\uffff"]).tolist() == [0]
    assert torch_mt.edit_distance(["\uffff", "a"], ["\U0001d11e\uffff", "b"]).tolist() == [1, 1]


@pytest.mark.parametrize(
    "batch, dtype, error, match",
    [
        ([[1, True]], torch.int64, TypeError, r"item 0 must be a string or a sequence of ints"),
        ([[1], [2.0]], torch.int64, TypeError, r"item 1 must be a string or a sequence of ints"),
        ([[1], (2**31,)], torch.int32, ValueError, r"item 1 has a token outside the int32 range"),
        ([[2**63]], torch.int64, ValueError, r"item 0 has a token outside the int64 range"),
        (["ab", 3], torch.int64, TypeError, r"item 1 must be a string or a sequence of ints"),
        (
            ["ab", [1, 2]],
            torch.int64,
            TypeError,
            r"item 1 is a sequence of ints but item 0 is a string: a batch holds strings or int "
            r"sequences, not both",
        ),
        ([[1], "ab"], torch.int32, TypeError, r"item 1 is a string but item 0 is a sequence"),
    ],
)
def test_pad_sequences_refuses_what_is_not_a_token_naming_the_item(batch, dtype, error, match):
    with pytest.raises(error, match=match):
        torch_mt.pad_sequences(batch, dtype)


# ---- mt::edit_distance_text from C++: any bytes, valid UTF-8 or not ---------------

#: A C++ caller of mt::edit_distance_text, through the dispatcher, with raw bytes
#: (Python cannot hand over invalid UTF-8 in a str).
UTF8_CALLER = r"""
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/library.h>

at::Tensor distance_to_empty(const at::Tensor& bytes) {
  const std::string text(reinterpret_cast<const char*>(bytes.const_data_ptr<uint8_t>()),
                         bytes.numel());
  const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("mt::edit_distance_text", "");
  // A boxed call passes every argument: max_distance=None too.
  torch::jit::Stack stack{std::vector<std::string>{text}, std::vector<std::string>{""},
                          c10::IValue()};
  op.callBoxed(&stack);
  return stack.back().toTensor();
}

TORCH_LIBRARY(utf8_caller, m) {
  m.def("distance_to_empty(Tensor bytes) -> Tensor", &distance_to_empty);
}
"""


@pytest.fixture(scope="module")
def utf8_caller():
    import pathlib

    import torch_mt.cpp_extension

    build = pathlib.Path(__file__).resolve().parent.parent / "build" / "utf8_caller"
    build.mkdir(parents=True, exist_ok=True)
    source = build / "utf8_caller.cpp"
    if not source.exists() or source.read_text() != UTF8_CALLER:
        source.write_text(UTF8_CALLER)
    torch_mt.cpp_extension.load("torch_mt_utf8_caller", [str(source)], build_directory=str(build))
    return torch.ops.utf8_caller.distance_to_empty


# Bytes near the edges of UTF-8: ASCII, continuation bytes, every lead kind,
# overlong leads (C0, C1, E0 80, F0 80), F4 90 (past U+10FFFF), F5-FF.
UTF8_BYTES = st.lists(
    st.sampled_from([0x00, 0x41, 0x7F, 0x80, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0,
                     0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0x90, 0x8F])
    | st.integers(0, 255),
    max_size=12,
)  # fmt: skip


@given(
    data=UTF8_BYTES | st.text(max_size=8).map(lambda t: list(t.encode("utf-8", "surrogatepass")))
)
def test_text_op_decodes_utf8_as_python_does_and_names_invalid_bytes(utf8_caller, data):
    try:  # surrogatepass: the op keeps encoded surrogates as code points, as Python here
        expected = len(bytes(data).decode("utf-8", "surrogatepass"))
    except UnicodeDecodeError:
        expected = None
    bytes_tensor = torch.tensor(data, dtype=torch.uint8)
    if expected is None:
        with pytest.raises(ValueError, match=r"mt::edit_distance_text: a\[0\] is not valid UTF-8"):
            utf8_caller(bytes_tensor)
    else:
        assert utf8_caller(bytes_tensor).tolist() == [expected]


def test_string_lists_with_a_lone_surrogate_take_the_code_point_path():
    # str[] cannot carry "\ud800" (no UTF-8 form): the wrapper falls back.
    assert torch_mt.edit_distance_pairwise(["\ud800a", "b"], ["a"]).tolist() == [[1], [1]]
    assert torch_mt.edit_distance(["\ud800a"], ["a"]).tolist() == [1]
    with pytest.raises(RuntimeError, match="Expected a value of type 'List\\[str\\]'"):
        torch.ops.mt.edit_distance_text(["\ud800"], ["a"])
