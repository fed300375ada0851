"""Build your own parallel operators on torch_mt's runtime.

Your C++ file includes ``<torch_mt/parallel.h>`` (the whole runtime API, the
one the built-in operators use: ``parallel_for``, ``grain_for``,
``ItemErrors``, ``ItemLengths``, ``contiguous_on_pool``, the checks),
registers its operators with ``TORCH_LIBRARY(your_namespace, m)``, and
links ``libtorch_mt.so``: its fan-outs then run on the one torch_mt pool of the
process, follow ``torch_mt.set_num_threads`` and share its fork and exit
handling. Two ways to build it, mirroring ``torch.utils.cpp_extension``:

- :func:`load` compiles at run time (ninja, cached: a second load in a new
  process only checks the cache) and loads the library;
- :func:`CppExtension` describes it for your own ``setup.py``.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any, Optional

import torch.utils.cpp_extension as torch_cpp_extension

from . import library_path

__all__ = ["CppExtension", "include_paths", "library_paths", "load"]

#: Flags torch_mt's own library is built with (setup.py), the ones that matter
#: to a kernel: C++20 (the headers use it), optimisation, and no FMA
#: contraction (a kernel's AVX-512 entry would otherwise round differently
#: from its AVX2 and portable ones: <torch_mt/simd.h>).
CXX_FLAGS = ["-O3", "-std=c++20", "-ffp-contract=off"]


def include_paths() -> list[str]:
    """The directory that holds ``torch_mt/*.h`` (add torch's too)."""
    return [os.path.join(os.path.dirname(os.path.abspath(__file__)), "include")]


def library_paths() -> list[str]:
    """The directory that holds ``libtorch_mt.so``."""
    return [os.path.dirname(library_path())]


def _link_flags() -> list[str]:
    # By path, with an rpath, so the user's library finds this very file.
    return [library_path(), *(f"-Wl,-rpath,{path}" for path in library_paths())]


def load(
    name: str,
    sources: list[str],
    *,
    extra_cflags: Optional[list[str]] = None,
    extra_ldflags: Optional[list[str]] = None,
    extra_include_paths: Optional[list[str]] = None,
    build_directory: Optional[str] = None,
    verbose: bool = False,
    is_python_module: bool = False,
    **kwargs: Any,
) -> Any:
    """Compile ``sources`` into a library linked to torch_mt's runtime, and load it.

    Takes ``torch.utils.cpp_extension.load``'s arguments; torch_mt's include
    path, library and flags come first. By default the result is a plain
    operator library (``is_python_module=False``): loading it runs its
    ``TORCH_LIBRARY`` blocks, and ``torch.ops.<namespace>.<op>`` works.

    Args:
        name: the library's name (and its cache key).
        sources: C++ files.
        extra_cflags: more compiler flags.
        extra_ldflags: more linker flags.
        extra_include_paths: more include directories.
        build_directory: where to build and cache (default: torch's cache).
        verbose: print the build.
        is_python_module: load the result as a Python module instead.
        **kwargs: passed to ``torch.utils.cpp_extension.load``.

    Returns:
        What ``torch.utils.cpp_extension.load`` returns: None for an operator
        library, the module when ``is_python_module=True``.

    Raises:
        RuntimeError: the build failed (torch's message, with the compiler's).

    Example:
        >>> import torch_mt.cpp_extension  # doctest: +SKIP
        >>> torch_mt.cpp_extension.load("my_ops", ["my_ops.cpp"])  # doctest: +SKIP
        >>> torch.ops.my_ops.my_op(x)  # doctest: +SKIP
    """
    if build_directory is not None:
        os.makedirs(build_directory, exist_ok=True)
        # torch's builder waits forever on a lock file that a killed build
        # left behind; a build takes seconds, so an old lock is such a leftover.
        lock = os.path.join(build_directory, "lock")
        if os.path.exists(lock) and time.time() - os.path.getmtime(lock) > 300:
            os.remove(lock)
    with _build_tools_without_preload():
        return torch_cpp_extension.load(
            name,
            sources,
            extra_cflags=[*CXX_FLAGS, *(extra_cflags or [])],
            extra_ldflags=[*_link_flags(), *(extra_ldflags or [])],
            extra_include_paths=[*include_paths(), *(extra_include_paths or [])],
            build_directory=build_directory,
            verbose=verbose,
            is_python_module=is_python_module,
            **kwargs,
        )


@contextlib.contextmanager
def _build_tools_without_preload():
    """ninja and the compiler run without this process's LD_PRELOAD: under a
    sanitizer (`make sanitize` preloads ASan or TSan into the interpreter)
    they would start with its runtime too, and some crash (a shell shim under
    TSan does). The loaded library still runs under it, in this process."""
    preload = os.environ.pop("LD_PRELOAD", None)
    try:
        yield
    finally:
        if preload is not None:
            os.environ["LD_PRELOAD"] = preload


def CppExtension(name: str, sources: list[str], *args: Any, **kwargs: Any):  # noqa: N802
    """``torch.utils.cpp_extension.CppExtension`` linked to torch_mt's runtime.

    For a ``setup.py`` (build with ``BuildExtension`` and
    ``--no-build-isolation``, against the installed torch and torch_mt).

    Args:
        name: the extension's dotted name.
        sources: C++ files.
        *args: passed to torch's ``CppExtension``.
        **kwargs: likewise; torch_mt's include path, flags and library are added.

    Returns:
        A ``setuptools.Extension``.

    Raises:
        Nothing here; the build reports compiler errors.

    Example:
        >>> from torch_mt.cpp_extension import CppExtension  # doctest: +SKIP
        >>> setup(ext_modules=[CppExtension("mine._ops", ["ops.cpp"])],  # doctest: +SKIP
        ...       cmdclass={"build_ext": torch.utils.cpp_extension.BuildExtension})
    """
    kwargs["include_dirs"] = [*include_paths(), *kwargs.get("include_dirs", [])]
    compile_args = kwargs.get("extra_compile_args", {})
    if isinstance(compile_args, list):
        compile_args = {"cxx": compile_args}
    compile_args["cxx"] = [*CXX_FLAGS, *compile_args.get("cxx", [])]
    kwargs["extra_compile_args"] = compile_args
    kwargs["extra_link_args"] = [*_link_flags(), *kwargs.get("extra_link_args", [])]
    return torch_cpp_extension.CppExtension(name, sources, *args, **kwargs)
