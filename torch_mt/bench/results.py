"""What a benchmark run produces: timings, thread scaling, verdicts, and their
Markdown tables. No timing happens here (see ``__main__``); the plots and the
big-tensor comparison format their results with these helpers too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .workload import torch_mt_arm_name

#: A tiny call at all threads must keep at least this share of its 1-thread speed.
SMALL_INPUT_FLOOR = 0.9


def markdown(header: list[str], rows: list[list[str]], text_columns: int = 2) -> str:
    """A Markdown table; the first `text_columns` columns left-aligned, the rest right."""
    rule = ["---"] * text_columns + ["---:"] * (len(header) - text_columns)
    return "\n".join("| " + " | ".join(cells) + " |" for cells in [header, rule, *rows])


@dataclass(frozen=True)
class Timing:
    workload: str
    arm: str
    threads: Optional[int]  # torch_mt threads of the arm (None: it does not use torch_mt)
    median_s: float
    iqr_s: float
    runs: int  # blocks measured
    speedup_vs_baseline: float
    kind: str  # the workload's kind: main, small or runtime


def markdown_table(timings: list[Timing]) -> str:
    return markdown(
        ["workload", "arm", "median (ms)", "IQR (ms)", "runs", "speedup vs first arm"],
        [
            [
                t.workload,
                t.arm,
                f"{t.median_s * 1e3:.4g}",
                f"{t.iqr_s * 1e3:.2g}",
                str(t.runs),
                f"{t.speedup_vs_baseline:.2f}x",
            ]
            for t in timings
        ],
    )


@dataclass(frozen=True)
class Scaling:
    workload: str
    threads: int
    median_s: float
    speedup_vs_1_thread: float
    efficiency: float  # T1 / (n * Tn)


def thread_scaling(timings: list[Timing]) -> list[Scaling]:
    """torch_mt's own arms of each workload relative to its 1-thread arm."""
    rows = []
    for workload in dict.fromkeys(t.workload for t in timings):
        mine = {
            t.threads: t
            for t in timings
            if t.workload == workload and t.arm == torch_mt_arm_name(t.threads or 0)
        }
        if 1 not in mine:
            continue
        one = mine[1].median_s
        for n, t in sorted(mine.items()):
            rows.append(Scaling(workload, n, t.median_s, one / t.median_s, one / (n * t.median_s)))
    return rows


def scaling_table(rows: list[Scaling]) -> str:
    return markdown(
        ["workload", "threads", "median (ms)", "speedup vs 1 thread", "parallel efficiency"],
        [
            [
                r.workload,
                str(r.threads),
                f"{r.median_s * 1e3:.4g}",
                f"{r.speedup_vs_1_thread:.2f}x",
                f"{100 * r.efficiency:.0f}%",
            ]
            for r in rows
        ],
        text_columns=1,
    )


def small_input_verdicts(rows: list[Scaling], timings: list[Timing]) -> list[dict]:
    """For each tiny call: all threads vs 1 thread, and whether it keeps >= 0.9."""
    small = {t.workload for t in timings if t.kind == "small"}
    most = {}
    for r in rows:
        if r.workload in small and r.threads >= most.get(r.workload, (0, None))[0]:
            most[r.workload] = (r.threads, r)
    return [
        {
            "workload": name,
            "threads": n,
            "ratio": r.speedup_vs_1_thread,
            "ok": r.speedup_vs_1_thread >= SMALL_INPUT_FLOOR,
        }
        for name, (n, r) in most.items()
    ]
