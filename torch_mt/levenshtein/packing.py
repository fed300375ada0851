"""Sequences as the edit-distance operators take them: a list of strings or
of int sequences becomes packed tokens and lengths (one buffer, no padded
tensor to fill); :func:`pad_sequences` gives the padded form. Shared by the
wrappers, the error rates and the similarity join.
"""

from __future__ import annotations

import array
import itertools
from collections.abc import Sequence
from typing import Optional, Union

import torch
from torch import Tensor

from torch_mt import _text  # ops/levenshtein/python_strings.cpp

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


def prepare(
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
        text = packed_text_pair(a, b)
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


#: The kernels' "no cutoff" (levenshtein::kNoCutoff): above any distance.
_NO_CUTOFF = (2**63 - 1) // 2


def string_pair_distances(
    a: SequenceBatch, b: SequenceBatch, max_distance: Optional[int]
) -> Optional[Tensor]:
    """The row-wise distances of two lists of as many strings, each string
    read in place by the pool's workers (no packed copy, no serial pass);
    None for anything else (the operator's path takes it and names what is
    wrong)."""
    # A list of int sequences is not worth a fan-out that stops at its first item.
    if not (isinstance(a, list) and isinstance(b, list) and len(a) == len(b)):
        return None
    if not (_starts_with_a_string(a) and _starts_with_a_string(b)):
        return None
    if max_distance is not None and max_distance < 0:
        return None
    bound = _NO_CUTOFF if max_distance is None else min(max_distance, _NO_CUTOFF)
    distances = _text.edit_distances(a, b, bound)
    return None if distances is None else torch.frombuffer(distances, dtype=torch.int64)


#: Token dtype of packed text by the bytes a code point needs (``string_width``):
#: the narrowest that holds every code point of both sides. int16 holds code
#: points from 2**15 up as their bit pattern (negative numbers): a distance
#: depends only on which tokens are equal, and a narrow batch is half or a
#: quarter of the memory to fill and for the kernel to read.
_TEXT_DTYPES = {1: torch.uint8, 2: torch.int16, 4: torch.int32}


def packed_text_pair(
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
        return packed_or_padded(seqs, dtype, item_types)
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


def packed_or_padded(
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
