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


@dataclass(frozen=True)
class Summary:
    """One workload's verdict: torch_mt against what users run today."""

    family: str
    workload: str
    status_quo: str  # the first arm measured: what users do without torch_mt
    status_quo_s: float
    best_peer: Optional[str]  # the fastest arm that calls a third-party package
    best_peer_s: Optional[float]
    torch_mt_s: dict[int, float]  # threads -> median


def summarise(
    timings: list[Timing], family_of: dict[str, str], peer_arms: dict[str, set[str]]
) -> list[Summary]:
    """A Summary per main workload; ``peer_arms`` names, per workload, the arms
    that call an installed third-party package (the candidates for best peer)."""
    rows = []
    for workload in dict.fromkeys(t.workload for t in timings if t.kind == "main"):
        mine = [t for t in timings if t.workload == workload]
        torch_mt = {
            t.threads: t.median_s for t in mine if t.arm == torch_mt_arm_name(t.threads or 0)
        }
        if not torch_mt:
            continue
        peers = [t for t in mine if t.arm in peer_arms.get(workload, set())]
        best = min(peers, key=lambda t: t.median_s) if peers else None
        rows.append(
            Summary(
                family_of.get(workload, ""),
                workload,
                mine[0].arm,
                mine[0].median_s,
                best.arm if best else None,
                best.median_s if best else None,
                torch_mt,
            )
        )
    return rows


def summary_table(rows: list[Summary]) -> str:
    """family, workload, status quo, best peer, and torch_mt's speed-up over
    each (their time / torch_mt's) at 1 thread and at the most threads measured."""
    most = max((max(r.torch_mt_s) for r in rows), default=1)

    def ratio(other_s: Optional[float], row: Summary, threads: int) -> str:
        if other_s is None or threads not in row.torch_mt_s:
            return "—"
        return f"{other_s / row.torch_mt_s[threads]:.2f}x"

    return markdown(
        [
            "family",
            "workload",
            "status quo",
            "best peer",
            "vs status quo, 1 thread",
            f"vs status quo, {most} threads",
            "vs best peer, 1 thread",
            f"vs best peer, {most} threads",
        ],
        [
            [
                r.family,
                r.workload,
                r.status_quo,
                r.best_peer or "— (none installed)",
                ratio(r.status_quo_s, r, 1),
                ratio(r.status_quo_s, r, most),
                ratio(r.best_peer_s, r, 1),
                ratio(r.best_peer_s, r, most),
            ]
            for r in rows
        ],
        text_columns=4,
    )
