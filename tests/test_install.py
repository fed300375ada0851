"""The release as users install it, not the editable in-tree build.

The sdist is built, the wheel is built from it (so the sdist is proven to
build), and the wheel is installed with ``--no-deps`` into a fresh venv that
sees this environment's torch, numpy and hypothesis through a ``.pth`` file
(no second torch download, and not this checkout's editable install). Then,
from a folder outside the source tree, that venv's Python runs every
operator of every family, builds and checks the example user op against the
installed headers, and builds the C++ example with ``find_package(TorchMT)``
from the installed package. About four minutes here (two full compiles).
"""

from __future__ import annotations

import pathlib
import site
import subprocess
import sys
import tarfile
import textwrap
import venv
import zipfile

import pytest
import torch
from scripts import run_script

import torch_mt

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _run(command: list, cwd: pathlib.Path, timeout: int = 900) -> str:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[pathlib.Path, pathlib.Path]:
    """(the venv's python, a folder outside the source tree) with the wheel installed."""
    root = tmp_path_factory.mktemp("release")
    dist = root / "dist"
    _run([sys.executable, "-m", "build", "--no-isolation", "--sdist", "--outdir", dist, ROOT], root)
    (sdist,) = dist.glob("torch_mt-*.tar.gz")
    _run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps",
          "--wheel-dir", dist, sdist], root)  # fmt: skip
    (wheel,) = dist.glob("torch_mt-*.whl")
    environment = root / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    # This environment's packages, appended after the venv's own: a .pth
    # line adds a folder but runs none of its .pth files (so not the
    # editable install's finder).
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], root)
    (pathlib.Path(purelib.strip()) / "outer.pth").write_text("\n".join(site.getsitepackages()))
    _run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
          "--ignore-installed", wheel], root)  # fmt: skip
    outside = root / "elsewhere"
    outside.mkdir()
    return python, outside


def _script(installed, source: str, timeout: int = 900) -> str:
    python, outside = installed
    script = outside / "check.py"
    script.write_text(textwrap.dedent(source))
    return _run([python, script], outside, timeout)


@pytest.mark.install
def test_the_wheel_runs_every_operator_of_every_family(installed):
    python, _ = installed
    out = _script(
        installed,
        f"""
        import pathlib, sys, torch, torch_mt, torch_mt.cpp_extension
        from torch_mt.bench.workload import all_workloads
        venv = pathlib.Path({str(python.parent.parent)!r})
        assert pathlib.Path(torch_mt.__file__).is_relative_to(venv), torch_mt.__file__
        assert torch_mt.built_with_torch == torch.__version__
        assert "hypothesis" not in sys.modules  # the package and its bench need no test code
        ops = set()
        for workload in all_workloads(quick=True):
            if workload.kind == "small":  # one tiny call of every operator
                workload.torch_mt()
                ops.update(workload.ops)
        include = pathlib.Path(torch_mt.cpp_extension.include_paths()[0]) / "torch_mt"
        assert (include / "ops.h").is_file() and (include / "parallel.h").is_file()
        print(torch_mt.__version__, len(ops), sorted(f.__name__ for f in torch_mt.FAMILIES))
        """,
    )
    from torch_mt.bench.workload import all_workloads

    expected = {op for w in all_workloads(quick=True) if w.kind == "small" for op in w.ops}
    version, count, *_ = out.split()
    assert version == torch_mt.__version__ and int(count) == len(expected)
    for family in torch_mt.FAMILIES:
        assert family.__name__ in out


@pytest.mark.install
def test_a_user_op_built_against_the_installed_headers_passes_the_harness(installed):
    _, outside = installed
    example = ROOT / "examples" / "user_op"
    build = outside / "user_op_build"
    load = (
        "import torch_mt.cpp_extension; torch_mt.cpp_extension.load("
        f"'user_op_lcs', [{str(example / 'lcs.cpp')!r}], build_directory={str(build)!r})"
    )
    out = _script(
        installed,
        f"""
        import dataclasses, os, pathlib, sys
        os.makedirs({str(build)!r}, exist_ok=True)
        {load}
        sys.path.insert(0, {str(example)!r})
        import spec, torch_mt.testing
        torch_mt.testing.check_operator(dataclasses.replace(spec.SPEC, setup_code={load!r}))
        print("passed")
        """,
    )
    assert out.strip().endswith("passed")


@pytest.mark.install
def test_the_cpp_example_builds_with_find_package_from_the_installed_package(installed):
    python, outside = installed
    prefix = _run(
        [python, "-c", "import torch, torch_mt; "
         "print(torch.utils.cmake_prefix_path + ';' + torch_mt.cmake_prefix_path)"],
        outside,
    ).strip()  # fmt: skip
    assert str(python.parent.parent) in prefix
    build = outside / "cpp_build"
    _run(["cmake", "-S", ROOT / "examples" / "cpp", "-B", build,
          f"-DCMAKE_PREFIX_PATH={prefix}", "-DCMAKE_BUILD_TYPE=Release"], outside)  # fmt: skip
    _run(["cmake", "--build", build, "-j2", "--target", "call_overhead"], outside)
    # No Python in the program: libtorch and the installed libtorch_mt.so.
    nanoseconds = _run([build / "call_overhead", "100", "3"], outside).strip()
    assert float(nanoseconds) > 0
    linked = _run(["ldd", build / "call_overhead"], outside)
    assert str(python.parent.parent) in linked and "libpython" not in linked


@pytest.mark.install
def test_an_unpacked_built_sdist_without_git_passes_the_projects_lint(installed, tmp_path):
    # The sdist unpacked where no .git (and so no .gitignore) hides what a
    # build writes, with the files the build wrote (as the wheel built from
    # that sdist holds them: _build_info.py, lib/, include/) put back in place.
    _, outside = installed
    dist = outside.parent / "dist"
    (sdist,) = dist.glob("torch_mt-*.tar.gz")
    (wheel,) = dist.glob("torch_mt-*.whl")
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    (tree,) = tmp_path.glob("torch_mt-*")
    with zipfile.ZipFile(wheel) as archive:
        written = [
            name
            for name in archive.namelist()
            if name == "torch_mt/_build_info.py" or name.startswith("torch_mt/include/")
        ]
        archive.extractall(tree, members=written)
    assert (tree / "torch_mt" / "_build_info.py").is_file() and not (tree / ".git").exists()
    for shipped in ("Makefile", "constraints.txt", ".clang-format", "tests", "examples"):
        assert (tree / shipped).exists(), shipped
    _run(["make", "lint", f"PYTHON={sys.executable}"], tree)


def test_a_torch_of_another_release_is_refused_at_import_naming_both():
    result = run_script(
        """
        import torch
        torch.__version__ = "2.99.0+cpu"  # as if another torch were installed
        try:
            import torch_mt
        except ImportError as error:
            print(error)
        """
    )
    assert result.returncode == 0, result.stderr
    assert f"compiled against torch {torch_mt.built_with_torch}" in result.stdout
    assert "the running torch is 2.99.0+cpu" in result.stdout
    assert "docs/install.md" in result.stdout
    assert torch.__version__ == torch_mt.built_with_torch  # this process: the same torch
