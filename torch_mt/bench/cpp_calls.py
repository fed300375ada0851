"""What one tiny operator call costs from C++ against the same call from Python,
and the str[] edit distance inside TorchScript run from C++.

``mt::dtw`` on a [2, 12, 12] float64 cost runs inline (below one grain), so
the time is the call itself: the dispatcher, the checks, one small output. C++
calls it through the dispatcher as a TorchScript or AOTInductor model does
(``examples/cpp/call_overhead.cpp``); Python calls ``torch.ops.mt.dtw``. The
two are measured alternately, three rounds, in one run. The C++ program is
built with CMake from a source checkout (cached in build/examples/cpp); without
one, or without cmake, the comparison is skipped with a note.
"""

from __future__ import annotations

import importlib
import os
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass
from typing import Optional

import torch
import torch.utils.benchmark as benchmark

import torch_mt

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(_ROOT, "examples", "cpp")
BUILD = os.path.join(_ROOT, "build", "examples", "cpp")


@dataclass(frozen=True)
class CallOverhead:
    cpp_ns: Optional[float]  # median ns per call, None when skipped
    python_ns: Optional[float]
    build_s: Optional[float]  # configure + build of the example in this run (cached: ~1 s)
    note: str = ""


def build_example(target: Optional[str] = None) -> str:
    """Configures (once) and builds examples/cpp, or only ``target``; returns
    the build directory. CMake rebuilds only what changed. The one recipe the
    benchmark and tests/test_deploy.py share."""
    prefix = f"{torch.utils.cmake_prefix_path};{torch_mt.cmake_prefix_path}"
    subprocess.run(
        [
            "cmake",
            "-S",
            EXAMPLE,
            "-B",
            BUILD,
            f"-DCMAKE_PREFIX_PATH={prefix}",
            "-DCMAKE_BUILD_TYPE=Release",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["cmake", "--build", BUILD, "-j2", *(["--target", target] if target else [])],
        check=True,
        capture_output=True,
    )
    return BUILD


def measure(min_run_time: float, rounds: int = 3) -> CallOverhead:
    if not os.path.exists(EXAMPLE) or shutil.which("cmake") is None:
        return CallOverhead(None, None, None, "skipped: needs a source checkout and cmake")
    start = time.perf_counter()
    try:
        program = os.path.join(build_example("call_overhead"), "call_overhead")
    except subprocess.CalledProcessError as error:
        return CallOverhead(None, None, None, f"skipped: the C++ build failed ({error})")
    build_s = time.perf_counter() - start
    cost = torch.rand(2, 12, 12, dtype=torch.float64)
    timer = benchmark.Timer(
        "dtw(cost, None, None)", globals={"dtw": torch.ops.mt.dtw, "cost": cost}
    )
    calls = 20_000
    cpp, python = [], []
    for _ in range(rounds):
        out = subprocess.run(
            [program, str(calls), "5"], check=True, capture_output=True, text=True, timeout=300
        )
        cpp.append(float(out.stdout.strip()))
        python.append(timer.blocked_autorange(min_run_time=min_run_time).median * 1e9)
    return CallOverhead(statistics.median(cpp), statistics.median(python), build_s)


def table(result: CallOverhead) -> str:
    if result.cpp_ns is None:
        return f"- {result.note}"
    return "\n".join(
        [
            "| caller | ns per call | vs C++ |",
            "| --- | ---: | ---: |",
            f"| C++ (dispatcher, as a scripted or AOTI model calls it) | {result.cpp_ns:.0f} "
            "| 1.00x |",
            f"| Python (torch.ops.mt.dtw) | {result.python_ns:.0f} | "
            f"{result.python_ns / result.cpp_ns:.2f}x |",
            "",
            f"(example configured and built in {result.build_s:.1f} s this run; CMake caches it)",
        ]
    )


# ---- mt::edit_distance_text in TorchScript, run from C++ ------------------------------


class _TextDistances(torch.nn.Module):
    """The scripted model the C++ program runs: the strings arrive as IValues."""

    def forward(self, a: list[str], b: list[str]) -> torch.Tensor:
        return torch.ops.mt.edit_distance_text(a, b, None)


@dataclass(frozen=True)
class TextCalls:
    pairs: int
    cpp_ms: dict  # threads -> median ms of one call of the model, run from C++
    rapidfuzz_ms: Optional[float]  # a Python loop of rapidfuzz's Levenshtein.distance
    note: str = ""


def measure_text(min_run_time: float, thread_counts: list, pairs: int = 20_000) -> TextCalls:
    """``mt::edit_distance_text`` on ``pairs`` pairs of ASCII words (the
    benchmark's headline text), inside a scripted model that
    ``examples/cpp/text_in_torchscript.cpp`` loads and runs, at each thread
    count; against a rapidfuzz loop in this process on the same pairs."""
    import random
    import tempfile

    from .workload import with_typos, word_text

    if not os.path.exists(EXAMPLE) or shutil.which("cmake") is None:
        return TextCalls(pairs, {}, None, "skipped: needs a source checkout and cmake")
    try:
        program = os.path.join(build_example("text_in_torchscript"), "text_in_torchscript")
    except subprocess.CalledProcessError as error:
        return TextCalls(pairs, {}, None, f"skipped: the C++ build failed ({error})")
    rng = random.Random(0)
    lefts = word_text(pairs, 20, 60, rng)
    rights = with_typos(lefts, 0.15, rng)
    expected = int(torch.ops.mt.edit_distance_text(lefts, rights, None).sum())
    cpp_ms = {}
    with tempfile.TemporaryDirectory() as folder:
        model, strings = os.path.join(folder, "model.pt"), os.path.join(folder, "pairs.txt")
        torch.jit.script(_TextDistances()).save(model)
        with open(strings, "w") as file:
            file.writelines(f"{x}\n{y}\n" for x, y in zip(lefts, rights))
        for threads in thread_counts:
            out = subprocess.run(
                [program, model, strings, str(threads), "21"],
                check=True,
                capture_output=True,
                text=True,
                timeout=600,
            )
            milliseconds, checksum = out.stdout.split()
            assert int(checksum) == expected, "the C++ run computed other distances"
            cpp_ms[threads] = float(milliseconds)
    try:
        distance = importlib.import_module("rapidfuzz.distance").Levenshtein.distance
    except ImportError:
        return TextCalls(pairs, cpp_ms, None, "rapidfuzz not installed: no peer row")
    timer = benchmark.Timer(
        "[distance(x, y) for x, y in zip(lefts, rights)]",
        globals={"distance": distance, "lefts": lefts, "rights": rights},
    )
    rapidfuzz_ms = timer.blocked_autorange(min_run_time=min_run_time).median * 1e3
    return TextCalls(pairs, cpp_ms, rapidfuzz_ms)


def text_table(result: TextCalls) -> str:
    if not result.cpp_ms:
        return f"- {result.note}"
    rows = ["| caller | ms per call | vs the rapidfuzz loop |", "| --- | ---: | ---: |"]
    if result.rapidfuzz_ms is not None:
        rows.append(
            f"| Python loop: rapidfuzz Levenshtein.distance | {result.rapidfuzz_ms:.3g} | 1.00x |"
        )
    for threads, milliseconds in result.cpp_ms.items():
        ratio = f"{result.rapidfuzz_ms / milliseconds:.2f}x" if result.rapidfuzz_ms else "-"
        rows.append(
            f"| C++: a TorchScript model calling mt::edit_distance_text, {threads} thread"
            f"{'' if threads == 1 else 's'} | {milliseconds:.3g} | {ratio} |"
        )
    return "\n".join(rows + ([f"\n{result.note}"] if result.note else []))
