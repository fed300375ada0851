"""libtorch_mt.so: the runtime and every operator, with no Python in it."""

from __future__ import annotations

import re
import subprocess

import torch
from scripts import run_script

import torch_mt


def test_library_has_no_python_symbol_and_no_python_dependency():
    undefined = subprocess.run(
        ["nm", "-D", "--undefined-only", torch_mt.library_path()],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert not re.search(r"\bPy\w+|\b_Py\w+", undefined), "a Python symbol is needed"
    dynamic = subprocess.run(
        ["readelf", "-d", torch_mt.library_path()], capture_output=True, text=True, check=True
    ).stdout
    needed = [line for line in dynamic.splitlines() if "(NEEDED)" in line]
    assert any("libtorch_cpu" in line for line in needed)
    assert not any("python" in line.lower() for line in needed), needed


def test_a_program_without_python_loads_it_with_immediate_binding(tmp_path):
    # RTLD_NOW resolves every symbol at load: a Python dependency would fail here.
    source = tmp_path / "load.c"
    source.write_text(
        "#include <dlfcn.h>\n#include <stdio.h>\n"
        "int main(int argc, char** argv) {\n"
        "  void* handle = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);\n"
        '  if (!handle) { fprintf(stderr, "%s\\n", dlerror()); return 1; }\n'
        "  return 0;\n}\n"
    )
    program = tmp_path / "load"
    subprocess.run(["cc", str(source), "-o", str(program), "-ldl"], check=True)
    result = subprocess.run(
        [str(program), torch_mt.library_path()], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_loading_the_library_again_is_harmless():
    result = run_script("""
        import torch, torch_mt
        torch.ops.load_library(torch_mt.library_path())
        torch.ops.load_library(torch_mt.library_path())
        print(torch_mt.edit_distance(["kitten"], ["sitting"]).tolist())
        """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[3]"]


def test_the_library_alone_runs_scripted_models_with_gradients():
    # What a deployment without the torch_mt package does: load the library,
    # run a TorchScript model, differentiate through mt::soft_dtw. The
    # autograd formulas are C++ (Autograd key), not Python registrations.
    result = run_script(
        """
        import torch
        torch.ops.load_library(LIBRARY)
        cost = torch.rand(3, 5, 4, dtype=torch.float64, requires_grad=True)

        @torch.jit.script
        def loss(c: torch.Tensor) -> torch.Tensor:
            return torch.ops.mt.soft_dtw(c, 0.5, None, None).sum()

        (grad,) = torch.autograd.grad(loss(cost), cost)
        (again,) = torch.autograd.grad(torch.ops.mt.soft_dtw(cost, 0.5, None, None).sum(), cost)
        assert torch.equal(grad, again) and grad.abs().sum() > 0
        print("ok")
        """.replace("LIBRARY", repr(torch_mt.library_path()))
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ok"]
    for op in ("soft_dtw", "soft_dtw_backward", "soft_dtw_backward_backward"):
        assert torch._C._dispatch_has_kernel_for_dispatch_key(f"mt::{op}", "Autograd")
