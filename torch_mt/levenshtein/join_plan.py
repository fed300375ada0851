"""Similarity joins: every pair of sequences within an edit distance, without
ever holding the ``[Na, Nb]`` distance matrix.

The work is ``mt::edit_distance_join`` (the pairs within a cutoff, never the
grid), block by block, over both sides sorted by length: a block of rows only
meets the columns whose lengths are within the cutoff of its own (a length
difference alone is a lower bound on the distance), so a tight cutoff skips
most of the grid without computing it. The same blocks run here (``engine="local"``) or as Ray tasks
(``torch_mt.ray``); both finish with the same sort, so they agree exactly.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from torch import Tensor

from .packing import SequenceBatch, prepare

#: Rows (and columns) per block. Small blocks of length-sorted rows span few
#: lengths, so they reach few columns; below ~256 the per-call costs show.
#: (20 000 strings, k = 0 / 2 / 10, 2 threads: 256 was within 5% of the best
#: of 128-2048 every time, 2048 took 1.3-3.5x as long.)
DEFAULT_BLOCK_SIZE = 256


def _check_int(name: str, value: object, lowest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"torch_mt.similarity_join: argument '{name}' must be an int, "
            f"got {type(value).__name__}"
        )
    if value < lowest:
        raise ValueError(
            f"torch_mt.similarity_join: argument '{name}' must be >= {lowest}, got {value}"
        )
    return value


@dataclass(frozen=True)
class _SortedSide:
    """One side packed in order of length: item ``p`` of the sorted order is
    ``values[offsets[p]:offsets[p + 1]]``, originally item ``order[p]``.
    NumPy arrays: Ray's object store shares them between the tasks of a node
    without a copy (torch tensors would be pickled into each task)."""

    values: np.ndarray
    lengths: np.ndarray  # int64, ascending
    offsets: np.ndarray  # int64, len(lengths) + 1
    order: np.ndarray  # int64

    @staticmethod
    def of(tokens: Tensor, lengths: Tensor) -> _SortedSide:
        """A packed side (tokens ``[N]``, lengths ``[B]``) sorted by length."""
        order = torch.argsort(lengths, stable=True)
        sorted_lengths = lengths[order]
        starts = torch.cumsum(lengths, 0) - lengths
        sorted_offsets = torch.zeros(len(lengths) + 1, dtype=torch.int64)
        torch.cumsum(sorted_lengths, 0, out=sorted_offsets[1:])
        # Token t of sorted item p comes from starts[order[p]] + t.
        shift = torch.repeat_interleave(starts[order] - sorted_offsets[:-1], sorted_lengths)
        gather = torch.arange(int(sorted_offsets[-1]), dtype=torch.int64) + shift
        return _SortedSide(
            tokens[gather].numpy(), sorted_lengths.numpy(), sorted_offsets.numpy(), order.numpy()
        )

    def __len__(self) -> int:
        return len(self.lengths)

    def block(self, first: int, last: int) -> tuple[Tensor, Tensor]:
        """Items ``[first, last)`` of the sorted order, packed: (tokens, lengths)."""
        start, end = int(self.offsets[first]), int(self.offsets[last])
        return tensor_view(self.values[start:end]), tensor_view(self.lengths[first:last])

    def reach(self, shortest: int, longest: int) -> tuple[int, int]:
        """The run ``[first, last)`` of items whose lengths lie in [shortest, longest]."""
        first = int(np.searchsorted(self.lengths, shortest, side="left"))
        return first, int(np.searchsorted(self.lengths, longest, side="right"))


def tensor_view(array: np.ndarray) -> Tensor:
    """A tensor over ``array``, without a copy. Arrays from Ray's object store
    are read-only; torch warns that writing to such a tensor is undefined,
    which does not apply: the kernels only read their inputs."""
    if array.flags.writeable:
        return torch.from_numpy(array)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array)


def _packed(tokens: Tensor, lengths: Optional[Tensor]) -> tuple[Tensor, Tensor]:
    """One side (checked), packed: contiguous tokens, one sequence after another."""
    if tokens.dim() == 1:
        return tokens.contiguous(), lengths.contiguous()
    count, width = tokens.shape
    if lengths is None:
        lengths = torch.full((count,), width, dtype=torch.int64)
    keep = torch.arange(width) < lengths.unsqueeze(1)
    return tokens[keep], lengths.contiguous()


@dataclass(frozen=True)
class JoinPlan:
    """A join cut into row blocks: what each engine runs, and how the blocks'
    pairs become the answer. Picklable (NumPy arrays and ints), for Ray."""

    a: _SortedSide
    b: _SortedSide  # a itself for a self-join
    self_join: bool
    max_distance: int
    block_size: int

    @staticmethod
    def of(
        a: SequenceBatch,
        b: Optional[SequenceBatch],
        a_lengths: Optional[Tensor],
        b_lengths: Optional[Tensor],
        max_distance: int,
        block_size: int,
    ) -> JoinPlan:
        max_distance = _check_int("max_distance", max_distance, 0)
        block_size = _check_int("block_size", block_size, 1)
        self_join = b is None
        if self_join and b_lengths is not None:
            raise ValueError(
                "torch_mt.similarity_join: argument 'b_lengths' must be None when 'b' is None"
            )
        a_tokens, b_tokens, a_lengths, b_lengths = prepare(
            "similarity_join",
            a,
            a if self_join else b,
            a_lengths,
            a_lengths if self_join else b_lengths,
        )
        # The join op's own checks (ranks, dtypes, every length), in its words.
        torch.ops.mt._edit_distance_join_checks(
            a_tokens, b_tokens, max_distance, a_lengths, b_lengths, None
        )
        a_side = _SortedSide.of(*_packed(a_tokens, a_lengths))
        b_side = a_side if self_join else _SortedSide.of(*_packed(b_tokens, b_lengths))
        return JoinPlan(a_side, b_side, self_join, max_distance, block_size)

    def row_blocks(self) -> list[tuple[int, int]]:
        """The ``[first, last)`` ranges of sorted rows, one per task."""
        rows = len(self.a)
        return [
            (first, min(first + self.block_size, rows)) for first in range(0, rows, self.block_size)
        ]

    def join_rows(self, first: int, last: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The pairs of sorted rows ``[first, last)`` within the cutoff, as
        int64 arrays (row, column, distance) in sorted positions: one
        ``mt::edit_distance_join`` over the columns within the rows' reach,
        rows in parallel, only the close pairs coming back."""
        k = self.max_distance
        rows, row_lengths = self.a.block(first, last)
        shortest, longest = int(self.a.lengths[first]), int(self.a.lengths[last - 1])
        column_first, column_end = self.b.reach(shortest - k, longest + k)
        diagonal = None
        if self.self_join:  # each unordered pair once: sorted column > sorted row
            column_first = max(column_first, first + 1)
            diagonal = first + 1 - column_first  # local j - i >= this  <=>  column > row
        if column_first >= column_end:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        columns, column_lengths = self.b.block(column_first, column_end)
        i, j, distances = torch.ops.mt.edit_distance_join(
            rows, columns, k, row_lengths, column_lengths, diagonal
        )
        return i.numpy() + first, j.numpy() + column_first, distances.numpy()

    def join_blocks(
        self, blocks: list[tuple[int, int]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`join_rows` of several row blocks, their pairs in one set of arrays."""
        return _concatenated([self.join_rows(first, last) for first, last in blocks])

    def finish(
        self, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
    ) -> tuple[Tensor, Tensor, Tensor]:
        """The blocks' pairs in original indices, sorted by (i, j): the same
        answer whatever order or engine the blocks ran in."""
        rows, columns, distances = _concatenated(parts)
        i, j = self.a.order[rows], self.b.order[columns]
        if self.self_join:
            i, j = np.minimum(i, j), np.maximum(i, j)
        order = np.argsort(i * max(len(self.b), 1) + j, kind="stable")
        return tuple(torch.from_numpy(np.ascontiguousarray(x[order])) for x in (i, j, distances))


def _concatenated(
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, columns, distances) parts as one triple of int64 arrays (empty for none)."""
    empty = np.zeros(0, dtype=np.int64)
    return tuple(np.concatenate([empty, *(part[at] for part in parts)]) for at in range(3))
