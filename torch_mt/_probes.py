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
    from .cpp_extension import load as load_extension

    build = os.path.join(_ROOT, "build", "probes")
    library = os.path.join(build, "torch_mt_runtime_probes.so")
    # The probes include the public runtime headers: a change there rebuilds them.
    headers = glob.glob(os.path.join(_ROOT, "ops", "include", "torch_mt", "*.h"))
    inputs = [SOURCE, __file__, library_path(), *headers]
    if os.path.exists(library) and os.path.getmtime(library) > max(map(os.path.getmtime, inputs)):
        torch.ops.load_library(library)  # up to date: no build, no build lock
        return
    # Through the public build helper, as a user's operator library is built:
    # the probes drive the one pool of the process.
    load_extension("torch_mt_runtime_probes", [SOURCE], build_directory=build)
