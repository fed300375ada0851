"""torch_mt: parallel CPU operators for PyTorch.

Each operator is a C++ kernel that fans out over torch_mt's own thread pool
and is registered with the PyTorch dispatcher as ``torch.ops.mt.<name>``, so
it runs the same in eager mode, TorchScript and ``torch.compile``. The
functions here are typed, documented wrappers around those operators.
"""

import os

import torch  # the dispatcher must exist before our library registers with it


def library_path() -> str:
    """Path of ``libtorch_mt.so``: the runtime and every operator, without Python.

    ``import torch_mt`` loads it; a C++ program links it (see docs/deploy.md)
    or loads it with ``torch::dynamic_library`` / ``dlopen``, and a Python
    process that only runs a TorchScript or AOTInductor model can load it
    alone with ``torch.ops.load_library(torch_mt.library_path())``.

    Returns:
        The absolute path of the library inside the installed package.

    Raises:
        Nothing; the file may be missing in an unbuilt checkout (see ``make build``).

    Example:
        >>> import torch_mt
        >>> torch_mt.library_path().endswith("libtorch_mt.so")
        True
    """
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib", "libtorch_mt.so")


#: Where CMake finds torch_mt's package config (``find_package(TorchMT)``), as
#: ``torch.utils.cmake_prefix_path`` is for torch's: pass both in
#: ``CMAKE_PREFIX_PATH``. See docs/deploy.md.
cmake_prefix_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "share", "cmake")


def _release(version: str) -> str:
    """``2.13.0`` of ``2.13.0+cpu``: the local tag names the build of torch
    (CPU, a CUDA version), whose C++ ABI is that of the release."""
    return version.split("+", 1)[0]


#: The torch version the library was compiled against (``torch.__version__``
#: at build time); ``import torch_mt`` refuses another torch release.
built_with_torch: str
try:
    from ._build_info import BUILT_WITH_TORCH as built_with_torch
except ImportError:  # pragma: no cover - an unbuilt source checkout
    raise ImportError(
        "torch_mt: this copy was never built (no torch_mt/_build_info.py); build it with "
        "`make install` (pip install --no-build-isolation -e .) from the source tree"
    ) from None

if _release(torch.__version__) != _release(built_with_torch):
    # Loading a library built for another torch fails with an undefined
    # symbol, or worse: say what happened and what to do instead.
    needed = _release(built_with_torch)
    raise ImportError(
        f"torch_mt: this build of torch_mt was compiled against torch {built_with_torch}, "
        f"but the running torch is {torch.__version__}. Install torch=={needed}, or rebuild "
        "torch_mt against your torch from its source distribution: pip install "
        "--no-build-isolation torch_mt-<version>.tar.gz (see docs/install.md)"
    )

try:
    # Loading it runs the TORCH_LIBRARY registrations; loading it again
    # (torch.ops.load_library from user code, say) is harmless.
    torch.ops.load_library(library_path())
except OSError as error:  # pragma: no cover - depends on the install
    raise ImportError(
        f"torch_mt: the operator library {library_path()} could not be loaded "
        f"({error}). Build it against the installed torch {torch.__version__} with "
        "`make install` (pip install --no-build-isolation -e .) from the source tree."
    ) from error

# After the library is loaded; re-exported (``__all__`` below is derived,
# which ruff cannot see).
from ._runtime import (  # noqa: E402, F401
    get_num_threads,
    num_threads,
    reset_num_threads,
    set_num_threads,
    simd_isa,
)

# Decide the thread count now, so a bad TORCH_MT_NUM_THREADS fails at import
# with its message, not later (or never, for inputs too small to fan out).
get_num_threads()


def _family_packages() -> list:
    """The operator families: every subpackage of this one but the benchmark
    and the harness. Each lists its wrappers in ``__all__``; nothing else does.
    Its ``spec`` and ``bench`` modules (the tests' specs, the benchmark's
    workloads) are imported only by those who need them (family_modules)."""
    import importlib
    import pkgutil

    shared = {"bench", "testing"}
    return [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name)
        if info.ispkg and not info.name.startswith("_") and info.name not in shared
    ]


def family_modules(kind: str) -> list:
    """Every family's module ``kind``, in family order: how the test suite finds
    the specs and the benchmark finds the workloads, with no list kept by hand.

    Args:
        kind: ``"spec"`` (needs hypothesis: the test extra) or ``"bench"``.

    Returns:
        The imported modules ``torch_mt.<family>.<kind>``, one per family.

    Raises:
        ModuleNotFoundError: a family has no module ``kind``, or ``"spec"``
            without hypothesis installed.

    Example:
        >>> import torch_mt
        >>> [module.__name__ for module in torch_mt.family_modules("bench")][:1]
        ['torch_mt.assignment.bench']
    """
    import importlib

    return [importlib.import_module(f"{family.__name__}.{kind}") for family in FAMILIES]


FAMILIES = _family_packages()
for _family in FAMILIES:
    globals().update({name: getattr(_family, name) for name in _family.__all__})

__all__ = sorted(
    [
        "built_with_torch",
        "cmake_prefix_path",
        "family_modules",
        "get_num_threads",
        "library_path",
        "num_threads",
        "reset_num_threads",
        "set_num_threads",
        "simd_isa",
        *(name for family in FAMILIES for name in family.__all__),
    ]
)
__version__ = "0.1.0"
