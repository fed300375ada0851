"""Deployment without the torch_mt package (docs/deploy.md): examples/cpp runs
a TorchScript model and an AOTInductor package of mt operators from C++ with
libtorch and libtorch_mt.so alone; torch.export round-trips; the package runs
in a Python process that loads only the library. All agree with eager mode.

The C++ build is cached in build/examples/cpp (CMake rebuilds only what
changed): the first run of the suite pays ~25 s, later runs about a second.
The package is compiled once per run (inductor, ~15-45 s here).
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import subprocess

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scripts import run_script

import torch_mt
from torch_mt.bench import cpp_calls
from torch_mt.bench.cpp_calls import build_example

EXAMPLE = pathlib.Path(cpp_calls.EXAMPLE)
BUILD = pathlib.Path(cpp_calls.BUILD)


def _make_model_module():
    spec = importlib.util.spec_from_file_location("make_model", EXAMPLE / "make_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_model = _make_model_module()

#: Sizes the exported model keeps dynamic, drawn per example.
sizes = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 2**32 - 1),
        "boxes": st.integers(1, 300),
        "matches": st.integers(1, 5),
        "alignments": st.integers(1, 4),
        "sequences": st.integers(1, 9),
    }
)


def eager(inputs: dict) -> list[torch.Tensor]:
    return list(make_model.Pipeline()(**inputs))


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> pathlib.Path:
    return make_model.save_package(tmp_path_factory.mktemp("aoti"))


SANITIZER_VARIABLES = ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS")


@pytest.fixture(scope="module")
def cpp_run(tmp_path_factory, package):
    build_example()
    directory = tmp_path_factory.mktemp("cpp")
    make_model.save(directory)
    # No Python anywhere near the program: a clean environment but for the
    # thread count (and, under `make sanitize`, the sanitizer runtime that the
    # instrumented library needs loaded first).
    env = {"PATH": os.environ.get("PATH", ""), "TORCH_MT_NUM_THREADS": "3"}
    env.update({k: v for k, v in os.environ.items() if k in SANITIZER_VARIABLES})
    result = subprocess.run(
        [
            str(BUILD / "run_model"),
            str(directory),
            str(directory / "out.pt"),
            str(package),
            str(directory / "package_out.pt"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr  # exits cleanly with the pool alive
    facts = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    outputs = torch.load(directory / "out.pt", weights_only=False)
    package_outputs = torch.load(directory / "package_out.pt", weights_only=False)
    return facts, outputs, package_outputs


def test_outputs_and_the_soft_dtw_gradient_equal_the_python_run(cpp_run):
    _, outputs, _ = cpp_run
    inputs = make_model.example_inputs()
    cost = inputs["alignment_cost"].clone().requires_grad_()
    expected = make_model.Pipeline()(**{**inputs, "alignment_cost": cost})
    expected[3].sum().backward()
    for actual, wanted in zip(outputs, [*(t.detach() for t in expected), cost.grad]):
        assert torch.equal(actual, wanted)


def test_the_aoti_package_run_from_cpp_equals_eager(cpp_run):
    facts, _, package_outputs = cpp_run
    assert facts["package"] == "ran"
    for actual, wanted in zip(package_outputs, eager(make_model.example_inputs()), strict=True):
        assert torch.equal(actual, wanted)


def test_threads_come_from_the_environment_the_cpp_api_and_the_operator(cpp_run):
    facts, _, _ = cpp_run
    assert facts["threads at start"] == "3" and facts["threads now"] == "2"
    assert facts["threads via the operator"] == "3"


def test_a_worker_error_reaches_cpp_with_the_python_message(cpp_run):
    facts, _, _ = cpp_run
    scores = torch.rand(8, 50)
    scores[5, 3] = float("nan")
    with pytest.raises(ValueError) as raised:
        torch.ops.mt.nms_padded(torch.rand(8, 50, 4).cumsum(-1), scores, 0.5, None)
    assert facts["error"] == str(raised.value).splitlines()[0]


def test_fork_and_no_libpython_in_the_cpp_process(cpp_run):
    facts, _, _ = cpp_run
    assert facts["forked child exit"] == "0"
    assert facts["libpython mapped"] == "no"


@settings(max_examples=5)
@given(drawn=sizes)
def test_export_survives_save_and_load_with_dynamic_sizes(tmp_path_factory, drawn):
    path = tmp_path_factory.mktemp("export") / "program.pt2"
    torch.export.save(make_model.exported(make_model.example_inputs()), path)
    inputs = make_model.example_inputs(**drawn)
    loaded = torch.export.load(path).module()(**inputs)
    for actual, wanted in zip(loaded, eager(inputs), strict=True):
        assert torch.equal(actual, wanted)


@settings(max_examples=3)
@given(drawn=sizes)
def test_the_package_runs_in_a_process_that_loads_only_the_library(package, drawn):
    inputs = make_model.example_inputs(**drawn)
    folder = package.parent
    torch.save(inputs, folder / "inputs.pt")
    result = run_script(f"""
        import sys, torch
        torch.ops.load_library({torch_mt.library_path()!r})
        runner = torch._inductor.aoti_load_package({str(package)!r})
        inputs = torch.load({str(folder / "inputs.pt")!r})
        torch.save(list(runner(**inputs)), {str(folder / "outputs.pt")!r})
        assert "torch_mt" not in sys.modules
        """)
    assert result.returncode == 0, result.stderr
    for actual, wanted in zip(torch.load(folder / "outputs.pt"), eager(inputs), strict=True):
        assert torch.equal(actual, wanted)
