"""Levenshtein edit distance between batches of token sequences.

Wrappers around ``torch.ops.mt.edit_distance`` and
``torch.ops.mt.edit_distance_pairwise`` (kernels and shape functions in
``ops/levenshtein/``).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from . import fakes  # noqa: F401  (registers the shape functions)
from .error_rates import char_error_rate, word_error_rate
from .join import similarity_join
from .packing import SequenceBatch, pad_sequences, prepare, string_pair_distances

__all__ = [
    "char_error_rate",
    "edit_distance",
    "edit_distance_join",
    "edit_distance_pairwise",
    "edit_distance_pairwise_text",
    "edit_distance_text",
    "pad_sequences",
    "similarity_join",
    "word_error_rate",
]


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
        a: uint8/int16/int32/int64 token tensor ``[B, La]`` (only equality of tokens
            matters), or a list of ``B`` strings or int sequences.
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
    if a_lengths is None and b_lengths is None:
        distances = string_pair_distances(a, b, max_distance)
        if distances is not None:
            return distances
    a, b, a_lengths, b_lengths = prepare("edit_distance", a, b, a_lengths, b_lengths)
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
    a, b, a_lengths, b_lengths = prepare("edit_distance_pairwise", a, b, a_lengths, b_lengths)
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
    a, b, a_lengths, b_lengths = prepare("edit_distance_join", a, b, a_lengths, b_lengths)
    return torch.ops.mt.edit_distance_join(a, b, max_distance, a_lengths, b_lengths, diagonal)


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
