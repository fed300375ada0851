"""PNG charts of one benchmark run (``--plot DIR``), drawn with matplotlib."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .big_tensor import BigResult
    from .results import Scaling, Timing


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as pyplot

    return pyplot


def _save(pyplot, figure, path: str, title: str) -> None:
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


def speedup_chart(path: str, timings: list[Timing]) -> None:
    """Per workload: speedup over its baseline of the best other way and of
    torch_mt at 1 thread and at the most threads measured (log scale)."""
    pyplot = _pyplot()
    # Workloads with a torch_mt arm (pad_sequences, a Python function, has none).
    workloads = list(
        dict.fromkeys(t.workload for t in timings if t.kind == "main" and t.threads is not None)
    )
    series = {"best other way": [], "torch_mt, 1 thread": [], "torch_mt, most threads": []}
    most_threads = 1
    for workload in workloads:
        arms = [t for t in timings if t.workload == workload]
        others = [t.speedup_vs_baseline for t in arms[1:] if not t.arm.startswith("torch_mt,")]
        mine = {t.threads: t.speedup_vs_baseline for t in arms if t.arm.startswith("torch_mt,")}
        most_threads = max(most_threads, max(mine))
        series["best other way"].append(max(others, default=1.0))
        series["torch_mt, 1 thread"].append(mine.get(1, float("nan")))
        series["torch_mt, most threads"].append(mine[max(mine)])
    figure, axes = pyplot.subplots(figsize=(10, 0.5 * len(workloads) + 1.5))
    height = 0.8 / len(series)
    for k, (label, values) in enumerate(series.items()):
        positions = [i + (k - 1) * height for i in range(len(workloads))]
        label = label.replace("most threads", f"{most_threads} threads")
        axes.barh(positions, values, height=height, label=label)
    axes.set_yticks(range(len(workloads)), workloads, fontsize=8)
    axes.invert_yaxis()
    axes.set_xscale("log")
    axes.axvline(1.0, color="black", linewidth=0.8)
    axes.set_xlabel("speedup over the workload's baseline (first arm), log scale")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, fontsize=8)
    _save(pyplot, figure, path, "torch_mt vs what users do today (same run)")


def scaling_chart(path: str, scaling: list[Scaling]) -> None:
    """Speedup over torch_mt's own 1-thread time per thread count, with the ideal."""
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(figsize=(8, 5))
    workloads = list(
        dict.fromkeys(
            r.workload for r in scaling if not r.workload.startswith(("small:", "runtime:"))
        )
    )
    counts = sorted({r.threads for r in scaling})
    axes.plot(counts, counts, "k--", linewidth=0.8, label="ideal")
    for workload in workloads:
        rows = [r for r in scaling if r.workload == workload]
        axes.plot(
            [r.threads for r in rows],
            [r.speedup_vs_1_thread for r in rows],
            marker="o",
            label=workload,
        )
    axes.set_xlabel("torch_mt threads")
    axes.set_ylabel("speedup over torch_mt at 1 thread")
    axes.set_xticks(counts)
    axes.legend(fontsize=7)
    _save(pyplot, figure, path, "Thread scaling (same run)")


def big_tensor_chart(path: str, results: list[BigResult]) -> None:
    """Speedup over the Python loop and peak memory of the process tree, per arm."""
    pyplot = _pyplot()
    measured = [r for r in results if r.seconds is not None]
    names = [r.arm for r in measured]
    figure, (speed, memory) = pyplot.subplots(
        1, 2, figsize=(12, 0.45 * len(names) + 1.8), sharey=True
    )
    speed.barh(names, [r.speedup_vs_loop for r in measured])
    speed.set_xscale("log")
    speed.axvline(1.0, color="black", linewidth=0.8)
    speed.set_xlabel("speedup over the Python loop (log scale)")
    memory.barh(names, [r.peak_memory_bytes / 2**30 for r in measured], color="tab:orange")
    memory.set_xlabel("peak memory of the process tree (GiB, PSS)")
    speed.invert_yaxis()
    speed.tick_params(axis="y", labelsize=8)
    _save(pyplot, figure, path, "DTW over every item of a big tensor")


def write_charts(
    directory: str, timings: list[Timing], scaling: list[Scaling], big_results: list[BigResult]
) -> list[str]:
    """Writes the charts this run has data for; returns their paths."""
    os.makedirs(directory, exist_ok=True)
    paths = [os.path.join(directory, "speedup.png"), os.path.join(directory, "scaling.png")]
    speedup_chart(paths[0], timings)
    scaling_chart(paths[1], scaling)
    if any(r.seconds is not None for r in big_results):
        paths.append(os.path.join(directory, "big_tensor.png"))
        big_tensor_chart(paths[-1], big_results)
    return paths
