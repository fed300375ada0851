"""sacrebleu's corpus and sentence scores (BLEU, chrF, TER) on the family's
statistics operators: the same arguments, defaults and numbers.

A corpus score sums the per-sentence statistics (integers: exact) and applies
sacrebleu's formula once; a sentence score applies it to every row, in C++
(``mt::bleu_scores``, ``mt::chrf_scores``) or with tensor arithmetic (TER).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor

from .fakes import BLEU_COLUMNS
from .statistics import (
    Streams,
    bleu_scores,
    bleu_statistics,
    chrf_scores,
    chrf_statistics,
    ter_statistics,
)


@dataclass(frozen=True)
class BLEUScore:
    """sacrebleu's ``BLEUScore`` fields: the score (0-100), matched and total
    n-grams for n = 1..4 (with add-k smoothing, as sacrebleu reports them:
    plus k from n = 2), the precisions, the brevity penalty and the lengths."""

    score: float
    counts: list
    totals: list
    precisions: list[float]
    bp: float
    sys_len: int
    ref_len: int


@dataclass(frozen=True)
class CHRFScore:
    """sacrebleu's ``CHRFScore`` fields."""

    score: float
    char_order: int
    word_order: int
    beta: int


@dataclass(frozen=True)
class TERScore:
    """sacrebleu's ``TERScore`` fields: the score (0-100 and above), the edits
    and the summed mean reference lengths."""

    score: float
    num_edits: int
    ref_length: float


#: sacrebleu's defaults for a smoothing value left as None.
_SMOOTH_DEFAULTS = {"floor": 0.1, "add-k": 1}


def _bleu_from_totals(
    totals: Tensor, smooth_method: str, smooth_value: Optional[float], effective_order: bool
) -> BLEUScore:
    """BLEU of summed statistics by the family's one BLEU formula, in C++
    (``mt::_bleu_details``: sacrebleu's compute_bleu), its logs summed as the
    running Python's built-in ``sum`` adds them, as sacrebleu's are."""
    value = None if smooth_value is None else float(smooth_value)
    compensated = sys.version_info >= (3, 12)  # sum() compensates floats from 3.12 on
    row = torch.ops.mt._bleu_details(
        totals.reshape(1, BLEU_COLUMNS), smooth_method, value, effective_order, compensated
    )[0].tolist()
    # sacrebleu's counts and totals are ints, but floats where it added a
    # float k (add-k, from order 2 on, the orders its loop reached).
    k = _SMOOTH_DEFAULTS.get(smooth_method) if smooth_value is None else smooth_value
    smoothed = int(row[14]) if isinstance(k, float) else 0

    def typed(values: list[float]) -> list:
        return [v if 1 <= n < smoothed else int(v) for n, v in enumerate(values)]

    sys_len, ref_len = (int(v) for v in totals[:2].tolist())
    return BLEUScore(
        row[0], typed(row[6:10]), typed(row[10:14]), row[2:6], row[1], sys_len, ref_len
    )


def _check_smoothing(op: str, smooth_method: str, smooth_value: Optional[float]) -> None:
    torch.ops.mt._text_metrics_checks(op, -1, [], "13a", smooth_method, smooth_value, 6, 0, 2)


def corpus_bleu(
    hypotheses: Sequence[str],
    references: Streams,
    *,
    tokenize: str = "13a",
    smooth_method: str = "exp",
    smooth_value: Optional[float] = None,
    lowercase: bool = False,
    force: bool = False,
    use_effective_order: bool = False,
) -> BLEUScore:
    """Corpus BLEU, equal to ``sacrebleu.corpus_bleu`` (score, counts, totals,
    precisions, BP and lengths), sentences counted in parallel.

    Args:
        hypotheses: ``N`` strings.
        references: reference streams, each a list of ``N`` strings.
        tokenize: ``"13a"``, ``"none"``, ``"char"`` or ``"intl"``.
        smooth_method: ``"exp"``, ``"floor"``, ``"add-k"`` or ``"none"``.
        smooth_value: the floor or k; None for sacrebleu's defaults (0.1, 1).
        lowercase: lowercase first.
        force: accepted for sacrebleu's signature; it only silences sacrebleu's
            warning about tokenized input, which torch_mt does not give.
        use_effective_order: stop at the highest order with any n-gram.

    Returns:
        :class:`BLEUScore` (no corpus: a score of 0).

    Raises:
        TypeError: a non-string item (named), or references not a list of streams.
        ValueError: an unknown tokenizer or smoothing method, no stream, or a
            stream whose length differs from the hypotheses'.

    Example:
        >>> round(corpus_bleu(["the cat sat on the mat"], [["the cat sat on a mat"]]).score, 4)
        53.7285
    """
    _check_smoothing("torch_mt.corpus_bleu", smooth_method, smooth_value)
    stats = bleu_statistics(hypotheses, references, tokenize=tokenize, lowercase=lowercase)
    return _bleu_from_totals(stats.sum(0), smooth_method, smooth_value, use_effective_order)


def sentence_bleu(
    hypotheses: Sequence[str],
    references: Streams,
    *,
    tokenize: str = "13a",
    smooth_method: str = "exp",
    smooth_value: Optional[float] = None,
    lowercase: bool = False,
    use_effective_order: bool = True,
) -> Tensor:
    """Sentence BLEU of every hypothesis, in parallel: item ``i`` equals
    ``sacrebleu.sentence_bleu(hypotheses[i], [refs[i] for refs in references])``.

    Args:
        hypotheses: ``N`` strings.
        references: reference streams, each a list of ``N`` strings.
        tokenize: ``"13a"``, ``"none"``, ``"char"`` or ``"intl"``.
        smooth_method: ``"exp"``, ``"floor"``, ``"add-k"`` or ``"none"``.
        smooth_value: the floor or k; None for sacrebleu's defaults.
        lowercase: lowercase first.
        use_effective_order: on by default, as in sacrebleu's sentence_bleu.

    Returns:
        float64 tensor ``[N]``.

    Raises:
        TypeError: a non-string item (named), or references not a list of streams.
        ValueError: as :func:`corpus_bleu`.

    Example:
        >>> sentence_bleu(["a b c d", "x"], [["a b c d", "y"]]).tolist()  # as sacrebleu's
        [100.00000000000004, 0.0]
    """
    _check_smoothing("torch_mt.sentence_bleu", smooth_method, smooth_value)
    stats = bleu_statistics(hypotheses, references, tokenize=tokenize, lowercase=lowercase)
    return bleu_scores(
        stats,
        smooth_method=smooth_method,
        smooth_value=smooth_value,
        use_effective_order=use_effective_order,
    )


def corpus_chrf(
    hypotheses: Sequence[str],
    references: Streams,
    *,
    char_order: int = 6,
    word_order: int = 0,
    beta: int = 2,
    lowercase: bool = False,
    whitespace: bool = False,
    eps_smoothing: bool = False,
) -> CHRFScore:
    """Corpus chrF (chrF++ with ``word_order=2``), equal to sacrebleu's
    ``CHRF(...).corpus_score``, sentences counted in parallel.

    Args:
        hypotheses: ``N`` strings.
        references: reference streams, each a list of ``N`` strings.
        char_order: character n-gram order.
        word_order: word n-gram order.
        beta: recall's weight.
        lowercase: lowercase first.
        whitespace: keep whitespace in the character n-grams.
        eps_smoothing: chrF++.py's smoothing instead of the effective order.

    Returns:
        :class:`CHRFScore`.

    Raises:
        TypeError: a non-string item (named), or references not a list of streams.
        ValueError: negative orders or beta, both orders 0, no stream, or a
            stream whose length differs from the hypotheses'.

    Example:
        >>> round(corpus_chrf(["the cat"], [["the cats"]]).score, 4)
        77.571
    """
    options = dict(char_order=char_order, word_order=word_order, beta=beta)
    stats = chrf_statistics(
        hypotheses,
        references,
        **options,
        lowercase=lowercase,
        whitespace=whitespace,
        eps_smoothing=eps_smoothing,
    )
    score = chrf_scores(stats.sum(0, keepdim=True), **options, eps_smoothing=eps_smoothing)
    return CHRFScore(score.item(), char_order, word_order, beta)


def sentence_chrf(
    hypotheses: Sequence[str],
    references: Streams,
    *,
    char_order: int = 6,
    word_order: int = 0,
    beta: int = 2,
    lowercase: bool = False,
    whitespace: bool = False,
    eps_smoothing: bool = False,
) -> Tensor:
    """Sentence chrF of every hypothesis, in parallel: item ``i`` equals
    sacrebleu's ``CHRF(...).sentence_score(hypotheses[i], [refs[i] for refs in references])``.

    Args:
        hypotheses: ``N`` strings.
        references: reference streams, each a list of ``N`` strings.
        char_order: character n-gram order.
        word_order: word n-gram order.
        beta: recall's weight.
        lowercase: lowercase first.
        whitespace: keep whitespace in the character n-grams.
        eps_smoothing: chrF++.py's smoothing.

    Returns:
        float64 tensor ``[N]``.

    Raises:
        TypeError, ValueError: as :func:`corpus_chrf`.

    Example:
        >>> sentence_chrf(["abc", "abc"], [["abc", "xyz"]]).tolist()
        [100.0, 0.0]
    """
    options = dict(char_order=char_order, word_order=word_order, beta=beta)
    stats = chrf_statistics(
        hypotheses,
        references,
        **options,
        lowercase=lowercase,
        whitespace=whitespace,
        eps_smoothing=eps_smoothing,
    )
    return chrf_scores(stats, **options, eps_smoothing=eps_smoothing)


def corpus_ter(
    hypotheses: Sequence[str],
    references: Streams,
    *,
    normalized: bool = False,
    no_punct: bool = False,
    asian_support: bool = False,
    case_sensitive: bool = False,
) -> TERScore:
    """Corpus TER, equal to ``sacrebleu.corpus_ter`` (score, edits and
    reference length), sentences searched in parallel.

    Args:
        hypotheses: ``N`` strings.
        references: reference streams, each a list of ``N`` strings.
        normalized: Tercom's normalisation.
        no_punct: remove punctuation.
        asian_support: split CJK characters and punctuation.
        case_sensitive: do not lowercase.

    Returns:
        :class:`TERScore`.

    Raises:
        TypeError: a non-string item (named), or references not a list of streams.
        ValueError: no stream, or a stream whose length differs from the hypotheses'.

    Example:
        >>> corpus_ter(["b c a"], [["a b c"]]).score
        33.33333333333333
    """
    edits, lengths = ter_statistics(
        hypotheses,
        references,
        normalized=normalized,
        no_punct=no_punct,
        asian_support=asian_support,
        case_sensitive=case_sensitive,
    )
    total_edits = int(edits.sum())
    ref_length = 0  # summed left to right, as sacrebleu's sum_of_lists
    for length in lengths.tolist():
        ref_length += length
    if ref_length > 0:
        score = total_edits / ref_length
    else:  # empty references: 1 if anything was inserted
        score = 1.0 if total_edits > 0 else 0.0
    return TERScore(100 * score, total_edits, ref_length)


def sentence_ter(
    hypotheses: Sequence[str],
    references: Streams,
    *,
    normalized: bool = False,
    no_punct: bool = False,
    asian_support: bool = False,
    case_sensitive: bool = False,
) -> Tensor:
    """Sentence TER of every hypothesis, in parallel: item ``i`` equals
    ``sacrebleu.sentence_ter(hypotheses[i], [refs[i] for refs in references])``.

    Args:
        hypotheses: ``N`` strings.
        references: reference streams, each a list of ``N`` strings.
        normalized: Tercom's normalisation.
        no_punct: remove punctuation.
        asian_support: split CJK characters and punctuation.
        case_sensitive: do not lowercase.

    Returns:
        float64 tensor ``[N]`` (100 per edit per reference word; may exceed 100).

    Raises:
        TypeError, ValueError: as :func:`corpus_ter`.

    Example:
        >>> sentence_ter(["b c a", "x"], [["a b c", ""]]).tolist()
        [33.33333333333333, 100.0]
    """
    edits, lengths = ter_statistics(
        hypotheses,
        references,
        normalized=normalized,
        no_punct=no_punct,
        asian_support=asian_support,
        case_sensitive=case_sensitive,
    )
    inserted_only = (edits > 0).to(torch.float64)  # empty references
    rates = torch.where(lengths > 0, edits.to(torch.float64) / lengths, inserted_only)
    return 100 * rates
