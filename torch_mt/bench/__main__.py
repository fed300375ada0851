"""python -m torch_mt.bench: torch_mt against what users do today, side by side.

    python -m torch_mt.bench                      # the headline run: a row per family (~3 min)
    python -m torch_mt.bench --full               # the whole suite (~30 min on 2 cores)
    python -m torch_mt.bench --full --quick       # the whole suite on small inputs (~4 min)
    python -m torch_mt.bench --full --threads 1,2,4,8   # thread-scaling sweep
    python -m torch_mt.bench --json out.json --plot charts/
    python -m torch_mt.bench --workloads my_bench.py   # your own operators' rows

Every arm's result is checked against the first arm's before it is timed.
Every run ends with a summary: per workload, the status quo (the first arm),
the fastest installed peer package, and torch_mt's speed-up over each.
A --workloads file defines ``workloads(quick) -> list[Workload]`` with the
types of ``torch_mt.bench.workload`` (examples/user_op/bench.py is one); only
its rows are measured then.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import logging
import os
import platform
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from typing import Optional

import torch
import torch.utils.benchmark as benchmark

import torch_mt

from .results import (
    SMALL_INPUT_FLOOR,
    Timing,
    markdown_table,
    scaling_table,
    small_input_verdicts,
    summarise,
    summary_table,
    thread_scaling,
)
from .workload import (
    Arm,
    Workload,
    all_workloads,
    arms_of,
    headline_workloads,
    skipped_arms,
)

#: Blocks per arm to aim for: enough for a median and an interquartile range.
BLOCKS_PER_ARM = 10


def _arm_threads(arm: Arm) -> int:
    return arm.threads if arm.threads is not None else torch_mt.get_num_threads()


#: An arm whose first (checked) run takes this long is timed by that run
#: alone: a second run would add minutes, and one run of a minute is long
#: enough not to need a median (the sacrebleu loop over a 1000 x 1000 grid).
SLOW_ARM_S = 30.0


def time_workload(
    workload: Workload, min_run_time: float, thread_counts: Sequence[int]
) -> list[Timing]:
    """Times every arm (after one checked warm-up run) and relates it to the first.

    torch.utils.benchmark measures blocks of runs, as blocked_autorange does,
    but the arms' blocks are interleaved round-robin rather than run one arm
    after another: on a noisy VM the machine's speed drifts over seconds, and
    interleaving lets every arm see the same drift, so the ratios hold even
    when the absolute times move. A block repeats the arm enough times to
    last about min_run_time / BLOCKS_PER_ARM; an arm stops once its blocks
    add up to min_run_time (a slow arm may get a single block; one slower
    than SLOW_ARM_S is timed by its checked run alone). The blocks of an arm
    are merged into one Measurement (its median and IQR).
    """
    arms = arms_of(workload, thread_counts)
    expected = None
    timers: dict[str, benchmark.Timer] = {}
    runs_per_block: dict[str, int] = {}
    slow: dict[str, float] = {}
    for arm in arms:
        with torch_mt.num_threads(_arm_threads(arm)):
            start = time.perf_counter()
            result = workload.normalise(arm.run())  # also the warm-up (lazy inits, caches)
            once = time.perf_counter() - start
            if once < SLOW_ARM_S:
                start = time.perf_counter()
                arm.run()
                once = time.perf_counter() - start  # sizes the blocks
            else:  # a Python loop over a million pairs: its checked run is its timing
                slow[arm.name] = once
        if expected is None:
            expected = result
        elif not workload.agree(result, expected):
            raise AssertionError(f"{workload.name}: '{arm.name}' disagrees with '{arms[0].name}'")
        timers[arm.name] = benchmark.Timer(
            stmt="run()", globals={"run": arm.run}, label=workload.name, description=arm.name
        )
        runs_per_block[arm.name] = max(1, int(min_run_time / BLOCKS_PER_ARM / max(once, 1e-9)))

    blocks: dict[str, list[benchmark.Measurement]] = {arm.name: [] for arm in arms}
    spent: dict[str, float] = {arm.name: 0.0 for arm in arms}
    for name, seconds in slow.items():
        task = timers[name]._task_spec
        blocks[name].append(benchmark.Measurement(1, [seconds], task))
        spent[name] = max(seconds, min_run_time)
    while any(spent[name] < min_run_time for name in spent):
        for arm in arms:
            if spent[arm.name] >= min_run_time:
                continue
            number = runs_per_block[arm.name]
            with torch_mt.num_threads(_arm_threads(arm)):
                block = timers[arm.name].timeit(number)
            blocks[arm.name].append(block)
            spent[arm.name] += block.median * number
    merged = {name: benchmark.Measurement.merge(measured)[0] for name, measured in blocks.items()}
    baseline = merged[arms[0].name].median
    return [
        Timing(
            workload.name,
            arm.name,
            arm.threads,
            merged[arm.name].median,
            merged[arm.name].iqr,
            len(merged[arm.name].times),
            baseline / merged[arm.name].median,
            workload.kind,
        )
        for arm in arms
    ]


#: The SIMD features that decide which kernel variant runs (and how fast).
_SIMD_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl")


def _simd_level(flags: set) -> str:
    """The SIMD variant torch_mt's kernels run here (``torch_mt.simd_isa()``),
    naming the switch that capped it below what the CPU has."""
    isa = torch_mt.simd_isa()
    if isa == "portable" and {"avx2", "bmi1", "bmi2", "popcnt"} <= flags:  # simd::isa()'s AVX2
        return "portable (TORCH_MT_DISABLE_SIMD)"
    if isa == "avx2" and {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= flags:
        return "avx2 (TORCH_MT_DISABLE_AVX512)"
    return isa


def _cpuinfo_field(lines: list[str], name: str) -> str:
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(name)), "")


def machine_info() -> dict:
    """The machine a run measured: CPU model and vendor, its SIMD flags (a
    figure holds for one microarchitecture: docs/benchmarks.md keeps Intel and
    AMD runs apart), whether torch_mt's SIMD paths are on, versions, threads."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            lines = cpuinfo.readlines()
    except OSError:
        lines = []
    flags = set(_cpuinfo_field(lines, "flags").split())
    return {
        "cpu_model": _cpuinfo_field(lines, "model name") or "unknown",
        "cpu_vendor": _cpuinfo_field(lines, "vendor_id") or "unknown",
        "cpu_flags": [flag for flag in _SIMD_FLAGS if flag in flags],
        "torch_mt_simd": _simd_level(flags),
        "cpus_online": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "torch": torch.__version__,
        "torch_mt": torch_mt.__version__,
        "python": platform.python_version(),
        "torch_intra_op_threads": torch.get_num_threads(),
        "torch_mt_threads": torch_mt.get_num_threads(),
    }


def _thread_counts(text: Optional[str], all_threads: int) -> list[int]:
    if text is None:
        return sorted({1, all_threads})
    counts = sorted({int(part) for part in text.split(",") if part.strip()})
    if not counts or counts[0] < 1:
        raise SystemExit("--threads: a comma-separated list of counts >= 1, e.g. 1,2,4,8")
    return counts if counts[0] == 1 else [1, *counts]  # speedups need the 1-thread time


def _progress(items: list, description: str):
    """tqdm on stderr when it is a terminal and tqdm is installed (the bench
    extra); in a log a progress bar is only carriage returns, so none there."""
    if not sys.stderr.isatty():
        return items
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    return tqdm(items, desc=description, file=sys.stderr, unit="workload")


@contextlib.contextmanager
def _quiet_peers() -> Iterator[None]:
    """Keeps the peers' chatter out of the report while arms run: their log
    records (pyctcdecode's "kenlm python bindings are not installed", Ray's
    start-up warnings), their Python warnings, and what they print on stdout
    (pycocotools' "loading annotations..."). The report's own lines are
    printed outside it."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            yield
        finally:
            logging.disable(logging.NOTSET)


def workloads_from_file(path: str, quick: bool) -> list[Workload]:
    """``workloads(quick)`` of the Python file at ``path`` (a user's rows)."""
    spec = importlib.util.spec_from_file_location("torch_mt_user_workloads", path)
    if spec is None or spec.loader is None or not os.path.isfile(path):
        raise SystemExit(f"--workloads: no Python file at {path!r}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "workloads", None)):
        raise SystemExit(f"--workloads: {path!r} defines no workloads(quick) function")
    return module.workloads(quick)


def _why_skipped(missing: list[str]) -> str:
    """'pip install X adds it' for packages not installed; import errors as they are."""
    absent = [reason for reason in missing if " " not in reason]
    broken = [reason for reason in missing if " " in reason]
    parts = [f"pip install {' '.join(absent)} adds it"] if absent else []
    return "; ".join(parts + broken)


def _parser() -> argparse.ArgumentParser:
    """The command line of ``python -m torch_mt.bench``."""
    parser = argparse.ArgumentParser(
        prog="python -m torch_mt.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="the whole suite: every workload, the C++ call rows, the big-tensor comparison",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the whole suite on small inputs (about 4 minutes; implies --full)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write every figure to PATH")
    parser.add_argument("--plot", metavar="DIR", help="write PNG charts into DIR")
    parser.add_argument(
        "--threads",
        metavar="N,N,...",
        help="torch_mt thread counts to measure (default: 1 and all)",
    )
    parser.add_argument(
        "--size",
        type=float,
        default=None,
        metavar="GIB",
        help="big-tensor comparison size in GiB (--full: default 1, 1/16 with --quick; 0 skips it)",
    )
    parser.add_argument(
        "--min-run-time",
        type=float,
        default=None,
        metavar="SECONDS",
        help="per arm, for torch.utils.benchmark (default 0.5; --full: 1, 0.1 with --quick)",
    )
    parser.add_argument(
        "--workloads",
        metavar="FILE",
        help="measure only the workloads(quick) of this Python file (your own operators)",
    )
    return parser


def _print_tables(
    timings: list[Timing],
    family_of: dict[str, str],
    skipped: list[dict],
    scaling: list,
    small: list[dict],
) -> None:
    """The per-operator table, the skipped arms, thread scaling and the small-input verdicts."""
    print("## Per operator\n")
    # A section per family, named as its folders are (ops/<family>/,
    # torch_mt/<family>/, docs/ops/<family>.md), in the order measured.
    sections: dict[str, list[Timing]] = {}
    for timing in timings:
        sections.setdefault(family_of.get(timing.workload, ""), []).append(timing)
    for family, rows in sections.items():
        if family:
            print(f"### {family}\n")
        print(markdown_table(rows) + ("\n" if len(sections) > 1 else ""))
    if skipped:
        print("\nArms skipped because an optional package is not installed or fails to import:\n")
        for row in skipped:
            print(f"- {row['workload']}: '{row['arm']}' ({_why_skipped(row['missing'])})")
    print("\n## Thread scaling (same run)\n")
    print(scaling_table(scaling))
    if small:
        print(f"\n## Small inputs (all threads vs 1 thread, floor {SMALL_INPUT_FLOOR})\n")
    for verdict in small:
        print(
            f"- {verdict['workload']}: {verdict['ratio']:.2f}x at {verdict['threads']} threads "
            f"{'ok' if verdict['ok'] else 'BELOW THE FLOOR'}"
        )


def _measure(workloads: list[Workload], min_run_time: float, thread_counts: list[int]):
    """Every workload timed (peers quietened), and the arms it skipped."""
    timings: list[Timing] = []
    skipped: list[dict] = []
    for workload in _progress(workloads, "workloads"):
        try:
            with _quiet_peers():
                timings += time_workload(workload, min_run_time, thread_counts)
        finally:
            if workload.finish is not None:
                workload.finish()
        skipped += [
            {"workload": workload.name, "arm": arm, "missing": missing}
            for arm, missing in skipped_arms(workload)
        ]
    return timings, skipped


def _peer_arms(workloads: list[Workload]) -> dict[str, set[str]]:
    """Per workload, the arms that call a third-party package (best-peer candidates)."""
    return {w.name: {arm.name for arm in w.arms if arm.requires} for w in workloads}


def main(argv: Optional[list[str]] = None) -> int:
    args = _parser().parse_args(argv)
    full = args.full or args.quick  # --quick is the whole suite on small inputs
    # The headline run's arms get half a second each: it must end in minutes.
    min_run_time = args.min_run_time or (0.1 if args.quick else 1.0 if full else 0.5)
    size_gib = args.size if args.size is not None else (1 / 16 if args.quick else 1.0)
    if args.workloads:
        workloads = workloads_from_file(args.workloads, args.quick)
    elif full:
        workloads = all_workloads(args.quick)
    else:
        workloads = headline_workloads()
    built_in_sections = full and not args.workloads
    if not built_in_sections:
        size_gib = 0  # the C++ call rows and the big tensor belong to the full suite
    thread_counts = _thread_counts(args.threads, torch_mt.get_num_threads())

    info = machine_info()
    if args.workloads:
        run = f"the workloads of {args.workloads}"
    else:
        run = "the full suite" if full else "the headline run (one row per family; --full: all)"
    print(
        f"# torch_mt benchmark: {run}\n\n{info['cpu_model']} ({info['cpu_vendor']}; "
        f"{' '.join(info['cpu_flags']) or 'no AVX2'}; torch_mt SIMD: {info['torch_mt_simd']}), "
        f"{info['cpus_usable']} usable CPUs, torch {info['torch']}, "
        f"torch_mt threads: {', '.join(map(str, thread_counts))}\n",
        flush=True,
    )
    timings, skipped = _measure(workloads, min_run_time, thread_counts)
    scaling = thread_scaling(timings)
    small = small_input_verdicts(scaling, timings)

    family_of = {workload.name: workload.family for workload in workloads}
    _print_tables(timings, family_of, skipped, scaling, small)

    call_overhead = text_calls = None
    if built_in_sections:
        from .cpp_calls import measure, table

        print("\n## One tiny call from C++ vs from Python (mt::dtw, [2, 12, 12])\n", flush=True)
        call_overhead = measure(min_run_time)
        print(table(call_overhead))
        from .cpp_calls import measure_text, text_table

        pairs = 2_000 if args.quick else 20_000
        print(
            "\n## mt::edit_distance_text in TorchScript run from C++ "
            f"({pairs} pairs of ASCII words)\n",
            flush=True,
        )
        text_calls = measure_text(min_run_time, thread_counts, pairs)
        print(text_table(text_calls))

    big_setup, big_results = None, []
    if size_gib > 0:
        from .big_tensor import big_tensor_table, run_big_tensor

        print(f"\n## The big-tensor comparison ({size_gib:g} GiB)\n", flush=True)
        big_setup, big_results = run_big_tensor(
            size_gib,
            max(thread_counts),
            progress=lambda arm: print(f"big tensor: {arm} ...", file=sys.stderr, flush=True),
        )
        print(big_tensor_table(big_setup, big_results))

    summary = summarise(timings, family_of, _peer_arms(workloads))
    print(
        "\n## Summary: torch_mt's speed-up (their time / torch_mt's) over the status quo "
        f"and the fastest installed peer\n\nCPU: {info['cpu_model']} ({info['cpu_vendor']}), "
        f"torch_mt SIMD: {info['torch_mt_simd']}, {info['cpus_usable']} usable CPUs\n"
    )
    print(summary_table(summary))

    if args.json:
        report = {
            "machine": info,
            "full": full,
            "min_run_time_s": min_run_time,
            "quick": args.quick,
            "thread_counts": thread_counts,
            "results": [asdict(t) for t in timings],
            "thread_scaling": [asdict(r) for r in scaling],
            "small_inputs": small,
            "skipped_arms": skipped,
            "summary": [asdict(r) for r in summary],
            "cpp_call_overhead": asdict(call_overhead) if call_overhead else None,
            "text_in_torchscript_from_cpp": asdict(text_calls) if text_calls else None,
            "big_tensor": {"setup": big_setup, "results": [asdict(r) for r in big_results]},
        }
        with open(args.json, "w") as file:
            json.dump(report, file, indent=2)
    if args.plot:
        from .plots import write_charts

        for path in write_charts(args.plot, timings, scaling, big_results):
            print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
