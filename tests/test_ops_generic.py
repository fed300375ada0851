"""Properties every registered operator must have (torch_mt/_registry/).

Each test is parametrised over the registry, so a new OpSpec is covered by
all of them without writing a test.
"""

from __future__ import annotations

import importlib.util
import inspect
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


WRAPPED = pytest.mark.parametrize(
    "spec", [spec for spec in REGISTRY if not spec.derivative_of], ids=lambda spec: spec.name
)


@WRAPPED
def test_wrapper_matches_operator(spec: OpSpec):
    # By name: the wrapper's parameters must carry the schema's names.
    @given(args=spec.sample_args())
    def check(args):
        assert_identical(spec.wrapper(**spec.by_name(args)), spec.op(*args))

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


def compiled(spec: OpSpec, backend: str, dynamic: bool = True, wrapper: bool = True):
    """One compiled function per (op, backend, dynamic, wrapper), shared by
    every example: the wrapper (the operator itself for a derivative op, or
    when ``wrapper`` is False), called positionally.

    Examples differ in dtype, layout and empty dimensions, each a legitimate
    recompile; with fullgraph=True the default limit of 8 would be an error.
    """
    key = (spec.name, backend, dynamic, wrapper)
    if key not in _compiled:
        if spec.wrapper is None or not wrapper:

            def call(*args):
                return spec.op(*args)
        else:
            wrapper, names = spec.wrapper, spec.argument_names  # schema lookups stay outside

            def call(*args):
                return wrapper(**dict(zip(names, args)))

        _compiled[key] = torch.compile(call, backend=backend, fullgraph=True, dynamic=dynamic)
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


@SPECS
def test_bad_inputs_raise_the_eager_message_when_compiled(spec: OpSpec):
    # Shape checks run in the Meta kernel or the Python fake at trace time,
    # data checks in the CPU kernel at run time: both must say what eager says.
    # Static shapes, so that a message quotes sizes, not symbols.
    @settings(max_examples=2)
    @given(args=spec.sample_args())
    def check(args):
        for bad in spec.bad_inputs(args):
            if any(isinstance(arg, torch.Tensor) and arg.is_meta for arg in bad.args):
                # Tensors on two devices: PyTorch's fake-tensor propagation
                # refuses them ("Tensor device mismatch") before any op's
                # shape function runs, so no op can word that error.
                continue
            with pytest.raises(RuntimeError, match=bad.match):
                compiled(spec, "aot_eager", dynamic=False, wrapper=False)(*bad.args)

    check()


def test_every_operator_is_declared_once_everywhere():
    """Each torch.ops.mt operator has a spec, a wrapper (or is a derivative),
    an entry in docs/ops.md and a benchmark workload; nothing else lists it."""
    import pathlib

    from torch_mt.bench.workload import all_workloads

    runtime_ops = {"get_num_threads", "set_num_threads"}  # tested in test_runtime.py
    registered = {
        schema.name.split("::", 1)[1]
        for schema in torch._C._jit_get_all_schemas()
        if schema.name.startswith("mt::")
    } - runtime_ops
    specs = {spec.name: spec for spec in REGISTRY}
    assert registered == set(specs), "an operator without a spec, or a spec without an operator"
    docs = (pathlib.Path(__file__).parent.parent / "docs" / "ops.md").read_text()
    benchmarked = {op for workload in all_workloads(quick=True) for op in workload.ops}
    for name, spec in specs.items():
        assert spec.derivative_of or callable(getattr(torch_mt, name, None)), f"no wrapper: {name}"
        assert name in torch_mt.__all__ or spec.derivative_of, f"not exported: {name}"
        assert f"`{name}`" in docs or f"mt::{name}" in docs, f"not in docs/ops.md: {name}"
        assert name in benchmarked, f"no benchmark workload: {name}"
    assert torch_mt.__all__ == sorted(torch_mt.__all__)


@WRAPPED
def test_wrapper_takes_the_schema_arguments_in_order_options_keyword_only(spec: OpSpec):
    schema = spec.op.default._schema
    parameters = list(inspect.signature(spec.wrapper).parameters.values())
    assert [p.name for p in parameters] == [arg.name for arg in schema.arguments]
    for parameter, arg in zip(parameters, schema.arguments):
        optional = arg.has_default_value()
        expected = (
            inspect.Parameter.KEYWORD_ONLY
            if optional
            else (inspect.Parameter.POSITIONAL_OR_KEYWORD)
        )
        assert parameter.kind == expected, f"{spec.name}: {arg.name}"
        if optional and arg.default_value is None:
            assert parameter.default is None, f"{spec.name}: {arg.name} defaults to None"


@pytest.mark.parametrize("name", [n for n in torch_mt.__all__ if callable(getattr(torch_mt, n))])
def test_every_public_function_documents_args_returns_raises_and_an_example(name):
    doc = inspect.getdoc(getattr(torch_mt, name)) or ""
    for section in ("Returns:", "Raises:", "Example"):
        assert section in doc, f"torch_mt.{name}: no {section}"
    if inspect.signature(getattr(torch_mt, name)).parameters:
        assert "Args:" in doc, f"torch_mt.{name}: no Args:"
