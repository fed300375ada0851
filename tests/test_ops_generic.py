"""Properties every registered operator must have (torch_mt/_registry/).

The property tests come from the public harness (``torch_mt.testing.operator_tests``),
parametrised over the registry, so a new OpSpec is covered by all of them
without writing a test; the tests below are torch_mt's own rules.
"""

from __future__ import annotations

import inspect

import pytest
import torch

import torch_mt
from torch_mt._registry import REGISTRY
from torch_mt.testing import OpSpec, operator_tests

# The harness users get (torch_mt.testing), over every built-in operator.
globals().update(operator_tests(REGISTRY))

WRAPPED = pytest.mark.parametrize(
    "spec", [spec for spec in REGISTRY if not spec.derivative_of], ids=lambda spec: spec.name
)


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
    parameters = list(inspect.signature(spec.call_wrapper).parameters.values())
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
