"""What a benchmark workload is, and where workloads come from.

Each operator family declares its workloads beside its specs, in
``torch_mt/<family>/bench.py``: ``workloads(quick)``, every row of the full
suite, and ``headline()``, its one representative row of the default run; the
runtime's own costs are measured by :func:`runtime_workloads`.
:func:`all_workloads` and :func:`headline_workloads` collect them, so no list
of workloads is kept by hand.

An arm that calls an optional peer package (``rapidfuzz``, ``scipy``, ...)
names it in ``requires``; when it is not installed the arm is skipped and the
report says which package would add it. Arms import their peer only when they
run (:func:`peer`), so a missing one never stops the benchmark.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import operator
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Optional

import torch

import torch_mt


@dataclass(frozen=True)
class Arm:
    """One way of computing a workload's result."""

    name: str
    run: Callable[[], Any]
    #: torch_mt threads to run with (None: the arm does not use torch_mt).
    threads: Optional[int] = None
    #: Import names of the optional packages the arm calls (its "peers").
    requires: tuple[str, ...] = ()

    def missing(self) -> list[str]:
        """Why each required package cannot be used here: ``"NAME"`` when it
        is not installed, ``"NAME (import failed: ...)"`` when it is but
        raises on import (a broken numba under tslearn, say). Empty: the arm runs."""
        return [reason for reason in map(_unavailable, self.requires) if reason is not None]


def _unavailable(package: str) -> Optional[str]:
    """None when ``package`` imports; else why not (see Arm.missing). An
    installed package is imported here, once (Python caches it), so a peer
    that fails at import is skipped and reported, not a crash mid-run."""
    try:
        if importlib.util.find_spec(package) is None:
            return package
        importlib.import_module(package)
    except Exception as error:  # any import-time failure of a third-party package
        first_line = str(error).splitlines()[0] if str(error) else ""
        return f"{package} (import failed: {type(error).__name__}: {first_line})"
    return None


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    #: The torch_mt operators it measures (the registry test checks that
    #: every operator has a workload).
    ops: tuple[str, ...]
    #: What users do without torch_mt (the first is the baseline: every
    #: speedup is relative to it), and other ways of calling torch_mt.
    arms: list[Arm]
    #: Turns an arm's output into a comparable value (all arms must agree).
    normalise: Callable[[Any], Any]
    #: The torch_mt call; the harness runs it at each thread count measured
    #: (1 and all, or --threads), as arms "torch_mt, N threads".
    torch_mt: Optional[Callable[[], Any]] = None
    #: Whether two normalised results agree: equality unless floating point
    #: results computed in different orders are compared.
    agree: Callable[[Any, Any], bool] = operator.eq
    #: "main" (a realistic size), "small" (a tiny call: must not slow down
    #: with threads) or "runtime" (the pool's own costs).
    kind: str = "main"
    #: Called once the workload is timed, whatever happened: stops what its
    #: arms started (a local Ray's processes would take CPU from the rows after).
    finish: Optional[Callable[[], None]] = None
    #: The family that declared it (its package's name: the benchmark prints a
    #: section per family); set by all_workloads, "" for a user's file.
    family: str = ""


def peer(module: str) -> ModuleType:
    """The optional package ``module``, imported when an arm first runs."""
    return importlib.import_module(module)


def python_loop(module: str, function: str, lefts: Sequence, rights: Sequence) -> list:
    """``module.function(x, y)`` for every pair, in a Python loop, the function
    looked up once, as a user's loop does (not once per pair: an import
    lookup costs as much as a short rapidfuzz call, and flattered us)."""
    call = getattr(peer(module), function)
    return [call(x, y) for x, y in zip(lefts, rights)]


def torch_mt_arm_name(threads: int) -> str:
    return f"torch_mt, {threads} thread{'' if threads == 1 else 's'}"


def arms_of(workload: Workload, thread_counts: Sequence[int]) -> list[Arm]:
    """The workload's arms whose peers are installed, then torch_mt at each thread count."""
    generated = [Arm(torch_mt_arm_name(n), workload.torch_mt, threads=n) for n in thread_counts]
    present = [arm for arm in workload.arms if not arm.missing()]
    return present + (generated if workload.torch_mt is not None else [])


def skipped_arms(workload: Workload) -> list[tuple[str, list[str]]]:
    """(arm name, missing packages) of each arm that cannot run here."""
    return [(arm.name, arm.missing()) for arm in workload.arms if arm.missing()]


def all_threads() -> int:
    """The torch_mt thread count: what a thread-pool peer arm gets too."""
    return torch_mt.get_num_threads()


# ---- helpers the families' workloads share ------------------------------------


def random_sequences(
    count: int, min_length: int, max_length: int, vocab: int, rng: random.Random
) -> list[list[int]]:
    return [
        [rng.randrange(vocab) for _ in range(rng.randint(min_length, max_length))]
        for _ in range(count)
    ]


#: Common English words: the text most users compare (names, words,
#: transcripts) is ASCII, where rapidfuzz has its fastest path.
ENGLISH_WORDS = (
    "the of and to in is that for it with as was on be by at this have from or one had not "
    "but what all were when we there can an your which their said if do will each about how "
    "up out them then she many some so these would other into has more her two like him see "
    "time could no make than first been its who now people my made over did down only way "
    "find use may water long little very after words called just where most know get through "
    "back much before go good new write our used me man too any day same right look think also "
    "around another came come work three word must because does part even place well such"
).split()
#: Latin-1 letters beyond ASCII (Western European names and words).
_LATIN1_LETTERS = "àáâäçèéêëíîïñòóôöùúûüýÿßæøå"


def word_text(
    count: int, min_chars: int, max_chars: int, rng: random.Random, latin1: bool = False
) -> list[str]:
    """``count`` strings of ``min_chars``-``max_chars`` characters: English words
    and spaces (ASCII), or with ``latin1`` about one letter in six accented."""
    texts = []
    for _ in range(count):
        target = rng.randint(min_chars, max_chars)
        text = ""
        while len(text) < target:
            text += ("" if not text else " ") + rng.choice(ENGLISH_WORDS)
        text = text[:target]
        if latin1:
            text = "".join(
                rng.choice(_LATIN1_LETTERS) if c != " " and rng.random() < 1 / 6 else c
                for c in text
            )
        texts.append(text)
    return texts


def with_typos(texts: list[str], rate: float, rng: random.Random) -> list[str]:
    """Each text with about ``rate`` of its characters substituted, deleted or
    doubled (near-duplicates, as record linkage and spelling compare them)."""
    noisy = []
    for text in texts:
        out = []
        for c in text:
            roll = rng.random()
            if roll < rate / 3:
                out.append(rng.choice(text))  # substituted
            elif roll < 2 * rate / 3:
                continue  # deleted
            elif roll < rate:
                out.append(c + c)  # doubled
            else:
                out.append(c)
        noisy.append("".join(out))
    return noisy


#: Token ids 0..999 as characters: ASCII letters, then CJK ideographs.
_CHARACTERS = [chr(0x61 + t) if t < 26 else chr(0x4E00 + t) for t in range(1000)]


def as_text(sequences: list[list[int]]) -> list[str]:
    """Token sequences (ids below 1000) spelled as strings, one character per token."""
    return ["".join(_CHARACTERS[t] for t in seq) for seq in sequences]


def as_int_lists(result: Any) -> list:
    """A tensor, NumPy array or (nested) list of ints as nested Python lists."""
    if isinstance(result, torch.Tensor):
        return result.tolist()
    if isinstance(result, list):
        return [as_int_lists(item) if not isinstance(item, int) else item for item in result]
    return result.astype("int64").tolist()  # a NumPy array


def as_comparable(result: Any) -> Any:
    """Tensors (or tuples of them) as nested lists."""
    if isinstance(result, tuple):
        return [as_comparable(part) for part in result]
    return result.tolist()


def close(rtol: float) -> Callable[[Any, Any], bool]:
    def agree(actual: torch.Tensor, expected: torch.Tensor) -> bool:
        return torch.allclose(actual.double(), expected.double(), rtol=rtol, atol=rtol)

    return agree


def small_workload(op: str, call: Callable[[], Any]) -> Workload:
    """A tiny call of ``op``: below one grain, so it runs inline and must cost
    the same at any thread count (ratio all threads / 1 thread >= 0.9)."""
    return Workload(
        name=f"small: {op}",
        description=f"a tiny {op} call",
        ops=(op,),
        arms=[],
        torch_mt=call,
        normalise=as_comparable,
        kind="small",
    )


# ---- the runtime's own costs, and the collection ----------------------------------


def runtime_workloads() -> list[Workload]:
    """What one fan-out costs: an (almost) empty body cut into 2 and into 64 chunks.

    Uses the runtime's test operator ``mt_test.fan_out_fail`` (writes one int
    per index), so the time is the runtime's own: wakeup, chunk claims, join.
    The probes are built from a source checkout (``torch_mt._probes``); an
    installed package has none, and these workloads are left out.
    """
    from torch_mt import _probes

    if not _probes.available():
        return []
    _probes.load()
    workloads = []
    for chunks in (2, 64):

        def empty_fan_out(chunks: int = chunks) -> torch.Tensor:
            return torch.ops.mt_test.fan_out_fail(chunks, 1, -1, "")

        workloads.append(
            Workload(
                name=f"runtime: empty fan-out, {chunks} chunks",
                description=f"an empty parallel_for over {chunks} one-item chunks "
                "(1 thread: inline)",
                ops=(),
                arms=[],
                torch_mt=empty_fan_out,
                normalise=as_int_lists,
                kind="runtime",
            )
        )
    return workloads


def _family_name(module: ModuleType) -> str:
    return module.__name__.split(".")[-2]  # torch_mt.<family>.bench


def headline_workloads() -> list[Workload]:
    """One row per family, its ``bench.headline()``: the default run (``make
    bench``), which a newcomer sees and which ends within minutes."""
    return [
        dataclasses.replace(module.headline(), family=_family_name(module))
        for module in torch_mt.family_modules("bench")
    ]


def all_workloads(quick: bool) -> list[Workload]:
    """Every family's workloads (main ones first, then the tiny calls), then the runtime's."""
    declared = [
        dataclasses.replace(workload, family=_family_name(module))
        for module in torch_mt.family_modules("bench")
        for workload in module.workloads(quick)
    ]
    main = [workload for workload in declared if workload.kind == "main"]
    small = [workload for workload in declared if workload.kind == "small"]
    runtime = [dataclasses.replace(w, family="runtime") for w in runtime_workloads()]
    return main + small + runtime
