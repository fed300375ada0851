"""The comparison torch_mt exists for: one CPU-bound DP per item of a big tensor.

The tensor is ``[B, 512, 512]`` float32 cost matrices (1 GiB by default:
B = 1024), and the work is the DTW distance of every item — a dynamic
programme, scalar-heavy and sequential inside an item, parallel across items.
Each way a PyTorch user can spread that over cores runs on the same tensor:

1. a Python loop calling PyTorch ops per item (the baseline);
2. the same loop in a ``ThreadPoolExecutor`` (the GIL);
3. ``multiprocessing.Pool`` with the items sent to the workers (copies);
4. ``torch.multiprocessing`` with the tensor in shared memory;
5. ``torch.jit.fork`` / ``wait`` over chunks of items in TorchScript;
6. ``torch.ops.mt.dtw`` at 1 thread and at all threads.

For each: wall time, speedup vs (1), peak memory of the whole process tree
(proportional set size, so pages shared between processes count once) and
CPU utilisation. An arm whose estimated peak memory would not fit is skipped
with a note, never silently.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import List, Optional

import torch
import torch.utils.benchmark as benchmark
from torch import Tensor

import torch_mt

from .results import markdown

ITEM_SIDE = 512
ITEM_BYTES = ITEM_SIDE * ITEM_SIDE * 4
#: Memory a spawned worker needs before any data: Python + torch + torch_mt.
WORKER_BYTES = 400 * 2**20


def dtw_item(cost: Tensor) -> Tensor:
    """DTW of one ``[N, M]`` cost matrix with PyTorch ops, one DP row at a time.

    Within a row, ``D[i, j] = min(t[j], D[i, j-1] + c[i, j])`` with
    ``t[j] = c[i, j] + min(D[i-1, j-1], D[i-1, j])`` unrolls to
    ``D[i] = S + cummin(t - S)``, ``S`` the row's cumulative sum: ~7 tensor
    ops per row. (TorchScript-compatible: option 5 scripts this function.)
    """
    row = torch.cumsum(cost[0], dim=0)
    for i in range(1, cost.shape[0]):
        diagonal = torch.cat([torch.full_like(row[:1], math.inf), row[:-1]])
        through = cost[i] + torch.minimum(diagonal, row)
        running = torch.cumsum(cost[i], dim=0)
        row = running + torch.cummin(through - running, dim=0)[0]
    return row[-1]


def dtw_items(cost: Tensor, start: int, end: int) -> Tensor:
    """dtw_item for items [start, end), as float64 values."""
    out = torch.empty(end - start, dtype=torch.float64)
    for b in range(start, end):
        out[b - start] = dtw_item(cost[b]).double()
    return out


def dtw_forked(cost: Tensor, chunks: int) -> Tensor:
    """dtw_items over `chunks` chunks, each in its own torch.jit.fork task."""
    batch = cost.shape[0]
    futures: List[torch.jit.Future[Tensor]] = []
    for c in range(chunks):
        futures.append(
            torch.jit.fork(dtw_items, cost, c * batch // chunks, (c + 1) * batch // chunks)
        )
    return torch.cat([torch.jit.wait(future) for future in futures])


_dtw_forked_script: Optional[torch.jit.ScriptFunction] = None


def _scripted() -> torch.jit.ScriptFunction:
    """dtw_forked in TorchScript (scripted on first use: workers never need it)."""
    global _dtw_forked_script
    if _dtw_forked_script is None:
        _dtw_forked_script = torch.jit.script(dtw_forked)
    return _dtw_forked_script


# ---- worker functions (module level: spawned processes import them) --------------


def _dtw_of_array(item) -> float:
    return dtw_item(torch.from_numpy(item)).item()


_shared_cost: Optional[Tensor] = None


def _keep_shared(cost: Tensor) -> None:
    global _shared_cost
    _shared_cost = cost


def _dtw_of_shared_range(bounds: tuple[int, int]) -> list[float]:
    return dtw_items(_shared_cost, *bounds).tolist()


# ---- measuring the process tree -----------------------------------------------------


class TreeMonitor:
    """Peak memory (sum of PSS over this process and its descendants, sampled
    every 50 ms) and CPU seconds (this process plus reaped children, less the
    sampler's own) of a block."""

    def __init__(self, interval: float = 0.05) -> None:
        import psutil

        self._process = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self.peak_bytes = 0

    def _tree_pss(self) -> int:
        import psutil

        total = 0
        for process in [self._process, *self._process.children(recursive=True)]:
            try:
                total += process.memory_full_info().pss
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                pass
        return total

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self._tree_pss())
            self._stop.wait(self._interval)
        self._own_cpu_seconds = time.thread_time()  # the sampler's cost, not the arm's

    def _cpu_seconds(self) -> float:
        times = self._process.cpu_times()
        return times.user + times.system + times.children_user + times.children_system

    def __enter__(self) -> TreeMonitor:
        self.peak_bytes = self._tree_pss()
        self._cpu_start = self._cpu_seconds()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self._tree_pss())
        self.cpu_seconds = self._cpu_seconds() - self._cpu_start - self._own_cpu_seconds


@dataclass(frozen=True)
class BigArm:
    name: str
    run: Callable[[], Tensor]
    #: Peak memory beyond the tensor itself, in bytes (for the fits-in-memory check).
    extra_bytes: int = 0
    threads: Optional[int] = None  # torch_mt threads (None: not a torch_mt arm)


@dataclass(frozen=True)
class BigResult:
    arm: str
    seconds: Optional[float]
    speedup_vs_loop: Optional[float]
    peak_memory_bytes: Optional[int]
    cpu_utilisation: Optional[float]  # CPU seconds / (wall seconds x usable CPUs)
    note: str = ""


def big_tensor_arms(cost: Tensor, workers: int) -> list[BigArm]:
    batch = cost.shape[0]
    chunk = max(1, batch // (workers * 8))  # items per multiprocessing task

    def python_loop() -> Tensor:
        return dtw_items(cost, 0, batch)

    def thread_pool() -> Tensor:
        with ThreadPoolExecutor(workers) as pool:
            return torch.tensor(
                list(pool.map(lambda b: dtw_item(cost[b]).item(), range(batch))),
                dtype=torch.float64,
            )

    def process_pool_copies() -> Tensor:
        context = multiprocessing.get_context("spawn")
        with context.Pool(workers) as pool:
            items = (cost[b].numpy() for b in range(batch))  # pickled: one copy per item
            return torch.tensor(
                list(pool.imap(_dtw_of_array, items, chunksize=chunk)), dtype=torch.float64
            )

    def process_pool_shared() -> Tensor:
        import torch.multiprocessing as torch_multiprocessing

        cost.share_memory_()  # moves the storage to shared memory (once)
        context = torch_multiprocessing.get_context("spawn")
        bounds = [(start, min(batch, start + chunk)) for start in range(0, batch, chunk)]
        with context.Pool(workers, initializer=_keep_shared, initargs=(cost,)) as pool:
            return torch.tensor(
                [value for part in pool.map(_dtw_of_shared_range, bounds) for value in part],
                dtype=torch.float64,
            )

    def jit_fork() -> Tensor:
        return _scripted()(cost, workers * 4)

    def torch_mt_dtw() -> Tensor:
        return torch.ops.mt.dtw(cost, None, None).double()

    worker_memory = workers * WORKER_BYTES
    return [
        BigArm("python loop, PyTorch ops per item", python_loop),
        BigArm(f"ThreadPoolExecutor({workers})", thread_pool),
        BigArm(
            f"multiprocessing.Pool({workers}), items pickled to workers",
            process_pool_copies,
            extra_bytes=worker_memory + 2 * workers * chunk * ITEM_BYTES,
        ),
        BigArm(f"torch.jit.fork over {workers * 4} chunks", jit_fork),
        BigArm("torch_mt, 1 thread", torch_mt_dtw, threads=1),
        BigArm(f"torch_mt, {workers} threads", torch_mt_dtw, threads=workers),
        # Last: it moves the tensor to shared memory (a transient second copy).
        BigArm(
            f"torch.multiprocessing Pool({workers}), tensor in shared memory",
            process_pool_shared,
            extra_bytes=worker_memory + batch * ITEM_BYTES,
        ),
    ]


def run_big_tensor(
    size_gib: float, workers: int, progress: Callable[[str], None] = lambda _: None
) -> tuple[dict, list[BigResult]]:
    """Builds the tensor, runs every arm once (checked against torch_mt), and
    returns (setup description, results)."""
    import psutil

    batch = max(1, round(size_gib * 2**30 / ITEM_BYTES))
    generator = torch.Generator().manual_seed(0)
    cost = torch.rand(batch, ITEM_SIDE, ITEM_SIDE, generator=generator)
    with torch_mt.num_threads(workers):
        expected = torch.ops.mt.dtw(cost, None, None).double()
    setup = {
        "items": batch,
        "item_shape": [ITEM_SIDE, ITEM_SIDE],
        "dtype": "float32",
        "tensor_bytes": cost.numel() * 4,
        "workers": workers,
    }
    usable = len(os.sched_getaffinity(0))
    results: list[BigResult] = []
    loop_seconds = None
    for arm in big_tensor_arms(cost, workers):
        available = psutil.virtual_memory().available
        if arm.extra_bytes > 0.9 * available:
            results.append(
                BigResult(
                    arm.name,
                    None,
                    None,
                    None,
                    None,
                    f"skipped: needs ~{arm.extra_bytes / 2**30:.1f} GiB more, "
                    f"{available / 2**30:.1f} GiB available",
                )
            )
            continue
        progress(arm.name)
        threads = arm.threads if arm.threads is not None else torch_mt.get_num_threads()
        outputs: list[Tensor] = []
        timer = benchmark.Timer(
            stmt="outputs.append(run())", globals={"run": arm.run, "outputs": outputs}
        )
        with torch_mt.num_threads(threads), TreeMonitor() as monitor:
            start = time.perf_counter()
            measurement = timer.timeit(1)  # one run: each arm takes seconds
            wall = time.perf_counter() - start
        torch.testing.assert_close(
            outputs[0],
            expected,
            rtol=1e-4,
            atol=1e-4,
            msg=lambda m, arm=arm: f"big tensor: '{arm.name}' disagrees: {m}",
        )
        seconds = measurement.median
        loop_seconds = loop_seconds or seconds
        results.append(
            BigResult(
                arm.name,
                seconds,
                loop_seconds / seconds,
                monitor.peak_bytes,
                monitor.cpu_seconds / (wall * usable),
            )
        )
    return setup, results


def big_tensor_table(setup: dict, results: list[BigResult]) -> str:
    rows = [
        [r.arm, "—", "—", "—", r.note]
        if r.seconds is None
        else [
            r.arm,
            f"{r.seconds:.3g}",
            f"{r.speedup_vs_loop:.2f}x",
            f"{r.peak_memory_bytes / 2**30:.2f}",
            f"{100 * r.cpu_utilisation:.0f}%",
        ]
        for r in results
    ]
    return (
        f"{setup['items']} items of {setup['item_shape'][0]} x {setup['item_shape'][1]} "
        f"float32 ({setup['tensor_bytes'] / 2**30:.2f} GiB), DTW per item, "
        f"{setup['workers']} workers/threads\n\n"
        + markdown(
            [
                "arm",
                "wall (s)",
                "speedup vs loop",
                "peak memory, process tree (GiB)",
                "CPU utilisation",
            ],
            rows,
            text_columns=1,
        )
    )
