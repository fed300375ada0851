"""Levenshtein edit distance between batches of token sequences.

Wrappers around ``torch.ops.mt.edit_distance`` and
``torch.ops.mt.edit_distance_pairwise`` (kernels and shape functions in
``ops/edit_distance.cpp``).
"""

from __future__ import annotations

import array
import itertools
import re
from collections.abc import Sequence
from typing import Optional, Union

import torch
from torch import Tensor

from torch_mt import _text  # ops/python/text_packing.cpp

__all__ = [
    "char_error_rate",
    "edit_distance",
    "edit_distance_join",
    "edit_distance_pairwise",
    "edit_distance_pairwise_text",
    "edit_distance_text",
    "pad_sequences",
    "word_error_rate",
]

#: What the wrappers accept for one side: a padded ``[B, L]`` integer tensor, a
#: list of strings (compared by Unicode code point) or a list of int sequences.
SequenceBatch = Union[Tensor, Sequence[str], Sequence[Sequence[int]]]


def pad_sequences(
    sequences: Union[Sequence[str], Sequence[Sequence[int]]],
    dtype: torch.dtype = torch.int64,
) -> tuple[Tensor, Tensor]:
    """Pack strings or int sequences into a padded token tensor and its lengths.

    Args:
        sequences: ``B`` strings (tokens are Unicode code points) or ``B``
            sequences of Python ints (not both kinds in one batch).
        dtype: ``torch.int32`` or ``torch.int64`` for the tokens.

    Returns:
        ``(tokens, lengths)``: tokens of ``dtype`` and shape ``[B, max_length]``
        padded with 0, and int64 lengths ``[B]``.

    Raises:
        TypeError: an item is neither a string nor a sequence of ints, or the
            batch mixes the two.
        ValueError: a token does not fit in ``dtype``.

    Example:
        >>> tokens, lengths = pad_sequences(["ab", "c"])
        >>> tokens.tolist(), lengths.tolist()
        ([[97, 98], [99, 0]], [2, 1])
    """
    packed = _pad_in_one_buffer(sequences, dtype)
    if packed is not None:
        return packed
    # A batch the fast path refuses: item by item, which words the error
    # (which item, of what type).
    rows = [_tokens_of(item, position) for position, item in enumerate(sequences)]
    _check_one_kind(sequences)
    lengths = torch.tensor([len(row) for row in rows], dtype=torch.int64)
    width = max((len(row) for row in rows), default=0)
    tokens = torch.zeros((len(rows), width), dtype=dtype)
    for i, row in enumerate(rows):
        if row:
            try:
                tokens[i, : len(row)] = torch.tensor(row, dtype=dtype)
            except (RuntimeError, ValueError):  # torch words overflow either way
                info = torch.iinfo(dtype)
                raise ValueError(
                    f"item {i} has a token outside the {str(dtype)[6:]} range "
                    f"[{info.min}, {info.max}]"
                ) from None
    return tokens, lengths


def edit_distance(
    a: SequenceBatch,
    b: SequenceBatch,
    *,
    a_lengths: Optional[Tensor] = None,
    b_lengths: Optional[Tensor] = None,
    max_distance: Optional[int] = None,
) -> Tensor:
    """Levenshtein distance between ``a[i]`` and ``b[i]`` for every ``i``, in parallel.

    Unit cost for each insertion, deletion and substitution. Sequence ``i`` of a
    padded tensor is ``a[i, :a_lengths[i]]``; tokens past its length are ignored.
    With ``max_distance=k`` each result is ``min(distance, k + 1)``, and pairs
    that cannot come within ``k`` (lengths more than ``k`` apart, or a DP that
    has passed ``k``) stop early: much faster when most pairs are far apart.

    Args:
        a: int32/int64 tensor ``[B, La]``, or a list of ``B`` strings or int sequences.
        b: same form and dtype as ``a`` (a list is converted to the other side's dtype),
            ``B`` sequences.
        a_lengths: int64 ``[B]`` valid length of each row of a tensor ``a``, each in
            ``[0, La]``; ``None`` means the full width. Must be ``None`` for a list.
        b_lengths: likewise for ``b``.
        max_distance: a cutoff ``k >= 0``, or ``None`` (exact distances).

    Returns:
        int64 tensor ``[B]``.

    Raises:
        RuntimeError: from ``mt::edit_distance``, naming the argument: float or
            mismatched dtypes, wrong rank, different batch sizes, lengths out of
            range or not int64, tensors not on the CPU.
        TypeError, ValueError: lists that are not strings or int sequences,
            tokens that do not fit the dtype, or lengths given for a list;
            a ``max_distance`` that is not an int (a negative one: RuntimeError).

    Example:
        >>> edit_distance(["kitten", "flaw"], ["sitting", "lawn"]).tolist()
        [3, 2]
        >>> edit_distance(["kitten", "flaw"], ["sitting", "lawn"], max_distance=2).tolist()
        [3, 2]
        >>> edit_distance(["kitten", "flaw"], ["sitting", "lawn"], max_distance=1).tolist()
        [2, 2]
    """
    _check_max_distance("edit_distance", max_distance)
    a, b, a_lengths, b_lengths = _prepare("edit_distance", a, b, a_lengths, b_lengths)
    return torch.ops.mt.edit_distance(a, b, a_lengths, b_lengths, max_distance)


def edit_distance_pairwise(
    a: SequenceBatch,
    b: SequenceBatch,
    *,
    a_lengths: Optional[Tensor] = None,
    b_lengths: Optional[Tensor] = None,
    max_distance: Optional[int] = None,
) -> Tensor:
    """Levenshtein distance between every ``a[i]`` and every ``b[j]``, in parallel.

    For only the close pairs of a large corpus, without the ``[Ba, Bb]``
    matrix, see :func:`torch_mt.similarity_join`.

    Args:
        a: ``Ba`` sequences, in any form :func:`edit_distance` accepts.
        b: ``Bb`` sequences (``Bb`` may differ from ``Ba``).
        a_lengths: int64 ``[Ba]`` or ``None``; see :func:`edit_distance`.
        b_lengths: int64 ``[Bb]`` or ``None``.
        max_distance: a cutoff ``k >= 0``: cells hold ``min(distance, k + 1)``,
            and columns whose length is more than ``k`` from a row's are not
            computed at all. ``None``: exact distances.

    Returns:
        int64 tensor ``[Ba, Bb]``: ``out[i, j] = distance(a[i], b[j])``.

    Raises:
        RuntimeError: from ``mt::edit_distance_pairwise``, naming the argument
            (as for :func:`edit_distance`, without the equal-batch rule).
        TypeError, ValueError: as for :func:`edit_distance`.

    Example:
        >>> edit_distance_pairwise(["abc", "abd"], ["abc", "xbc", ""]).tolist()
        [[0, 1, 3], [1, 2, 3]]
        >>> edit_distance_pairwise(["abc", "abd"], ["abc", "xbc", ""], max_distance=1).tolist()
        [[0, 1, 2], [1, 2, 2]]
    """
    _check_max_distance("edit_distance_pairwise", max_distance)
    a, b, a_lengths, b_lengths = _prepare("edit_distance_pairwise", a, b, a_lengths, b_lengths)
    return torch.ops.mt.edit_distance_pairwise(a, b, a_lengths, b_lengths, max_distance)


def edit_distance_join(
    a: SequenceBatch,
    b: SequenceBatch,
    max_distance: int,
    *,
    a_lengths: Optional[Tensor] = None,
    b_lengths: Optional[Tensor] = None,
    diagonal: Optional[int] = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """The pairs ``(i, j)`` whose distance is at most ``max_distance``, without the grid.

    What ``edit_distance_pairwise(a, b, max_distance=k) <= k`` selects, as
    ``(i, j, distance)`` lists, and never the ``[Ba, Bb]`` matrix: rows run
    in parallel, each computing only the columns whose lengths are within
    ``k`` of its own. The building block of :func:`torch_mt.similarity_join`,
    which adds blocks over length-sorted sides, self-joins and engines.

    Args:
        a: ``Ba`` sequences, in any form :func:`edit_distance` accepts.
        b: ``Bb`` sequences.
        max_distance: the cutoff ``k >= 0``.
        a_lengths: int64 ``[Ba]`` or ``None``; see :func:`edit_distance`.
        b_lengths: int64 ``[Bb]`` or ``None``.
        diagonal: keep only pairs with ``j - i >= diagonal`` (as ``torch.triu``:
            ``1`` keeps ``j > i``, the upper triangle of a self-join); ``None``: all.

    Returns:
        ``(i, j, distance)``: three int64 tensors ``[P]``, sorted by ``i`` then ``j``.

    Raises:
        RuntimeError: from ``mt::edit_distance_join``, as for
            :func:`edit_distance_pairwise`, and a negative ``max_distance``.
        TypeError, ValueError: as for :func:`edit_distance`.

    Example:
        >>> i, j, d = edit_distance_join(["abc", "abd"], ["abc", "xbc", ""], 1)
        >>> i.tolist(), j.tolist(), d.tolist()
        ([0, 0, 1], [0, 1, 0], [0, 1, 1])
    """
    _check_max_distance("edit_distance_join", max_distance)
    a, b, a_lengths, b_lengths = _prepare("edit_distance_join", a, b, a_lengths, b_lengths)
    return torch.ops.mt.edit_distance_join(a, b, max_distance, a_lengths, b_lengths, diagonal)


@torch.library.register_fake("mt::edit_distance_join")
def _edit_distance_join_fake(
    a: Tensor,
    b: Tensor,
    max_distance: int,
    a_lengths: Optional[Tensor] = None,
    b_lengths: Optional[Tensor] = None,
    diagonal: Optional[int] = None,
) -> tuple[Tensor, Tensor, Tensor]:
    # The join takes exactly the grid's arguments: the grid's shape function
    # (its Meta kernel, in C++) checks them, in the join's words.
    try:
        grid = torch.ops.mt.edit_distance_pairwise(a, b, a_lengths, b_lengths, max_distance)
    except RuntimeError as error:
        raise RuntimeError(
            str(error).replace("mt::edit_distance_pairwise", "mt::edit_distance_join")
        ) from None
    cells = grid.shape[0] * grid.shape[1]
    ctx = torch.library.get_ctx()
    if isinstance(cells, int):  # a static grid bounds the pair count
        pairs = 0 if cells == 0 else ctx.new_dynamic_size(max=cells)
    else:
        pairs = ctx.new_dynamic_size()
    return tuple(a.new_empty((pairs,), dtype=torch.int64) for _ in range(3))


def edit_distance_text(a: list[str], b: list[str], *, max_distance: Optional[int] = None) -> Tensor:
    """Levenshtein distance between strings ``a[i]`` and ``b[i]`` by code point, in parallel.

    The ``str[]`` companion of ``mt::edit_distance``: it works inside
    TorchScript (a scripted function taking ``List[str]`` can call
    ``torch.ops.mt.edit_distance_text``) and from C++. The kernel decodes
    each pair's UTF-8 on the pool just before comparing it. From Python,
    :func:`edit_distance` on the lists is faster: torch converts each ``str``
    of a ``str[]`` on its own, the wrapper packs a list in one buffer.
    Under ``torch.compile`` the strings are constants
    of the graph: each new list is a new graph, so compiled models should
    take token tensors instead (see docs/ops.md).

    Args:
        a: ``B`` strings.
        b: ``B`` strings.
        max_distance: a cutoff, as for :func:`edit_distance`.

    Returns:
        int64 tensor ``[B]``.

    Raises:
        RuntimeError: the lists differ in length, an item is not a string, or
            a string has no UTF-8 form (a lone surrogate; :func:`edit_distance`
            takes those), each naming the argument, or a negative ``max_distance``.

    Example:
        >>> edit_distance_text(["kitten", "𝄞ab"], ["sitting", "ab"]).tolist()
        [3, 1]
    """
    _check_max_distance("edit_distance_text", max_distance)
    return torch.ops.mt.edit_distance_text(a, b, max_distance)


def edit_distance_pairwise_text(
    a: list[str], b: list[str], *, max_distance: Optional[int] = None
) -> Tensor:
    """Levenshtein distance between every string ``a[i]`` and every ``b[j]``, in parallel.

    The ``str[]`` companion of ``mt::edit_distance_pairwise`` (TorchScript,
    C++): every string is decoded once, in parallel, then the grid runs as
    for tensors. From Python, :func:`edit_distance_pairwise` on the lists is
    faster (it packs each list in one buffer).

    Args:
        a: ``Ba`` strings.
        b: ``Bb`` strings.
        max_distance: a cutoff, as for :func:`edit_distance_pairwise`.

    Returns:
        int64 tensor ``[Ba, Bb]``.

    Raises:
        RuntimeError: an item is not a string, or has no UTF-8 form, or a
            negative ``max_distance``.

    Example:
        >>> edit_distance_pairwise_text(["abc"], ["abd", ""]).tolist()
        [[1, 3]]
    """
    _check_max_distance("edit_distance_pairwise_text", max_distance)
    return torch.ops.mt.edit_distance_pairwise_text(a, b, max_distance)


@torch.library.register_fake("mt::edit_distance_text")
def _edit_distance_text_fake(
    a: list[str], b: list[str], max_distance: Optional[int] = None
) -> Tensor:
    torch._check(
        len(a) == len(b),
        lambda: f"mt::edit_distance_text: argument 'b' has {len(b)} strings but 'a' has {len(a)}",
    )
    _check_cutoff_value("mt::edit_distance_text", max_distance)
    return torch.empty((len(a),), dtype=torch.int64)


@torch.library.register_fake("mt::edit_distance_pairwise_text")
def _edit_distance_pairwise_text_fake(
    a: list[str], b: list[str], max_distance: Optional[int] = None
) -> Tensor:
    _check_cutoff_value("mt::edit_distance_pairwise_text", max_distance)
    return torch.empty((len(a), len(b)), dtype=torch.int64)


def _check_max_distance(op: str, max_distance: Optional[int]) -> None:
    """A cutoff is None or an int (a bool or a float is a mistake, which the
    schema's ``int?`` would take); the operator checks that it is >= 0."""
    if max_distance is not None and (
        isinstance(max_distance, bool) or not isinstance(max_distance, int)
    ):
        raise TypeError(
            f"torch_mt.{op}: argument 'max_distance' must be an int or None, "
            f"got {type(max_distance).__name__}"
        )


def _check_cutoff_value(op: str, max_distance: Optional[int]) -> None:
    """The kernels' check of a cutoff, for the fake kernels (same message)."""
    torch._check(
        max_distance is None or max_distance >= 0,
        lambda: f"{op}: argument 'max_distance' must be >= 0, got {max_distance}",
    )


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
    text = _packed_text_pair(references, hypotheses)
    if text is not None:  # characters
        ref_tokens, hyp_tokens, ref_lengths, hyp_lengths = text
    else:  # word ids below the vocabulary size (int32 fits), or no utterances
        hyp_tokens, hyp_lengths = _packed_or_padded(hypotheses, torch.int32)
        ref_tokens, ref_lengths = _packed_or_padded(references, torch.int32)
    edits = torch.ops.mt.edit_distance(ref_tokens, hyp_tokens, ref_lengths, hyp_lengths).double()
    if per_utterance:
        return torch.where(ref_lengths > 0, edits / ref_lengths.clamp(min=1), edits)
    total = ref_lengths.sum()
    return edits.sum() / total if total > 0 else edits.sum()


def _prepare(
    op: str,
    a: SequenceBatch,
    b: SequenceBatch,
    a_lengths: Optional[Tensor],
    b_lengths: Optional[Tensor],
) -> tuple[Tensor, Tensor, Optional[Tensor], Optional[Tensor]]:
    """Turn the wrapper's flexible arguments into the operator's arguments:
    a list becomes packed tokens and lengths (no padded tensor to fill)."""
    if op == "edit_distance" and not isinstance(a, Tensor) and not isinstance(b, Tensor):
        lists = all(isinstance(x, Sequence) and not isinstance(x, (str, bytes)) for x in (a, b))
        if lists and len(a) != len(b):
            raise ValueError(
                f"torch_mt.{op}: arguments 'a' and 'b' must hold as many sequences, got "
                f"{len(a)} and {len(b)}"
            )
    if a_lengths is None and b_lengths is None:
        text = _packed_text_pair(a, b)
        if text is not None:
            return text
    # A list takes the dtype of a tensor on the other side, so the two match.
    # Two lists of strings become int32 (code points fit, and half the bytes).
    a_types, b_types = _item_types(a), _item_types(b)
    lists_dtype = torch.int32 if a_types == b_types == {str} else torch.int64
    a_dtype = b.dtype if isinstance(b, Tensor) else lists_dtype
    b_dtype = a.dtype if isinstance(a, Tensor) else lists_dtype
    a, a_lengths = _as_tokens(op, "a", a, a_lengths, a_dtype, a_types)
    b, b_lengths = _as_tokens(op, "b", b, b_lengths, b_dtype, b_types)
    return a, b, a_lengths, b_lengths


#: Token dtype of packed text by the bytes a code point needs (``string_width``):
#: the narrowest that holds every code point of both sides. int16 holds code
#: points from 2**15 up as their bit pattern (negative numbers): a distance
#: depends only on which tokens are equal, and a narrow batch is half or a
#: quarter of the memory to fill and for the kernel to read.
_TEXT_DTYPES = {1: torch.uint8, 2: torch.int16, 4: torch.int32}


def _packed_text_pair(
    a: SequenceBatch, b: SequenceBatch
) -> Optional[tuple[Tensor, Tensor, Tensor, Tensor]]:
    """Two non-empty lists of strings packed for a distance operator in the
    narrowest dtype both fit, ``(a, b, a_lengths, b_lengths)``; None for
    anything else (the general path takes it)."""
    sides = [_text.pack_strings(side) if _starts_with_a_string(side) else None for side in (a, b)]
    if None in sides:
        return None
    (a_points, a_lengths, a_width), (b_points, b_lengths, b_width) = sides
    # Each side took its own narrowest width (no second pass over the lists
    # when they agree, the usual case); else the narrower one is packed again.
    width = max(a_width, b_width)
    if a_width < width:
        a_points, a_lengths, _ = _text.pack_strings(a, width)
    if b_width < width:
        b_points, b_lengths, _ = _text.pack_strings(b, width)
    dtype = _TEXT_DTYPES[width]
    return (
        _from_bytes(a_points, dtype),
        _from_bytes(b_points, dtype),
        _from_bytes(a_lengths, torch.int64),
        _from_bytes(b_lengths, torch.int64),
    )


def _starts_with_a_string(seqs: SequenceBatch) -> bool:
    """A list or tuple whose first item is a string: worth a C pass to see
    whether all are (not a tensor, an empty list, a list of int sequences)."""
    return isinstance(seqs, (list, tuple)) and bool(seqs) and isinstance(seqs[0], str)


def _item_types(seqs: SequenceBatch) -> Optional[set[type]]:
    """The types of a list's items (None for a tensor or a non-list). A list
    of strings, the common case, is recognised by one C pass."""
    if isinstance(seqs, Tensor) or isinstance(seqs, (str, bytes)):
        return None
    if not isinstance(seqs, Sequence):
        return None
    if _starts_with_a_string(seqs) and _text.string_width(seqs) > 0:
        return {str}
    return set(map(type, seqs))


def _as_tokens(
    op: str,
    name: str,
    seqs: SequenceBatch,
    lengths: Optional[Tensor],
    dtype: torch.dtype,
    item_types: Optional[set[type]],
) -> tuple[Tensor, Optional[Tensor]]:
    if isinstance(seqs, Tensor):
        return seqs, lengths
    if lengths is not None:
        raise ValueError(
            f"torch_mt.{op}: argument '{name}_lengths' must be None when '{name}' is a "
            "list (the lengths are taken from the list)"
        )
    if isinstance(seqs, (str, bytes)) or not isinstance(seqs, Sequence):
        raise TypeError(
            f"torch_mt.{op}: argument '{name}' must be a tensor or a list of strings or "
            f"int sequences, got {type(seqs).__name__}"
        )
    if dtype not in (torch.int32, torch.int64):
        dtype = torch.int64  # the operator reports the other side's bad dtype
    try:
        return _packed_or_padded(seqs, dtype, item_types)
    except (TypeError, ValueError) as error:
        raise type(error)(f"torch_mt.{op}: argument '{name}': {error}") from None


def _pack_in_one_buffer(
    sequences: Union[Sequence[str], Sequence[Sequence[int]]],
    dtype: torch.dtype,
    item_types: Optional[set[type]] = None,
) -> Optional[tuple[Tensor, Tensor]]:
    """The batch packed, ``(tokens [N] of dtype, lengths [B] int64)``: the
    sequences one after another, as the operators take them packed. No
    Python code runs per item or per token: strings are widened to their
    code points by one C pass (``torch_mt._text``), chained ints go into one
    ``array`` and their lengths come from ``map(len, ...)``. ``item_types``:
    the set of the items' types, when the caller has it already.

    Returns None when only the item-by-item path can tell: an empty or mixed
    batch, or one whose items or tokens are not all of the accepted types.
    """
    if item_types is None:
        item_types = _item_types(sequences)
    if item_types == {str}:
        packed = _text.pack_strings(sequences, 4)
        if packed is None:  # the list changed since its types were taken
            return None
        code_points, lengths, _ = packed
        return _from_bytes(code_points, torch.int32).to(dtype), _from_bytes(lengths, torch.int64)
    elif item_types and all(
        issubclass(kind, Sequence) and not issubclass(kind, (str, bytes)) for kind in item_types
    ):
        # Exactly int: not bool (a flag is no token), nor float or NumPy scalars.
        if not set(map(type, itertools.chain.from_iterable(sequences))) <= {int}:
            return None
        buffer = array.array("i" if dtype == torch.int32 else "q")
        if buffer.itemsize != dtype.itemsize:  # C int / long long of another size
            return None
        try:
            buffer.extend(itertools.chain.from_iterable(sequences))
        except OverflowError:  # the item-by-item path says which value
            return None
    else:
        return None
    # Through an array: torch.tensor() of a list of ints is four times slower.
    lengths = array.array("q", list(map(len, sequences)))
    return _from_bytes(buffer, dtype), _from_bytes(lengths, torch.int64)


def _from_bytes(buffer: Union[bytearray, array.array], dtype: torch.dtype) -> Tensor:
    """A tensor sharing ``buffer``'s memory (torch.frombuffer refuses an empty one)."""
    return torch.frombuffer(buffer, dtype=dtype) if len(buffer) else torch.zeros(0, dtype=dtype)


def _packed_or_padded(
    sequences: Union[Sequence[str], Sequence[Sequence[int]]],
    dtype: torch.dtype,
    item_types: Optional[set[type]] = None,
) -> tuple[Tensor, Tensor]:
    """The batch as the operators take it: packed in one buffer, or, when
    the fast path refuses it (an empty batch, a bad item), padded item by item
    by pad_sequences, which also words the errors."""
    packed = _pack_in_one_buffer(sequences, dtype, item_types)
    return packed if packed is not None else pad_sequences(sequences, dtype)


def _pad_in_one_buffer(
    sequences: Union[Sequence[str], Sequence[Sequence[int]]], dtype: torch.dtype
) -> Optional[tuple[Tensor, Tensor]]:
    """pad_sequences from the packed batch with one masked scatter (what
    brings it within 1.5x of torch's pad_sequence on tensors); None as
    :func:`_pack_in_one_buffer`."""
    packed = _pack_in_one_buffer(sequences, dtype)
    if packed is None:
        return None
    values, lengths = packed
    width = int(lengths.max()) if len(lengths) else 0
    tokens = torch.zeros((len(lengths), width), dtype=dtype)
    tokens.masked_scatter_(torch.arange(width) < lengths[:, None], values)
    return tokens, lengths


def _check_one_kind(sequences: Sequence[Union[str, Sequence[int]]]) -> None:
    """Strings and int sequences do not mix: code points and token ids are
    different alphabets, and a distance between them would mean nothing."""
    first_is_text = bool(sequences) and isinstance(sequences[0], str)
    for position, item in enumerate(sequences):
        if isinstance(item, str) != first_is_text:
            kinds = ("a string", "a sequence of ints")
            raise TypeError(
                f"item {position} is {kinds[first_is_text]} but item 0 is "
                f"{kinds[not first_is_text]}: a batch holds strings or int sequences, not both"
            )


def _tokens_of(item: Union[str, Sequence[int]], position: int) -> list[int]:
    if isinstance(item, str):
        return [ord(char) for char in item]
    if isinstance(item, Sequence) and all(
        isinstance(token, int) and not isinstance(token, bool) for token in item
    ):
        return list(item)
    raise TypeError(
        f"item {position} must be a string or a sequence of ints, got {type(item).__name__}"
    )
