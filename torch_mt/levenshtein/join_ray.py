"""torch_mt on a Ray cluster: the similarity join's blocks as Ray tasks.

Ray schedules, moves data and retries; torch_mt is the engine inside each
task. Install with ``pip install "torch_mt[ray]"``. Nothing here starts a
scheduler of its own: the tasks go to whatever cluster ``ray.init`` connected
this process to (``ray.init(address="auto")`` or ``RAY_ADDRESS`` for a
cluster started with ``ray start``; with no ``ray.init`` call, Ray starts a
local one on first use). See docs/scale_out.md.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from torch import Tensor

try:
    import ray
except ImportError as error:  # pragma: no cover - depends on the install
    raise ImportError(
        "torch_mt.ray needs Ray: pip install 'torch_mt[ray]' (or pip install 'ray[data]')"
    ) from error

from .join_plan import DEFAULT_BLOCK_SIZE, JoinPlan
from .packing import SequenceBatch

__all__ = ["similarity_join"]


def similarity_join(
    a: SequenceBatch,
    b: Optional[SequenceBatch] = None,
    *,
    max_distance: int,
    a_lengths: Optional[Tensor] = None,
    b_lengths: Optional[Tensor] = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
    num_cpus_per_task: float = 1,
    max_retries: int = 3,
) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`torch_mt.similarity_join` with its row blocks as Ray tasks.

    The inputs are converted and sorted here once, then put in Ray's object
    store once: each node fetches them once and its tasks share them (NumPy
    arrays, read in place). Each task joins one block of ``block_size``
    rows against the columns within reach, with torch_mt using the CPUs Ray
    gave the task (Ray sets ``OMP_NUM_THREADS`` to its ``num_cpus``, and
    torch_mt's default thread count follows it). The pairs are gathered and
    sorted here, so the answer equals the local engine's, order included.

    A task whose worker process dies (killed, out of memory, node lost) is
    run again by Ray, up to ``max_retries`` times; a block's pairs depend
    only on its inputs, so a retry neither loses nor duplicates any.

    Args:
        a, b, max_distance, a_lengths, b_lengths, block_size: as for
            :func:`torch_mt.similarity_join`.
        num_cpus_per_task: CPUs Ray reserves for each task (and torch_mt's
            threads in it), ``> 0``.
        max_retries: how many times Ray reruns a task after a worker failure.

    Returns:
        ``(i, j, distance)`` int64 tensors, sorted by ``i`` then ``j``.

    Raises:
        TypeError, ValueError, RuntimeError: as :func:`torch_mt.similarity_join`,
            before any task starts; ``num_cpus_per_task <= 0``.
        ray.exceptions.RayError: a task failed more than ``max_retries`` times.

    Example:
        >>> import ray
        >>> _ = ray.init(num_cpus=1, include_dashboard=False)  # doctest: +SKIP
        >>> similarity_join(["jon", "john", "jane"], max_distance=1)  # doctest: +SKIP
        (tensor([0]), tensor([1]), tensor([1]))
    """
    if not num_cpus_per_task > 0:
        raise ValueError(
            "torch_mt.ray.similarity_join: argument 'num_cpus_per_task' must be > 0, "
            f"got {num_cpus_per_task}"
        )
    plan = JoinPlan.of(a, b, a_lengths, b_lengths, max_distance, block_size)
    return run_plan(plan, num_cpus_per_task=num_cpus_per_task, max_retries=max_retries)


#: Tasks per task slot of the cluster: enough that a slow task (a block of
#: common lengths reaches many columns) does not leave the others idle at
#: the end, few enough that Ray's per-task cost (~1 ms) stays small.
TASKS_PER_SLOT = 4


def run_plan(
    plan: JoinPlan, *, num_cpus_per_task: float = 1, max_retries: int = 3
) -> tuple[Tensor, Tensor, Tensor]:
    """The plan's row blocks as Ray tasks; their pairs gathered and sorted.

    Task ``t`` of ``T`` runs blocks ``t, t + T, t + 2T, ...``: blocks next to
    each other hold rows of similar lengths, hence similar work, so dealing
    them out round-robin balances the tasks."""
    blocks = plan.row_blocks()
    if not blocks:
        return plan.finish([])
    shared = ray.put(plan)  # once: each node then fetches it once (starts a Ray if none)
    slots = max(1, int(ray.cluster_resources().get("CPU", 1) // num_cpus_per_task))
    tasks = min(len(blocks), TASKS_PER_SLOT * slots)
    task = _join_rows.options(num_cpus=num_cpus_per_task, max_retries=max_retries)
    parts = ray.get([task.remote(shared, blocks[t::tasks]) for t in range(tasks)])
    return plan.finish(parts)


@ray.remote
def _join_rows(plan: JoinPlan, blocks: list[tuple[int, int]]) -> tuple[np.ndarray, ...]:
    """Some row blocks, in a Ray worker: torch_mt's pool there follows the
    task's allocation (see torch_mt.get_num_threads)."""
    import torch_mt  # noqa: F401  (registers torch.ops.mt in this worker)

    return plan.join_blocks(blocks)


def thread_count_in_task() -> int:
    """torch_mt's thread count as a task sees it; for tests and for checking
    a cluster's setup (``ray.get(torch_mt.ray.probe_threads.options(num_cpus=4).remote())``).

    Returns:
        ``torch_mt.get_num_threads()`` in the calling process.

    Raises:
        Nothing.

    Example:
        >>> thread_count_in_task() >= 1
        True
    """
    import torch_mt

    return torch_mt.get_num_threads()


#: A Ray task that reports torch_mt's thread count in its worker.
probe_threads = ray.remote(thread_count_in_task)
