"""examples/user_op: an operator written outside torch_mt (one C++ file, one
spec file), built with torch_mt.cpp_extension, passes the harness the
built-in operators pass — built with load() here, and with CppExtension in
the example's setup.py, as a user ships it."""

from __future__ import annotations

import pathlib
import subprocess
import sys

from scripts import run_script

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "user_op"
sys.path.insert(0, str(EXAMPLE))

import spec as user_op_spec  # noqa: E402

from torch_mt.testing import operator_tests  # noqa: E402

user_op_spec.build()
globals().update(operator_tests([user_op_spec.SPEC]))


def test_the_setup_py_built_with_cpp_extension_ships_an_operator_that_passes_the_harness(
    tmp_path,
):
    # Object files cached under build/ (ninja rebuilds only what changed); the
    # package itself goes to a fresh folder, so the test sees this build's output.
    build = subprocess.run(
        [
            sys.executable,
            "setup.py",
            "build",
            f"--build-base={EXAMPLE.parent.parent / 'build' / 'user_op_setup'}",
            f"--build-lib={tmp_path}",
        ],
        cwd=EXAMPLE,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    assert (tmp_path / "user_op_lcs" / "_ops.so").exists()
    # A fresh process that never calls torch_mt.cpp_extension: the installed
    # package alone provides the operator, on the torch_mt pool.
    result = run_script(
        f"""
        import dataclasses, sys
        sys.path[:0] = [{str(tmp_path)!r}, {str(EXAMPLE)!r}]
        import user_op_lcs, spec, torch_mt.testing
        torch_mt.testing.check_operator(dataclasses.replace(spec.SPEC, setup_code=(
            "import sys; sys.path.insert(0, {str(tmp_path)!r}); import user_op_lcs")))
        print("passed")
        """,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.strip().endswith("passed")
