"""The runtime's test operators, ``torch.ops.mt_test.*``, built on demand.

They exist to test and measure the pool itself (which thread ran which
index, errors thrown from chunks, nested fan-outs, worker state), so they are
not part of the shipped extension. ``load()`` compiles ``ops/probes/`` once
(ninja, cached under ``build/probes``, rebuilt when the source changes),
links it against ``libtorch_mt.so`` so the probes drive the very pool
the operators use, and loads it. Needs a source checkout.
"""

from __future__ import annotations

import glob
import os
import time

import torch

from . import library_path

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(_ROOT, "ops", "probes", "runtime_probes.cpp")


def available() -> bool:
    """True in a source checkout, where the probes' source is."""
    return os.path.exists(SOURCE)


def load() -> None:
    """Builds (if needed) and loads the probes; ``torch.ops.mt_test`` then works.

    Raises:
        FileNotFoundError: not a source checkout (the probes are not installed).
    """
    if hasattr(torch.ops.mt_test, "fan_out_fail"):
        return
    if not available():
        raise FileNotFoundError(f"torch_mt: the runtime probes need a source checkout ({SOURCE})")
    from torch.utils.cpp_extension import load as load_extension

    build = os.path.join(_ROOT, "build", "probes")
    library = os.path.join(build, "torch_mt_runtime_probes.so")
    inputs = [
        SOURCE,
        __file__,
        library_path(),
        *glob.glob(os.path.join(_ROOT, "ops", "runtime", "*.h")),
    ]
    if os.path.exists(library) and os.path.getmtime(library) > max(map(os.path.getmtime, inputs)):
        torch.ops.load_library(library)  # up to date: no build, no build lock
        return
    # torch's builder waits forever on a lock file that a killed build left
    # behind; a build takes seconds, so an old lock is such a leftover.
    lock = os.path.join(build, "lock")
    if os.path.exists(lock) and time.time() - os.path.getmtime(lock) > 300:
        os.remove(lock)
    os.makedirs(build, exist_ok=True)
    load_extension(
        name="torch_mt_runtime_probes",
        sources=[SOURCE],
        extra_include_paths=[os.path.join(_ROOT, "ops")],
        extra_cflags=["-O3", "-std=c++20"],  # as setup.py builds the library
        # The probes call mt::parallel_for of the loaded library: one pool per process.
        extra_ldflags=[library_path()],
        build_directory=build,
        is_python_module=False,
        verbose=False,
    )
