"""Properties every registered operator must have (torch_mt/_registry/).

Each test is parametrised over the registry, so a new OpSpec is covered by
all of them without writing a test.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import torch_mt
from torch_mt._registry import REGISTRY, OpSpec
from torch_mt.testing import THREAD_COUNTS, assert_identical, results_for_thread_counts

SPECS = pytest.mark.parametrize("spec", REGISTRY, ids=lambda spec: spec.name)


def assert_matches(spec: OpSpec, actual, expected, args: tuple) -> None:
    if spec.compare is not None:
        spec.compare(actual, expected, args)
    elif spec.exact:
        assert_identical(actual, expected)
    else:
        torch.testing.assert_close(actual, expected, rtol=spec.rtol, atol=spec.atol)


@SPECS
def test_matches_reference(spec: OpSpec):
    @given(args=spec.sample_args(), threads=st.sampled_from(THREAD_COUNTS))
    def check(args, threads):
        with torch_mt.num_threads(threads):
            actual = spec.op(*args)
        assert_matches(spec, actual, spec.reference(*args), args)

    check()


@SPECS
def test_wrapper_matches_operator(spec: OpSpec):
    @given(args=spec.sample_args())
    def check(args):
        assert_identical(spec.call_wrapper(*args), spec.op(*args))

    check()


@SPECS
def test_same_result_for_any_thread_count(spec: OpSpec):
    @settings(max_examples=10)
    @given(args=spec.sample_args(large=True))
    def check(args):
        first, *others = results_for_thread_counts(spec.op, args)
        for other in others:
            assert_identical(other, first)
        assert_matches(spec, first, spec.reference(*args), args)

    check()


@SPECS
def test_opcheck(spec: OpSpec):
    @settings(max_examples=8)
    @given(args=spec.sample_args())
    def check(args):
        torch.library.opcheck(spec.op.default, args)

    check()


_compiled: dict[tuple[str, str], object] = {}


def compiled(spec: OpSpec, backend: str):
    """One compiled function per (op, backend), shared by every example.

    Examples differ in dtype, layout and empty dimensions, each a legitimate
    recompile; with fullgraph=True the default limit of 8 would be an error.
    """
    key = (spec.name, backend)
    if key not in _compiled:
        _compiled[key] = torch.compile(
            spec.call_wrapper, backend=backend, fullgraph=True, dynamic=True
        )
    return _compiled[key]


@pytest.fixture(autouse=True)
def _room_for_recompiles():
    with torch._dynamo.config.patch(recompile_limit=512, accumulated_recompile_limit=4096):
        yield


@SPECS
def test_compiles_without_graph_breaks(spec: OpSpec):
    @settings(max_examples=10)
    @given(args=spec.sample_args())
    def check(args):
        assert_matches(spec, compiled(spec, "aot_eager")(*args), spec.reference(*args), args)

    check()


@pytest.mark.inductor
@SPECS
def test_compiles_with_inductor(spec: OpSpec):
    @settings(max_examples=3)
    @given(args=spec.sample_args())
    def check(args):
        assert_matches(spec, compiled(spec, "inductor")(*args), spec.reference(*args), args)

    check()


def _scripted_module_source(spec: OpSpec) -> str:
    """A TorchScript-able nn.Module whose forward calls the operator, from its schema."""
    schema = spec.op.default._schema
    params = ", ".join(f"{arg.name}: {arg.type.annotation_str}" for arg in schema.arguments)
    names = ", ".join(arg.name for arg in schema.arguments)
    returns = [ret.type.annotation_str for ret in schema.returns]
    result = returns[0] if len(returns) == 1 else f"Tuple[{', '.join(returns)}]"
    return textwrap.dedent(f"""\
        from typing import List, Optional, Tuple
        import torch
        from torch import Tensor

        class CallsOp(torch.nn.Module):
            def forward(self, {params}) -> {result}:
                return torch.ops.mt.{spec.name}({names})
        """)


@SPECS
def test_torchscript_save_then_load_in_fresh_process(spec: OpSpec, tmp_path):
    source = tmp_path / f"scripted_{spec.name}.py"
    source.write_text(_scripted_module_source(spec))
    module_spec = importlib.util.spec_from_file_location(source.stem, source)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    scripted = torch.jit.script(module.CallsOp())
    torch.jit.save(scripted, tmp_path / "model.pt")

    @settings(max_examples=2)
    @given(args=spec.sample_args(large=True))
    def check(args):
        expected = spec.op(*args)
        assert_identical(scripted(*args), expected)
        torch.save(args, tmp_path / "args.pt")
        loader = textwrap.dedent(f"""\
            import torch, torch_mt
            model = torch.jit.load({str(tmp_path / "model.pt")!r})
            args = torch.load({str(tmp_path / "args.pt")!r})
            torch.save(model(*args), {str(tmp_path / "out.pt")!r})
            """)
        subprocess.run([sys.executable, "-c", loader], check=True, timeout=120)
        assert_identical(torch.load(tmp_path / "out.pt"), expected)

    check()


@SPECS
def test_bad_inputs_raise_clear_errors_and_op_still_works(spec: OpSpec):
    @settings(max_examples=10)
    @given(args=spec.sample_args())
    def check(args):
        for bad in spec.bad_inputs(args):
            with pytest.raises(RuntimeError, match=bad.match):
                spec.op(*bad.args)
        assert_matches(spec, spec.op(*args), spec.reference(*args), args)

    check()
