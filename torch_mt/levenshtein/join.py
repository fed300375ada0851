"""The similarity join's front: checks its engine and runs the plan
(join_plan.py) in this process or as Ray tasks (join_ray.py)."""

from __future__ import annotations

from typing import Optional

from torch import Tensor

from .join_plan import DEFAULT_BLOCK_SIZE, JoinPlan
from .packing import SequenceBatch

_ENGINES = ("local", "ray")


def similarity_join(
    a: SequenceBatch,
    b: Optional[SequenceBatch] = None,
    *,
    max_distance: int,
    a_lengths: Optional[Tensor] = None,
    b_lengths: Optional[Tensor] = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
    engine: str = "local",
) -> tuple[Tensor, Tensor, Tensor]:
    """Every pair ``(a[i], b[j])`` whose edit distance is at most ``max_distance``.

    Near-duplicate detection, record linkage, dataset deduplication: only the
    close pairs come back, never the ``[Na, Nb]`` matrix. With ``b=None`` the
    corpus is joined with itself and each unordered pair comes once, as
    ``i < j`` (no ``i == j``).

    Both sides are sorted by length and the rows cut into blocks of
    ``block_size``; a block of rows is compared only with the columns whose
    lengths are within ``max_distance`` of its own, by
    ``mt::edit_distance_join`` (its rows in parallel on torch_mt's pool, only
    the close pairs returned). Memory beyond the inputs and the result: a
    length-sorted copy of the tokens, one int64 per column in reach per
    thread, and 24 bytes per pair found (twice, while they are sorted at the
    end). No ``[Na, Nb]`` or block-sized matrix is ever allocated.

    Args:
        a: ``Na`` sequences: a list of strings (compared by code point) or of
            int sequences, or a padded ``[Na, L]`` integer tensor.
        b: ``Nb`` sequences in the same forms, or ``None`` for a self-join of ``a``.
        max_distance: the cutoff ``k``, an int ``>= 0``.
        a_lengths: int64 ``[Na]`` lengths for a padded tensor ``a`` (``None``:
            whole rows); ``None`` for a list.
        b_lengths: likewise for ``b``.
        block_size: rows and columns per block, an int ``>= 1``.
        engine: ``"local"`` (this process, torch_mt's threads) or ``"ray"``
            (Ray tasks on the cluster ``ray.init`` connected to, one CPU each;
            :func:`torch_mt.ray.similarity_join` takes more options).

    Returns:
        ``(i, j, distance)``: three int64 tensors ``[P]``, one entry per pair
        within the cutoff, sorted by ``i`` then ``j``. Empty when either side is.

    Raises:
        TypeError: a side that is not sequences (items mixing strings and ints,
            ``None`` items), or a non-int ``max_distance`` / ``block_size``.
        ValueError: a negative ``max_distance``, ``block_size < 1``, an
            unknown ``engine``, or lengths given for a list.
        RuntimeError: from ``mt::edit_distance_join`` (dtypes, lengths).
        ImportError: ``engine="ray"`` without Ray installed.

    Example:
        >>> names = ["jon smith", "john smith", "jane doe", "jon smyth"]
        >>> i, j, d = similarity_join(names, max_distance=1)
        >>> list(zip(i.tolist(), j.tolist(), d.tolist()))
        [(0, 1, 1), (0, 3, 1)]
        >>> i, j, d = similarity_join(["abc"], ["abd", "xyz", "ab"], max_distance=1)
        >>> list(zip(i.tolist(), j.tolist(), d.tolist()))
        [(0, 0, 1), (0, 2, 1)]
    """
    if engine not in _ENGINES:
        raise ValueError(
            f"torch_mt.similarity_join: argument 'engine' must be one of {_ENGINES}, got {engine!r}"
        )
    plan = JoinPlan.of(a, b, a_lengths, b_lengths, max_distance, block_size)
    if engine == "ray":
        # Here, not at the top: Ray is an optional dependency.
        from .join_ray import run_plan

        return run_plan(plan)
    return plan.finish([plan.join_blocks(plan.row_blocks())])
