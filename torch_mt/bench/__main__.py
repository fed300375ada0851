"""python -m torch_mt.bench [--quick] [--json PATH] [--min-run-time SECONDS]"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass

import torch
import torch.utils.benchmark as benchmark

import torch_mt

from .workloads import (Arm, Workload, assignment_workloads, detection_workloads, dtw_workloads,
                        edit_distance_workloads, runtime_overhead_workloads, soft_dtw_workloads,
                        viterbi_workloads)


@dataclass(frozen=True)
class Timing:
    workload: str
    arm: str
    median_s: float
    iqr_s: float
    runs: int
    speedup_vs_baseline: float


#: Blocks per arm to aim for: enough for a median and an interquartile range.
BLOCKS_PER_ARM = 10


def _arm_threads(arm: Arm) -> int:
    return arm.threads if arm.threads is not None else torch_mt.get_num_threads()


def time_workload(workload: Workload, min_run_time: float) -> list[Timing]:
    """Times every arm (after one checked warm-up run) and relates it to the first.

    The arms' timed blocks are interleaved round-robin, not run one arm after
    another: on a noisy VM the machine's speed drifts over seconds, and
    interleaving lets every arm see the same drift, so the ratios hold even
    when the absolute times move. A block repeats the arm enough times to
    last about min_run_time / BLOCKS_PER_ARM; an arm stops once its blocks
    add up to min_run_time (a slow arm may get a single block).
    """
    expected = None
    timers: dict[str, benchmark.Timer] = {}
    runs_per_block: dict[str, int] = {}
    for arm in workload.arms:
        with torch_mt.num_threads(_arm_threads(arm)):
            start = time.perf_counter()
            result = workload.normalise(arm.run())
            once = time.perf_counter() - start
        if expected is None:
            expected = result
        elif not workload.agree(result, expected):
            raise AssertionError(f"{workload.name}: '{arm.name}' disagrees with "
                                 f"'{workload.arms[0].name}'")
        timers[arm.name] = benchmark.Timer(stmt="run()", globals={"run": arm.run},
                                           label=workload.name, description=arm.name)
        runs_per_block[arm.name] = max(1, int(min_run_time / BLOCKS_PER_ARM / max(once, 1e-9)))

    per_run: dict[str, list[float]] = {arm.name: [] for arm in workload.arms}
    spent: dict[str, float] = {arm.name: 0.0 for arm in workload.arms}
    while any(spent[name] < min_run_time for name in spent):
        for arm in workload.arms:
            if spent[arm.name] >= min_run_time:
                continue
            number = runs_per_block[arm.name]
            with torch_mt.num_threads(_arm_threads(arm)):
                block = timers[arm.name].timeit(number)
            per_run[arm.name].append(block.median)
            spent[arm.name] += block.median * number
    baseline = statistics.median(per_run[workload.arms[0].name])
    timings = []
    for name, times in per_run.items():
        median = statistics.median(times)
        quartiles = statistics.quantiles(times, n=4) if len(times) > 1 else [median] * 3
        timings.append(Timing(workload.name, name, median, quartiles[2] - quartiles[0],
                              len(times), baseline / median))
    return timings


def machine_info() -> dict:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cpu_model": model,
        "cpus_online": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "torch": torch.__version__,
        "torch_mt": torch_mt.__version__,
        "python": platform.python_version(),
        "torch_intra_op_threads": torch.get_num_threads(),
        "torch_mt_threads": torch_mt.get_num_threads(),
    }


def markdown_table(timings: list[Timing]) -> str:
    lines = ["| workload | arm | median (ms) | IQR (ms) | runs | speedup vs first arm |",
             "|---|---|---:|---:|---:|---:|"]
    for t in timings:
        lines.append(f"| {t.workload} | {t.arm} | {t.median_s * 1e3:.4g} | {t.iqr_s * 1e3:.2g} "
                     f"| {t.runs} | {t.speedup_vs_baseline:.2f}x |")
    return "\n".join(lines)


def thread_scaling_lines(timings: list[Timing]) -> list[str]:
    """For each workload: torch_mt at all threads relative to torch_mt at 1 thread."""
    lines = []
    for workload in dict.fromkeys(t.workload for t in timings):
        arms = {t.arm: t for t in timings if t.workload == workload}
        one = arms.get("torch_mt, 1 thread")
        many = [t for name, t in arms.items() if name.startswith("torch_mt,") and t is not one]
        for t in many:
            lines.append(f"- {workload}: {t.arm} is {one.median_s / t.median_s:.2f}x "
                         "torch_mt at 1 thread")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m torch_mt.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small inputs, well under a minute")
    parser.add_argument("--json", metavar="PATH", help="also write every figure to PATH")
    parser.add_argument("--min-run-time", type=float, default=None, metavar="SECONDS",
                        help="per arm, for torch.utils.benchmark (default 1, 0.2 with --quick)")
    args = parser.parse_args(argv)
    min_run_time = args.min_run_time or (0.2 if args.quick else 1.0)

    all_threads = torch_mt.get_num_threads()
    info = machine_info()
    print(f"# torch_mt benchmark\n\n{info['cpu_model']}, {info['cpus_usable']} usable CPUs, "
          f"torch {info['torch']}, torch_mt threads: 1 and {all_threads}\n", flush=True)
    timings: list[Timing] = []
    workloads = edit_distance_workloads(args.quick, all_threads)
    workloads += assignment_workloads(args.quick, all_threads)
    workloads += detection_workloads(args.quick, all_threads)
    workloads += soft_dtw_workloads(args.quick, all_threads)
    workloads += viterbi_workloads(args.quick, all_threads)
    workloads += dtw_workloads(args.quick, all_threads)
    workloads += runtime_overhead_workloads(all_threads)
    for workload in workloads:
        print(f"measuring {workload.description} ...", file=sys.stderr, flush=True)
        timings += time_workload(workload, min_run_time)

    print(markdown_table(timings))
    print("\nThread scaling (same run):")
    print("\n".join(thread_scaling_lines(timings)))
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"machine": info, "min_run_time_s": min_run_time, "quick": args.quick,
                       "results": [t.__dict__ for t in timings]}, file, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
