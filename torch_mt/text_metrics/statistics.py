"""The text-metrics operators' wrappers: sacrebleu's per-sentence statistics,
scores from statistics, and pairwise sentence scores.

In eager mode each string-taking wrapper hands the Python lists to
``torch_mt._text``, whose C++ reads every ``str`` in place on the pool (no
conversion at the dispatcher, no Python per sentence). Under torch.compile,
or where that path declines the arguments, the ``torch.ops.mt`` operator
runs instead and raises its error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

import torch
from torch import Tensor

from .. import _text
from .fakes import BLEU_COLUMNS

Streams = Sequence[Sequence[str]]


def _as_list(op: str, name: str, texts: Sequence[str]) -> list:
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(
            f"torch_mt.{op}: argument '{name}' must be a list of strings, "
            f"got {type(texts).__name__}"
        )
    return texts if type(texts) is list else list(texts)


def _as_streams(op: str, references: Streams) -> list:
    """sacrebleu's references: a list of streams, stream r holding reference r
    of every sentence. A flat list of strings is refused (sacrebleu would read
    each string as a stream of characters)."""
    if isinstance(references, str) or not isinstance(references, Sequence):
        raise TypeError(
            f"torch_mt.{op}: argument 'references' must be a list of reference streams, "
            f"got {type(references).__name__}"
        )
    if references and isinstance(references[0], str):
        raise TypeError(
            f"torch_mt.{op}: argument 'references' must be a list of reference streams "
            "(lists of strings), got a list of str; for one reference per sentence pass "
            "[references]"
        )
    return [_as_list(op, f"references[{r}]", stream) for r, stream in enumerate(references)]


def _tensor(buffer: bytearray, dtype: torch.dtype, shape: tuple[int, ...]) -> Tensor:
    if not buffer:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(buffer, dtype=dtype).reshape(shape)


def _in_place() -> bool:
    """The Python-strings path runs in eager mode only (Dynamo cannot trace a
    C extension's call, and must not: the operator is the graph's node)."""
    return not torch.compiler.is_compiling()


Output = tuple[torch.dtype, tuple[int, ...]]


def from_strings(name: str, args: tuple, *outputs: Output) -> Any:
    """The family's one way from strings to tensors: operator ``mt::<name>``
    on ``args`` (in its schema's order), through the same C++ kernel either way.

    In eager Python, ``torch_mt._text.<name>`` (the same arguments) hands the
    kernel each ``str`` where it lies, with no copy at the dispatcher, and
    returns the outputs' bytes (``outputs``: each one's dtype and shape); it
    returns None for arguments it does not take, and the operator's path then
    raises the error. Traced or scripted, the operator runs itself.
    """
    if _in_place():
        result = getattr(_text, name)(*args)
        if result is not None:
            if len(outputs) == 1:
                return _tensor(result, *outputs[0])
            return tuple(_tensor(buffer, *output) for buffer, output in zip(result, outputs))
    return getattr(torch.ops.mt, name)(*args)


def bleu_statistics(
    hypotheses: Sequence[str],
    references: Streams,
    *,
    tokenize: str = "13a",
    lowercase: bool = False,
) -> Tensor:
    """sacrebleu's BLEU statistics of every sentence, sentences in parallel.

    Row ``i`` is what ``sacrebleu.BLEU(tokenize=..., lowercase=...)`` keeps for
    hypothesis ``i``: its length in tokens, the closest reference length (ties
    to the shorter), then matched and total n-grams for n = 1..4 (matches
    clipped by the largest count in any one reference).

    Args:
        hypotheses: ``N`` strings.
        references: reference streams, each a list of ``N`` strings
            (``references[r][i]`` is reference ``r`` of hypothesis ``i``).
        tokenize: ``"13a"`` (sacrebleu's default), ``"none"``, ``"char"`` or ``"intl"``.
        lowercase: lowercase (``str.lower``) before tokenizing.

    Returns:
        int64 tensor ``[N, 10]``: hyp_len, ref_len, correct[1..4], total[1..4].

    Raises:
        TypeError: a non-string item (named), or references not a list of streams.
        ValueError: an unknown tokenizer, no stream, or a stream whose length
            differs from the hypotheses'.

    Example:
        >>> bleu_statistics(["the cat sat"], [["the cat sat down"]]).tolist()
        [[3, 4, 3, 2, 1, 0, 3, 2, 1, 0]]
    """
    hyps = _as_list("bleu_statistics", "hypotheses", hypotheses)
    streams = _as_streams("bleu_statistics", references)
    args = (hyps, streams, tokenize, lowercase)
    return from_strings("bleu_statistics", args, (torch.int64, (len(hyps), BLEU_COLUMNS)))


def chrf_statistics(
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
    """sacrebleu's chrF statistics of every sentence, sentences in parallel.

    For each order (characters 1..``char_order``, then words 1..``word_order``)
    the hypothesis n-grams, the reference n-grams and the matches, against the
    reference with the best sentence chrF (the first of equals), as
    ``sacrebleu.CHRF`` keeps them.

    Args:
        hypotheses: ``N`` strings.
        references: reference streams, each a list of ``N`` strings.
        char_order: character n-gram order (sacrebleu's 6).
        word_order: word n-gram order (2 gives chrF++).
        beta: recall's weight, used to pick the best reference.
        lowercase: lowercase (``str.lower``) first.
        whitespace: keep whitespace in the character n-grams.
        eps_smoothing: sacrebleu's ``eps_smoothing`` (for picking the reference).

    Returns:
        int64 tensor ``[N, 3 * (char_order + word_order)]``.

    Raises:
        TypeError: a non-string item (named), or references not a list of streams.
        ValueError: negative orders or beta, both orders 0, no stream, or a
            stream whose length differs from the hypotheses'.

    Example:
        >>> chrf_statistics(["ab"], [["abc"]], char_order=2).tolist()
        [[2, 3, 2, 1, 2, 1]]
    """
    hyps = _as_list("chrf_statistics", "hypotheses", hypotheses)
    streams = _as_streams("chrf_statistics", references)
    args = (hyps, streams, char_order, word_order, beta, lowercase, whitespace, eps_smoothing)
    shape = (len(hyps), 3 * (char_order + word_order))
    return from_strings("chrf_statistics", args, (torch.int64, shape))


def ter_statistics(
    hypotheses: Sequence[str],
    references: Streams,
    *,
    normalized: bool = False,
    no_punct: bool = False,
    asian_support: bool = False,
    case_sensitive: bool = False,
) -> tuple[Tensor, Tensor]:
    """sacrebleu's TER statistics of every sentence, sentences in parallel.

    The fewest edits (insertions, deletions, substitutions and word shifts,
    found by sacrebleu's beam search) over the references, and the mean
    reference length in words, as ``sacrebleu.TER`` keeps them.

    Args:
        hypotheses: ``N`` strings.
        references: reference streams, each a list of ``N`` strings.
        normalized: Tercom's normalisation (punctuation, entities, possessives).
        no_punct: remove punctuation.
        asian_support: split CJK characters and punctuation (with the above).
        case_sensitive: do not lowercase.

    Returns:
        ``(edits, ref_lengths)``: int64 ``[N]`` and float64 ``[N]``.

    Raises:
        TypeError: a non-string item (named), or references not a list of streams.
        ValueError: no stream, or a stream whose length differs from the hypotheses'.

    Example:
        >>> edits, lengths = ter_statistics(["b c a"], [["a b c"]])
        >>> edits.tolist(), lengths.tolist()
        ([1], [3.0])
    """
    hyps = _as_list("ter_statistics", "hypotheses", hypotheses)
    streams = _as_streams("ter_statistics", references)
    args = (hyps, streams, normalized, no_punct, asian_support, case_sensitive)
    count = (len(hyps),)
    return from_strings("ter_statistics", args, (torch.int64, count), (torch.float64, count))


def bleu_scores(
    statistics: Tensor,
    *,
    smooth_method: str = "exp",
    smooth_value: Optional[float] = None,
    use_effective_order: bool = True,
) -> Tensor:
    """Sentence BLEU of every row of :func:`bleu_statistics`, in parallel.

    sacrebleu's ``BLEU.compute_bleu`` (max order 4) on each row, same float64
    operations in the same order: equal to its scores to the last bit.

    Args:
        statistics: int64 ``[N, 10]`` rows of :func:`bleu_statistics` (or sums of them).
        smooth_method: ``"exp"``, ``"floor"``, ``"add-k"`` or ``"none"``.
        smooth_value: the floor (default 0.1) or k (default 1); ignored otherwise.
        use_effective_order: stop at the highest order with any n-gram
            (sacrebleu's default for sentence BLEU).

    Returns:
        float64 tensor ``[N]``, scores in [0, 100].

    Raises:
        TypeError: statistics not int64.
        ValueError: statistics not ``[N, 10]``, an unknown method, a non-finite value.

    Example:
        >>> bleu_scores(bleu_statistics(["a b c d"], [["a b c d"]])).tolist()  # as sacrebleu's
        [100.00000000000004]
    """
    return torch.ops.mt.bleu_scores(statistics, smooth_method, smooth_value, use_effective_order)


def chrf_scores(
    statistics: Tensor,
    *,
    char_order: int = 6,
    word_order: int = 0,
    beta: int = 2,
    eps_smoothing: bool = False,
) -> Tensor:
    """chrF of every row of :func:`chrf_statistics`, in parallel.

    sacrebleu's ``CHRF._compute_f_score`` on each row, same float64
    operations in the same order: equal to its scores to the last bit.

    Args:
        statistics: int64 ``[N, 3 * (char_order + word_order)]`` (rows or their sums).
        char_order: the character order the statistics were counted with.
        word_order: the word order likewise.
        beta: recall's weight.
        eps_smoothing: chrF++.py's smoothing instead of sacrebleu's effective order.

    Returns:
        float64 tensor ``[N]``, scores in [0, 100].

    Raises:
        TypeError: statistics not int64.
        ValueError: a row length other than ``3 * (char_order + word_order)``,
            negative orders or beta, both orders 0.

    Example:
        >>> chrf_scores(chrf_statistics(["ab"], [["ab"]], char_order=2), char_order=2).tolist()
        [100.0]
    """
    return torch.ops.mt.chrf_scores(statistics, char_order, word_order, beta, eps_smoothing)


def pairwise_bleu(
    a: Sequence[str],
    b: Sequence[str],
    *,
    tokenize: str = "13a",
    smooth_method: str = "exp",
    smooth_value: Optional[float] = None,
    lowercase: bool = False,
    use_effective_order: bool = True,
) -> Tensor:
    """Sentence BLEU of every ``a[i]`` against every ``b[j]``, rows in parallel.

    ``out[i, j]`` equals ``sacrebleu.sentence_bleu(a[i], [b[j]], ...).score``.
    Each sentence is tokenized once; self-BLEU and MBR decoding score a list
    against itself (``pairwise_bleu(c, c)``).

    Args:
        a: ``A`` hypotheses.
        b: ``B`` references (one each).
        tokenize: ``"13a"``, ``"none"``, ``"char"`` or ``"intl"``.
        smooth_method: ``"exp"``, ``"floor"``, ``"add-k"`` or ``"none"``.
        smooth_value: the floor or k; None for sacrebleu's defaults.
        lowercase: lowercase first.
        use_effective_order: as sacrebleu's sentence_bleu (on by default).

    Returns:
        float64 tensor ``[A, B]``.

    Raises:
        TypeError: a non-string item (named).
        ValueError: an unknown tokenizer or smoothing method, a non-finite value.

    Example:
        >>> pairwise_bleu(["a b c d"], ["a b c d", "x y"]).tolist()  # as sacrebleu's
        [[100.00000000000004, 0.0]]
    """
    left, right = _as_list("pairwise_bleu", "a", a), _as_list("pairwise_bleu", "b", b)
    value = None if smooth_value is None else float(smooth_value)
    args = (left, right, tokenize, smooth_method, value, lowercase, use_effective_order)
    return from_strings("pairwise_bleu", args, (torch.float64, (len(left), len(right))))


def pairwise_chrf(
    a: Sequence[str],
    b: Sequence[str],
    *,
    char_order: int = 6,
    word_order: int = 0,
    beta: int = 2,
    lowercase: bool = False,
    whitespace: bool = False,
    eps_smoothing: bool = False,
) -> Tensor:
    """Sentence chrF of every ``a[i]`` against every ``b[j]``, rows in parallel.

    ``out[i, j]`` equals ``sacrebleu.sentence_chrf(a[i], [b[j]], ...).score``.
    Each sentence's n-grams are counted once; a pair is then one merge of
    sorted counts per order.

    Args:
        a: ``A`` hypotheses.
        b: ``B`` references (one each).
        char_order: character n-gram order.
        word_order: word n-gram order (2: chrF++).
        beta: recall's weight.
        lowercase: lowercase first.
        whitespace: keep whitespace in the character n-grams.
        eps_smoothing: chrF++.py's smoothing.

    Returns:
        float64 tensor ``[A, B]``.

    Raises:
        TypeError: a non-string item (named).
        ValueError: negative orders or beta, or both orders 0.

    Example:
        >>> pairwise_chrf(["abc"], ["abc", "xyz"]).tolist()
        [[100.0, 0.0]]
    """
    left, right = _as_list("pairwise_chrf", "a", a), _as_list("pairwise_chrf", "b", b)
    args = (left, right, char_order, word_order, beta, lowercase, whitespace, eps_smoothing)
    return from_strings("pairwise_chrf", args, (torch.float64, (len(left), len(right))))
