"""examples/cpp: a C++ program runs a TorchScript model of mt operators with
libtorch and libtorch_mt.so alone, and agrees with Python.

The build is cached in build/examples/cpp (CMake rebuilds only what changed):
the first run of the suite pays ~25 s, later runs about a second.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import subprocess

import pytest
import torch

import torch_mt

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "cpp"
BUILD = ROOT / "build" / "examples" / "cpp"


def _make_model_module():
    spec = importlib.util.spec_from_file_location("make_model", EXAMPLE / "make_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cpp_run(tmp_path_factory):
    prefix = f"{torch.utils.cmake_prefix_path};{torch_mt.cmake_prefix_path}"
    subprocess.run(
        [
            "cmake",
            "-S",
            str(EXAMPLE),
            "-B",
            str(BUILD),
            f"-DCMAKE_PREFIX_PATH={prefix}",
            "-DCMAKE_BUILD_TYPE=Release",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    subprocess.run(["cmake", "--build", str(BUILD), "-j2"], check=True, capture_output=True)
    directory = tmp_path_factory.mktemp("cpp")
    make_model = _make_model_module()
    make_model.save(directory)
    # No Python anywhere near the program: a clean environment but for the thread count.
    env = {"PATH": os.environ.get("PATH", ""), "TORCH_MT_NUM_THREADS": "3"}
    result = subprocess.run(
        [str(BUILD / "run_model"), str(directory), str(directory / "out.pt")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr  # exits cleanly with the pool alive
    facts = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    outputs = torch.load(directory / "out.pt", weights_only=False)
    return make_model, facts, outputs


def test_outputs_and_the_soft_dtw_gradient_equal_the_python_run(cpp_run):
    make_model, _, outputs = cpp_run
    inputs = make_model.example_inputs()
    cost = inputs["alignment_cost"].clone().requires_grad_()
    expected = make_model.Pipeline()(**{**inputs, "alignment_cost": cost})
    expected[3].sum().backward()
    for actual, wanted in zip(outputs, [*(t.detach() for t in expected), cost.grad]):
        assert torch.equal(actual, wanted)


def test_threads_come_from_the_environment_then_the_cpp_api(cpp_run):
    _, facts, _ = cpp_run
    assert facts["threads at start"] == "3" and facts["threads now"] == "2"


def test_a_worker_error_reaches_cpp_with_the_python_message(cpp_run):
    _, facts, _ = cpp_run
    scores = torch.rand(8, 50)
    scores[5, 3] = float("nan")
    with pytest.raises(RuntimeError) as raised:
        torch.ops.mt.nms_padded(torch.rand(8, 50, 4).cumsum(-1), scores, 0.5, None)
    assert facts["error"] == str(raised.value).splitlines()[0]


def test_fork_and_no_libpython_in_the_cpp_process(cpp_run):
    _, facts, _ = cpp_run
    assert facts["forked child exit"] == "0"
    assert facts["libpython mapped"] == "no"
