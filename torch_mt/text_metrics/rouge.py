"""ROUGE as Google's rouge-score 0.1.2 computes it, in C++ on the pool
(ops/text_metrics/rouge.cpp): ``rouge`` (every pair, any reference count) and
``pairwise_rouge`` (every prediction against every target: MBR, rewards).
The drop-ins for rouge-score's and torchmetrics' classes are in
``rouge_dropins.py``.

Scores equal rouge-score's to the last bit, stemmer on or off, on any text
(docs/ops/text_metrics.md, "ROUGE").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, Union

import torch
from torch import Tensor

from .statistics import _as_list, from_strings

#: rouge-score's usual choice, and the default here.
DEFAULT_ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")

References = Sequence[Union[str, Sequence[str]]]


def _strings(op: str, name: str, texts: Sequence[str]) -> list[str]:
    """``texts`` as a list (``_as_list``), every item a str (a TypeError
    naming the first that is not)."""
    texts = _as_list(op, name, texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(
                f"torch_mt.{op}: argument '{name}' item {i} must be a str, "
                f"got {type(text).__name__}"
            )
    return texts


def _flat_references(op: str, references: References) -> tuple[list[str], Optional[list[int]]]:
    """Each item a str (one reference) or a list of str (several): the flat
    list, and the counts (None when every item is one str)."""
    if isinstance(references, str) or not isinstance(references, Sequence):
        raise TypeError(
            f"torch_mt.{op}: argument 'references' must be a list of strings or of lists of "
            f"strings, got {type(references).__name__}"
        )
    if all(type(item) is str for item in references):
        return references if type(references) is list else list(references), None
    flat, counts = [], []
    for i, item in enumerate(references):
        texts = [item] if isinstance(item, str) else _strings(op, f"references[{i}]", item)
        if not texts:
            raise ValueError(
                f"torch_mt.{op}: argument 'references' item {i} is an empty list "
                "(give at least one reference per prediction)"
            )
        flat += texts
        counts.append(len(texts))
    return flat, counts


def _types(op: str, rouge_types: Sequence[str]) -> list[str]:
    if isinstance(rouge_types, str):
        raise TypeError(
            f"torch_mt.{op}: argument 'rouge_types' must be a list of names, got str "
            f"(write ['{rouge_types}'])"
        )
    return _strings(op, "rouge_types", rouge_types)


def rouge_scores(
    predictions: Sequence[str],
    references: Sequence[str],
    reference_counts: Optional[Sequence[int]] = None,
    rouge_types: Sequence[str] = DEFAULT_ROUGE_TYPES,
    *,
    use_stemmer: bool = False,
) -> Tensor:
    """rouge-score's Scores of every prediction, as one tensor (``mt::rouge_scores``).

    Args:
        predictions: ``N`` strings.
        references: the references, flat: prediction ``i``'s are the next
            ``reference_counts[i]`` strings (one each when None).
        reference_counts: ``N`` counts, each at least 1, or None.
        rouge_types: names among ``"rouge1"`` .. ``"rouge9"``, ``"rougeL"``, ``"rougeLsum"``.
        use_stemmer: stem words of more than 3 letters with NLTK's Porter stemmer.

    Returns:
        float64 tensor ``[len(rouge_types), N, 3]``: precision, recall and
        fmeasure, against the reference with the highest fmeasure (the first
        of equals), as ``RougeScorer.score_multi`` picks it.

    Raises:
        TypeError: a non-str item (named).
        ValueError: an unknown or empty ``rouge_types``, counts that do not
            match the references, a count below 1.

    Example:
        >>> rouge_scores(["the cat sat"], ["the cat sat down"], None, ["rouge1"]).tolist()
        [[[1.0, 0.75, 0.8571428571428571]]]
    """
    predictions = _as_list("rouge_scores", "predictions", predictions)
    references = _as_list("rouge_scores", "references", references)
    counts = None if reference_counts is None else list(reference_counts)
    rouge_types = _types("rouge_scores", rouge_types)
    args = (predictions, references, counts, rouge_types, use_stemmer)
    shape = (len(rouge_types), len(predictions), 3)
    return from_strings("rouge_scores", args, (torch.float64, shape))


def rouge(
    predictions: Sequence[str],
    references: References,
    *,
    rouge_types: Sequence[str] = DEFAULT_ROUGE_TYPES,
    use_stemmer: bool = False,
    split_summaries: bool = False,
) -> dict[str, Tensor]:
    """ROUGE of every (prediction, references) pair, pairs in parallel.

    ``rouge(p, r)[t][i]`` equals
    ``RougeScorer([t], use_stemmer=...).score(r[i], p[i])[t]`` (or
    ``score_multi(r[i], p[i])`` when ``r[i]`` is a list) to the last bit.

    Args:
        predictions: ``N`` strings.
        references: ``N`` items, each a string or a non-empty list of strings.
        rouge_types: names among ``"rouge1"`` .. ``"rouge9"``, ``"rougeL"``,
            ``"rougeLsum"`` (summary-level LCS over the lines of each text).
        use_stemmer: stem words of more than 3 letters (NLTK's Porter stemmer,
            as rouge-score does).
        split_summaries: split rougeLsum's sentences with NLTK's
            ``sent_tokenize`` (as rouge-score does; it needs NLTK and its punkt
            model) instead of on newlines.

    Returns:
        ``{type: float64 tensor [N, 3]}``: precision, recall, fmeasure.

    Raises:
        TypeError: a non-str item (named).
        ValueError: an unknown type, an empty ``rouge_types``, an empty list
            of references, or ``len(references) != len(predictions)``.

    Example:
        >>> scores = rouge(["the cats sat"], ["the cat sat down"], rouge_types=["rougeL"],
        ...                use_stemmer=True)
        >>> scores["rougeL"].tolist()
        [[1.0, 0.75, 0.8571428571428571]]
    """
    predictions = _as_list("rouge", "predictions", predictions)
    flat, counts = _flat_references("rouge", references)
    if len(references) != len(predictions):
        raise ValueError(
            f"torch_mt.rouge: argument 'references' has {len(references)} items but "
            f"'predictions' has {len(predictions)}"
        )
    names = _types("rouge", rouge_types)
    # Split into sentences, rougeLsum reads other texts: it is scored on its
    # own, every other type in one call.
    split = split_summaries and "rougeLsum" in names
    plain = [name for name in names if not (split and name == "rougeLsum")]
    result = {}
    if plain or not split:  # an empty rouge_types gets the operator's error
        scores = rouge_scores(predictions, flat, counts, plain, use_stemmer=use_stemmer)
        result.update(zip(plain, scores))
    if split:
        lined = (
            [sentences_as_lines(text) for text in predictions],
            [sentences_as_lines(text) for text in flat],
        )
        scores = rouge_scores(*lined, counts, ["rougeLsum"], use_stemmer=use_stemmer)
        result["rougeLsum"] = scores[0]
    return {name: result[name] for name in names}


def sentences_as_lines(text: str) -> str:
    """``text``'s sentences by NLTK's ``sent_tokenize`` (which needs NLTK's
    punkt model), one a line: what rougeLsum splits. A sentence's own
    newlines become spaces (both only separate words)."""
    import nltk

    return "\n".join(sentence.replace("\n", " ") for sentence in nltk.sent_tokenize(text))


def pairwise_rouge(
    a: Sequence[str],
    b: Sequence[str],
    *,
    rouge_type: str = "rougeL",
    use_stemmer: bool = False,
) -> Tensor:
    """The ROUGE fmeasure of every string of ``a`` against every string of
    ``b``, rows in parallel, each string tokenized once: minimum Bayes risk
    decoding, self-ROUGE, rewards.

    Args:
        a: ``A`` strings, the predictions.
        b: ``B`` strings, the targets.
        rouge_type: one of ``"rouge1"`` .. ``"rouge9"``, ``"rougeL"``, ``"rougeLsum"``.
        use_stemmer: stem words of more than 3 letters, as rouge-score does.

    Returns:
        float64 tensor ``[A, B]``: entry ``[i, j]`` is
        ``RougeScorer([rouge_type], use_stemmer).score(b[j], a[i])[rouge_type].fmeasure``.

    Raises:
        TypeError: a non-str item (named).
        ValueError: an unknown ``rouge_type``.

    Example:
        >>> pairwise_rouge(["the cat sat", "a dog"], ["the cat sat down"]).tolist()
        [[0.8571428571428571], [0.0]]
    """
    a, b = _as_list("pairwise_rouge", "a", a), _as_list("pairwise_rouge", "b", b)
    args = (a, b, rouge_type, use_stemmer)
    return from_strings("pairwise_rouge", args, (torch.float64, (len(a), len(b))))
