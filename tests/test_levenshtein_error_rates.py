"""torch_mt.word_error_rate / char_error_rate equal jiwer 4 (an independent
implementation: its own tokenisation and rapidfuzz's alignment), at any
thread count, on random text with every kind of whitespace and empty lines."""

from __future__ import annotations

import jiwer
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import torch_mt

#: Few words, so that hypotheses and references share many; astral and
#: combining characters inside words; separators of every whitespace kind.
WORDS = st.sampled_from(["a", "b", "cat", "sat", "é", "e\u0301", "𝄞x", "日本"])
SEPARATORS = st.sampled_from([" ", "  ", "\t", " \t ", "\n", "   "])


@st.composite
def sentences(draw) -> str:
    words = draw(st.lists(WORDS, max_size=8))
    text = "".join(word + draw(SEPARATORS) for word in words)
    return draw(SEPARATORS | st.just("")) + text


@st.composite
def corpora(draw) -> tuple[list[str], list[str]]:
    size = draw(st.integers(0, 6))
    hypotheses = draw(st.lists(sentences(), min_size=size, max_size=size))
    references = draw(st.lists(sentences(), min_size=size, max_size=size))
    return hypotheses, references


@given(corpus=corpora(), threads=st.sampled_from([1, 2, 3]))
@pytest.mark.parametrize(
    "ours, theirs",
    [(torch_mt.word_error_rate, jiwer.wer), (torch_mt.char_error_rate, jiwer.cer)],
    ids=["wer", "cer"],
)
def test_error_rates_equal_jiwer(ours, theirs, corpus, threads):
    hypotheses, references = corpus
    with torch_mt.num_threads(threads):
        corpus_rate = ours(hypotheses, references)
        per_pair = ours(hypotheses, references, per_utterance=True)
    assert corpus_rate.dtype == torch.float64 and corpus_rate.shape == ()
    assert per_pair.shape == (len(references),)
    assert corpus_rate.item() == theirs(references, hypotheses)  # [] and [] included: 0
    assert per_pair.tolist() == [theirs(r, h) for r, h in zip(references, hypotheses)]


def test_all_empty_references_give_the_inserted_count_as_jiwer_does():
    assert (
        torch_mt.word_error_rate(["a b", "c"], ["", " "]).item()
        == 3
        == jiwer.wer(["", " "], ["a b", "c"])
    )
    assert torch_mt.char_error_rate([""], [""]).item() == 0 == jiwer.cer([""], [""])


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: torch_mt.word_error_rate("a b", ["a"]), TypeError, "argument 'hypotheses' must"),
        (
            lambda: torch_mt.char_error_rate(["a"], ["b", None]),
            TypeError,
            r"argument 'references': item 1 must be a string, got NoneType",
        ),
        (lambda: torch_mt.word_error_rate([1], ["a"]), TypeError, r"'hypotheses': item 0"),
        (
            lambda: torch_mt.word_error_rate(["a"], ["a", "b"]),
            ValueError,
            r"torch_mt.word_error_rate: arguments 'hypotheses' and 'references' must have "
            r"the same length, got 1 and 2",
        ),
    ],
)
def test_bad_input_names_the_function_argument_and_item(call, error, match):
    with pytest.raises(error, match=match):
        call()
