"""Properties every registered operator must have (each family's torch_mt/<family>/spec.py).

The property tests come from the public harness (``torch_mt.testing.operator_tests``),
parametrised over the registry, so a new OpSpec is covered by all of them
without writing a test; the tests below are torch_mt's own rules.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pathlib
import re

import pytest
import torch

import torch_mt
from torch_mt.testing import OpSpec, operator_tests, registered_specs

REGISTRY = registered_specs()
ROOT = pathlib.Path(__file__).parent.parent
DOCS = ROOT / "docs"

# The harness users get (torch_mt.testing), over every built-in operator.
globals().update(operator_tests(REGISTRY))

WRAPPED = pytest.mark.parametrize(
    "spec", [spec for spec in REGISTRY if not spec.derivative_of], ids=lambda spec: spec.name
)


def _documented(name: str, text: str) -> bool:
    """``mt::name`` as a whole word (so ``mt::nms_padded`` does not document ``mt::nms``)."""
    return re.search(rf"mt::{name}(?![A-Za-z0-9_])", text) is not None


def test_every_operator_is_declared_once_everywhere():
    """Each torch.ops.mt operator has a spec in its family's package, a wrapper
    (or is a derivative), an entry on its family's docs page and in the
    reference's family table, and a benchmark workload; nothing else lists it."""
    from torch_mt.bench.workload import all_workloads

    runtime_ops = {
        "get_num_threads",
        "set_num_threads",
        "chosen_num_threads",
        "reset_num_threads",
        "simd_isa",
    }
    # A leading underscore marks an internal op: an operator's argument checks
    # alone, which its Python fake calls (mt::_nms_checks for mt::nms), or one
    # step of a kernel that tests hold against its reference (mt::_porter_stem).
    registered = {
        schema.name.split("::", 1)[1]
        for schema in torch._C._jit_get_all_schemas()
        if schema.name.startswith("mt::") and not schema.name.startswith("mt::_")
    } - runtime_ops
    specs = {spec.name: spec for spec in REGISTRY}
    assert registered == set(specs), "an operator without a spec, or a spec without an operator"
    benchmarked = {op for workload in all_workloads(quick=True) for op in workload.ops}
    reference = (DOCS / "ops.md").read_text()
    table = {
        row.split("|")[1].strip(" `"): set(re.findall(r"mt::(\w+)", row.split("|")[2]))
        for row in reference.splitlines()
        if row.startswith("| `")
    }
    families = {family.__name__.split(".")[-1]: family for family in torch_mt.FAMILIES}
    assert set(table) == set(families), "the reference's family table lists other families"
    for family_name, family in families.items():
        page = (DOCS / "ops" / f"{family_name}.md").read_text()
        family_specs = importlib.import_module(f"{family.__name__}.spec").SPECS
        assert table[family_name] == {spec.name for spec in family_specs}, family_name
        for spec in family_specs:
            name = spec.name
            assert spec.derivative_of or callable(getattr(torch_mt, name, None)), name
            assert name in torch_mt.__all__ or spec.derivative_of, f"not exported: {name}"
            assert _documented(name, page), f"not in docs/ops/{family_name}.md: {name}"
            assert name in benchmarked, f"no benchmark workload: {name}"
    assert torch_mt.__all__ == sorted(torch_mt.__all__)


def test_the_docs_list_every_family_and_every_python_fake():
    """The hand-written tables that name families or fakes agree with the code."""
    from torch._library.simple_registry import singleton

    index = (DOCS / "index.md").read_text()
    design = (DOCS / "design.md").read_text()
    for family in torch_mt.FAMILIES:
        name = family.__name__.split(".")[-1]
        assert f"(ops/{name}.md)" in index, f"docs/index.md does not link docs/ops/{name}.md"
        assert f"| `{name}` |" in design, f"docs/design.md's layout table lacks {name}"
        assert (ROOT / "ops" / name).is_dir(), f"no ops/{name}/"
    deploy = (DOCS / "deploy.md").read_text()
    fakes_row = next(line for line in deploy.splitlines() if line.startswith("| Python fakes"))
    schemas = [s.name for s in torch._C._jit_get_all_schemas() if s.name.startswith("mt::")]
    fakes = {name for name in schemas if singleton.find(name).fake_impl.kernel is not None}
    assert (
        fakes
        and set(re.findall(r"`(mt::\w+)`", fakes_row))
        - {name for name in re.findall(r"`(mt::_\w+)`", fakes_row)}
        == fakes
    ), "docs/deploy.md lists other Python fakes than torch_mt registers"


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


def test_a_setup_of_several_lines_runs_in_the_fresh_process():
    # A user's op needs two lines (import torch_mt, then load_library); the
    # harness used to paste them into an indented template (IndentationError).
    from torch_mt.testing import check_torchscript_save_then_load_in_fresh_process

    dtw = next(spec for spec in REGISTRY if spec.name == "dtw")
    setup = "import os\nimport torch_mt\nassert os.environ is not None"
    check_torchscript_save_then_load_in_fresh_process(dataclasses.replace(dtw, setup_code=setup))
