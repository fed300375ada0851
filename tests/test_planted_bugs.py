"""The harness catches real bugs: planted::normalize_rows (tests/planted/)
passes every check when correct, and each planted bug fails the check meant
to catch it."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from torch_mt.testing import (
    check_bad_inputs,
    check_matches_reference,
    check_opcheck,
    check_operator,
    check_same_result_for_any_thread_count,
)

PLANTED = pathlib.Path(__file__).resolve().parent / "planted"
sys.path.insert(0, str(PLANTED))

from planted_spec import ROOT, TSAN_FLAGS, build, spec_with  # noqa: E402

build()


def test_the_correct_operator_passes_check_operator():
    check_operator(spec_with(0))


def test_a_sum_across_chunks_fails_the_thread_count_check():
    spec = spec_with(1)
    check_matches_reference(spec)  # within tolerance: only bitwise invariance sees it
    with pytest.raises(AssertionError):
        check_same_result_for_any_thread_count(spec)


def test_a_meta_kernel_of_the_wrong_shape_fails_opcheck():
    # Only opcheck sees it: aot_eager runs the real kernel, whose output is right.
    with pytest.raises(Exception, match="(?i)shape|size|mismatch"):
        check_opcheck(spec_with(2))


def test_a_missing_argument_check_fails_the_bad_input_check():
    # Without its check the op fails later, in ATen, with another class and message.
    with pytest.raises(AssertionError, match="float32: raised RuntimeError, expected TypeError"):
        check_bad_inputs(spec_with(3))


@pytest.fixture(scope="module")
def tsan_package(tmp_path_factory) -> pathlib.Path:
    """A copy of the torch_mt package whose libtorch_mt.so is built with
    ThreadSanitizer as `make sanitize` builds it (objects cached in build/tsan):
    TSan sees the runtime's synchronisation only in instrumented code."""
    root = tmp_path_factory.mktemp("tsan")
    shutil.copytree(
        ROOT / "torch_mt", root / "torch_mt", ignore=shutil.ignore_patterns("lib", "__pycache__")
    )
    flags = {
        "TORCH_MT_EXTRA_CFLAGS": " ".join(["-Werror", *TSAN_FLAGS, "-Wno-tsan"]),
        "TORCH_MT_EXTRA_LDFLAGS": "-fsanitize=thread",
    }
    command = [sys.executable, "setup.py", "build_ext", "--build-temp", "build/tsan"]
    result = subprocess.run(
        [*command, "--build-lib", str(root)],
        cwd=ROOT,
        env={**os.environ, **flags},
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root


def run_thread_count_check_under_tsan(package: pathlib.Path, bug: int):
    """check_same_result_for_any_thread_count on normalize_rows(bug), in a
    fresh interpreter running under ThreadSanitizer (exit status 66 on a report)."""
    code = f"""
import sys
sys.path[:0] = [{str(package)!r}, {str(PLANTED)!r}]
import torch_mt, planted_spec
assert torch_mt.__file__.startswith({str(package)!r}), torch_mt.__file__
planted_spec.build(tsan=True)
from torch_mt.testing import check_same_result_for_any_thread_count
check_same_result_for_any_thread_count(planted_spec.spec_with({bug}))
print("passed")
"""
    tsan = subprocess.run(
        ["gcc", "-print-file-name=libtsan.so"], capture_output=True, text=True, check=True
    ).stdout.strip()
    env = {
        **os.environ,
        "LD_PRELOAD": tsan,
        "TSAN_OPTIONS": "halt_on_error=1 exitcode=66 report_signal_unsafe=0 "
        f"suppressions={ROOT / 'tests' / 'tsan.supp'}",
        "TORCH_MT_NUM_THREADS": "2",
    }
    # sys.executable is the real interpreter, as the preload needs.
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=900
    )


def test_a_data_race_is_reported_when_the_harness_runs_under_tsan(tsan_package):
    racy = run_thread_count_check_under_tsan(tsan_package, bug=4)
    assert racy.returncode == 66, racy.stdout[-2000:] + racy.stderr[-4000:]
    assert "WARNING: ThreadSanitizer: data race" in racy.stderr
    assert "normalize_rows_cpu" in racy.stderr  # in the planted kernel, not elsewhere
    # The correct operator, checked the same way, draws no report: the
    # report above is the bug, not noise from the runtime or torch.
    correct = run_thread_count_check_under_tsan(tsan_package, bug=0)
    assert correct.returncode == 0, correct.stdout[-2000:] + correct.stderr[-4000:]
    assert correct.stdout.strip().endswith("passed")
