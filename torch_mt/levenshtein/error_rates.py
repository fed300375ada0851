"""Word and character error rates (jiwer's definitions) on ``mt::edit_distance``."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import torch
from torch import Tensor

from .packing import packed_or_padded, packed_text_pair


def word_error_rate(
    hypotheses: Sequence[str], references: Sequence[str], *, per_utterance: bool = False
) -> Tensor:
    """Word error rate of a corpus: word-level edits / reference words, pairs in parallel.

    Words as jiwer 4 splits them by default: runs of two or more whitespace
    characters become one space, the ends are stripped, and words are what
    lies between spaces (so a single tab or newline does not split). Words get
    ids from one vocabulary shared by both sides, and ``mt::edit_distance``
    counts the edits of every pair. Equal to ``jiwer.wer(references,
    hypotheses)``, corner cases included: when every reference is empty the
    rate is the number of inserted words (jiwer's rule), not a division by 0.

    Args:
        hypotheses: ``B`` strings, the system's output.
        references: ``B`` strings, the ground truth.
        per_utterance: return each pair's own rate instead of the corpus rate
            (for a pair with an empty reference: its inserted words).

    Returns:
        float64 tensor: ``[]`` (corpus) or ``[B]`` (``per_utterance``).

    Raises:
        TypeError: an argument is not a list of strings (names it and the item).
        ValueError: the two lists differ in length.

    Example:
        >>> word_error_rate(["the cat sat"], ["the cat sat down"]).item()
        0.25
    """
    hyps, refs = _utterances("word_error_rate", hypotheses, references)
    hyp_words = [_words(text) for text in hyps]
    ref_words = [_words(text) for text in refs]
    vocabulary = {
        word: i for i, word in enumerate(dict.fromkeys(itertools.chain(*hyp_words, *ref_words)))
    }
    as_ids = lambda sentences: [list(map(vocabulary.__getitem__, words)) for words in sentences]  # noqa: E731
    return _error_rate(as_ids(hyp_words), as_ids(ref_words), per_utterance)


def char_error_rate(
    hypotheses: Sequence[str], references: Sequence[str], *, per_utterance: bool = False
) -> Tensor:
    """Character error rate of a corpus: character edits / reference characters.

    Characters as jiwer 4 takes them by default: each string stripped at both
    ends, then every code point (inner spaces included) is one token. Equal to
    ``jiwer.cer(references, hypotheses)``, the all-empty-references case
    included (the rate is then the number of inserted characters).

    Args:
        hypotheses: ``B`` strings, the system's output.
        references: ``B`` strings, the ground truth.
        per_utterance: return each pair's own rate instead of the corpus rate.

    Returns:
        float64 tensor: ``[]`` (corpus) or ``[B]`` (``per_utterance``).

    Raises:
        TypeError: an argument is not a list of strings (names it and the item).
        ValueError: the two lists differ in length.

    Example:
        >>> char_error_rate(["kitten"], ["sitting"]).item()
        0.42857142857142855
    """
    hyps, refs = _utterances("char_error_rate", hypotheses, references)
    return _error_rate(list(map(str.strip, hyps)), list(map(str.strip, refs)), per_utterance)


#: jiwer's RemoveMultipleSpaces: two or more whitespace characters become one space.
_WHITESPACE_RUN = re.compile(r"\s\s+")


def _words(text: str) -> list[str]:
    return [word for word in _WHITESPACE_RUN.sub(" ", text).strip().split(" ") if word]


def _utterances(op: str, hypotheses: Sequence[str], references: Sequence[str]):
    for name, texts in (("hypotheses", hypotheses), ("references", references)):
        if isinstance(texts, str) or not isinstance(texts, Sequence):
            raise TypeError(
                f"torch_mt.{op}: argument '{name}' must be a list of strings, "
                f"got {type(texts).__name__}"
            )
        if set(map(type, texts)) - {str}:
            position = next(i for i, text in enumerate(texts) if not isinstance(text, str))
            raise TypeError(
                f"torch_mt.{op}: argument '{name}': item {position} must be a string, "
                f"got {type(texts[position]).__name__}"
            )
    if len(hypotheses) != len(references):
        raise ValueError(
            f"torch_mt.{op}: arguments 'hypotheses' and 'references' must have the same "
            f"length, got {len(hypotheses)} and {len(references)}"
        )
    return hypotheses, references


def _error_rate(hypotheses: list, references: list, per_utterance: bool) -> Tensor:
    """Edits / reference tokens, or the edits alone where there are no
    reference tokens (jiwer's rule for an empty reference)."""
    text = packed_text_pair(references, hypotheses)
    if text is not None:  # characters
        ref_tokens, hyp_tokens, ref_lengths, hyp_lengths = text
    else:  # word ids below the vocabulary size (int32 fits), or no utterances
        hyp_tokens, hyp_lengths = packed_or_padded(hypotheses, torch.int32)
        ref_tokens, ref_lengths = packed_or_padded(references, torch.int32)
    edits = torch.ops.mt.edit_distance(ref_tokens, hyp_tokens, ref_lengths, hyp_lengths).double()
    if per_utterance:
        return torch.where(ref_lengths > 0, edits / ref_lengths.clamp(min=1), edits)
    total = ref_lengths.sum()
    return edits.sum() / total if total > 0 else edits.sum()
