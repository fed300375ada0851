"""The operator harness: ``OpSpec``, the properties every operator must have and
the tests that check them (part of :mod:`torch_mt.testing`)."""

from __future__ import annotations

import importlib.util
import pathlib
import re
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .._runtime import num_threads
from .strategies import THREAD_COUNTS


def _harness_settings(**overrides: Any) -> settings:
    """Hypothesis settings of every check, over the caller's profile (its
    example count unless overridden): inputs large enough to fan out are big
    (even the smallest) and slow to draw on purpose, and an example's time varies with the thread
    count, so neither health check nor deadline applies."""
    return settings(
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
        **overrides,
    )


def results_for_thread_counts(
    fn: Callable[..., Any], args: Sequence[Any], counts: Sequence[int] = THREAD_COUNTS
) -> list[Any]:
    """``fn(*args)`` evaluated once at each torch_mt thread count."""
    results = []
    for count in counts:
        with num_threads(count):
            results.append(fn(*args))
    return results


def assert_identical(actual: Any, expected: Any) -> None:
    """Bitwise equality of tensors (or tuples of them): same dtype, shape, values."""
    if isinstance(expected, (tuple, list)):
        assert isinstance(actual, (tuple, list)) and len(actual) == len(expected)
        for actual_item, expected_item in zip(actual, expected):
            assert_identical(actual_item, expected_item)
        return
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert torch.equal(actual, expected), f"values differ:\n{actual}\nvs\n{expected}"


# ---- the operator harness: specs and the properties every operator must have ----------


@dataclass(frozen=True)
class BadInput:
    """Arguments the operator must refuse with an ``error`` matching ``match``.

    ``error`` follows Python's convention, as NumPy and SciPy do: ``TypeError``
    for a wrong type or dtype, ``ValueError`` (the default) for a wrong value,
    shape, length or device. From C++, ``TORCH_CHECK_TYPE`` and
    ``TORCH_CHECK_VALUE`` raise them.
    """

    description: str
    args: tuple[Any, ...]
    match: str
    error: type[Exception] = ValueError


@dataclass(frozen=True)
class OpSpec:
    """Everything :func:`check_operator` needs to check one operator.

    Argument tuples are in schema order; the wrapper (``wrapper``, or for
    torch_mt's own operators ``torch_mt.<name>``) is called with the same
    values by name (its parameters carry the schema's names).
    """

    name: str  # torch.ops.<namespace>.<name>
    #: An independent implementation: same arguments, expected result.
    reference: Callable[..., Any]
    #: Strategy of argument tuples; ``large=True`` gives inputs big enough that
    #: the kernel fans out over several chunks (for the thread-count checks).
    sample_args: Callable[..., st.SearchStrategy[tuple[Any, ...]]]
    #: Refused inputs, derived from one valid argument tuple.
    bad_inputs: Callable[[tuple[Any, ...]], list[BadInput]]
    #: Exact (bitwise) comparison with the reference, else allclose.
    exact: bool = True
    rtol: float = 0.0
    atol: float = 0.0
    #: Replaces that comparison where a tolerance depends on the input
    #: (float32 vs float64): ``compare(actual, expected, args)`` raises
    #: AssertionError unless ``actual`` is close enough to ``expected``.
    compare: Optional[Callable[[Any, Any, tuple[Any, ...]], None]] = None
    #: Set for a derivative operator (``soft_dtw_backward``): it has no
    #: wrapper of its own, autograd calls it for the named operator.
    derivative_of: Optional[str] = None
    #: The operator's namespace (``TORCH_LIBRARY(namespace, m)``).
    namespace: str = "mt"
    #: The Python wrapper; None: ``torch_mt.<name>`` for namespace "mt", else
    #: the operator itself.
    wrapper: Optional[Callable[..., Any]] = None
    #: Python that makes the operator available in a fresh interpreter (the
    #: TorchScript save/load check): an import, or a library load.
    setup_code: str = "import torch_mt"

    @property
    def op(self) -> torch._ops.OpOverloadPacket:
        return getattr(getattr(torch.ops, self.namespace), self.name)

    @property
    def call_wrapper(self) -> Optional[Callable[..., Any]]:
        """The wrapper to check, or None (a derivative op, or none declared)."""
        if self.wrapper is not None or self.derivative_of:
            return self.wrapper
        if self.namespace == "mt":
            import torch_mt

            return getattr(torch_mt, self.name)
        return None

    @property
    def argument_names(self) -> tuple[str, ...]:
        """The schema's argument names, in order."""
        return tuple(arg.name for arg in self.op.default._schema.arguments)

    def by_name(self, args: tuple[Any, ...]) -> dict[str, Any]:
        """``args`` keyed by the schema's argument names, for the wrapper."""
        return dict(zip(self.argument_names, args))


def assert_matches(spec: OpSpec, actual: Any, expected: Any, args: tuple) -> None:
    """The spec's comparison: ``compare``, bitwise, or allclose."""
    if spec.compare is not None:
        spec.compare(actual, expected, args)
    elif spec.exact:
        assert_identical(actual, expected)
    else:
        torch.testing.assert_close(actual, expected, rtol=spec.rtol, atol=spec.atol)


def check_matches_reference(spec: OpSpec) -> None:
    """Random inputs at every thread count of THREAD_COUNTS equal the reference."""

    @_harness_settings()
    @given(args=spec.sample_args(), threads=st.sampled_from(THREAD_COUNTS))
    def check(args, threads):
        with num_threads(threads):
            actual = spec.op(*args)
        assert_matches(spec, actual, spec.reference(*args), args)

    check()


def check_wrapper_matches_operator(spec: OpSpec) -> None:
    """The wrapper, called by the schema's names, returns what the operator returns."""
    wrapper = spec.call_wrapper
    assert wrapper is not None, f"{spec.name}: no wrapper to check"

    @_harness_settings()
    @given(args=spec.sample_args())
    def check(args):
        assert_identical(wrapper(**spec.by_name(args)), spec.op(*args))

    check()


def check_same_result_for_any_thread_count(spec: OpSpec) -> None:
    """Inputs that fan out give bitwise equal results at 1, 2 and 3 threads."""

    @_harness_settings(max_examples=10)
    @given(args=spec.sample_args(large=True))
    def check(args):
        first, *others = results_for_thread_counts(spec.op, args)
        for other in others:
            assert_identical(other, first)
        assert_matches(spec, first, spec.reference(*args), args)

    check()


def check_opcheck(spec: OpSpec) -> None:
    """torch.library.opcheck: schema, fake/Meta kernel, autograd registration, AOT dispatch."""

    @_harness_settings(max_examples=8)
    @given(args=spec.sample_args())
    def check(args):
        torch.library.opcheck(spec.op.default, args)

    check()


_compiled: dict[tuple[str, str, str, bool, bool], Any] = {}


def compiled(spec: OpSpec, backend: str, dynamic: bool = True, wrapper: bool = True) -> Any:
    """One compiled function per (op, backend, dynamic, wrapper), shared by
    every example: the wrapper (the operator itself when there is none, or
    when ``wrapper`` is False), called positionally.

    Examples differ in dtype, layout and empty dimensions, each a legitimate
    recompile; with fullgraph=True the default limit of 8 would be an error,
    so the checks raise it (:func:`_room_for_recompiles`).
    """
    key = (spec.namespace, spec.name, backend, dynamic, wrapper)
    if key not in _compiled:
        call_wrapper = spec.call_wrapper if wrapper else None
        if call_wrapper is None:

            def call(*args):
                return spec.op(*args)
        else:
            names = spec.argument_names  # schema lookups stay outside the graph

            def call(*args):
                return call_wrapper(**dict(zip(names, args)))

        _compiled[key] = torch.compile(call, backend=backend, fullgraph=True, dynamic=dynamic)
    return _compiled[key]


def _room_for_recompiles():
    return torch._dynamo.config.patch(recompile_limit=512, accumulated_recompile_limit=4096)


def check_compiles(spec: OpSpec, backend: str = "aot_eager", max_examples: int = 10) -> None:
    """torch.compile(fullgraph=True, dynamic=True) of the wrapper matches the reference."""

    @_harness_settings(max_examples=max_examples)
    @given(args=spec.sample_args())
    def check(args):
        assert_matches(spec, compiled(spec, backend)(*args), spec.reference(*args), args)

    with _room_for_recompiles():
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
                return torch.ops.{spec.namespace}.{spec.name}({names})
        """)


def check_torchscript_save_then_load_in_fresh_process(spec: OpSpec) -> None:
    """A scripted module calling the operator equals it, here and after
    save/load in a fresh interpreter (which runs ``spec.setup_code``)."""
    with tempfile.TemporaryDirectory() as folder:
        directory = pathlib.Path(folder)
        source = directory / f"scripted_{spec.name}.py"
        source.write_text(_scripted_module_source(spec))
        module_spec = importlib.util.spec_from_file_location(source.stem, source)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        scripted = torch.jit.script(module.CallsOp())
        torch.jit.save(scripted, directory / "model.pt")

        # The examples are checked here first, then all of them in one fresh
        # interpreter: starting one (import torch, then the setup) costs more
        # than the examples themselves.
        examples: list[tuple[Any, Any]] = []

        @_harness_settings(max_examples=2)
        @given(args=spec.sample_args(large=True))
        def check(args):
            expected = spec.op(*args)
            assert_identical(scripted(*args), expected)
            examples.append((args, expected))

        check()
        torch.save([args for args, _ in examples], directory / "args.pt")
        loader = _fresh_process_loader(spec.setup_code, directory)
        subprocess.run([sys.executable, "-c", loader], check=True, timeout=120)
        outputs = torch.load(directory / "out.pt")
        assert len(outputs) == len(examples), f"{spec.name}: {len(outputs)} outputs"
        for output, (_, expected) in zip(outputs, examples):
            assert_identical(output, expected)


def _fresh_process_loader(setup_code: str, directory: pathlib.Path) -> str:
    """The script the fresh interpreter runs: the spec's setup (any number of
    lines, at any indentation), then load, run every example and save. Lines
    are joined, not pasted into an indented template, so a multi-line setup
    stays valid."""
    return "\n".join(
        [
            "import torch",
            textwrap.dedent(setup_code),
            f"model = torch.jit.load({str(directory / 'model.pt')!r})",
            f"examples = torch.load({str(directory / 'args.pt')!r})",
            f"torch.save([model(*args) for args in examples], {str(directory / 'out.pt')!r})",
        ]
    )


def check_bad_inputs(spec: OpSpec) -> None:
    """Every bad input raises its message; the operator still works afterwards."""
    import pytest  # here, not at import: the benchmark imports this module without pytest

    @_harness_settings(max_examples=10)
    @given(args=spec.sample_args())
    def check(args):
        for bad in spec.bad_inputs(args):
            with pytest.raises(Exception) as raised:
                spec.op(*bad.args)
            _assert_refused_as(raised.value, bad)
        assert_matches(spec, spec.op(*args), spec.reference(*args), args)

    check()


def check_bad_inputs_compiled(spec: OpSpec) -> None:
    """Every bad input raises the eager message under torch.compile too.

    Shape checks run in the Meta kernel or the Python fake at trace time,
    data checks in the CPU kernel at run time. Static shapes, so that a
    message quotes sizes, not symbols. Inputs on two devices are left out:
    PyTorch's fake-tensor propagation refuses them ("Tensor device
    mismatch") before any operator's shape function runs.
    """
    import pytest

    @_harness_settings(max_examples=2)
    @given(args=spec.sample_args())
    def check(args):
        for bad in spec.bad_inputs(args):
            if any(isinstance(arg, torch.Tensor) and arg.is_meta for arg in bad.args):
                continue
            with pytest.raises(Exception) as raised:
                compiled(spec, "aot_eager", dynamic=False, wrapper=False)(*bad.args)
            _assert_refused_as(raised.value, bad)

    with _room_for_recompiles():
        check()


def _assert_refused_as(error: BaseException, bad: BadInput) -> None:
    """``error`` is ``bad.error`` with ``bad.match``, or Dynamo's wrapper of it.

    A check that runs at run time (the CPU kernel's data checks) raises the
    operator's own exception. One that runs while Dynamo traces (a Meta
    kernel or a fake) reaches the caller as ``TorchRuntimeError`` (a
    RuntimeError), PyTorch's wrapper of every error raised during tracing;
    the operator's exception, class and message unchanged, is in its chain.
    """
    chain = [error]
    while chain[-1].__cause__ is not None or chain[-1].__context__ is not None:
        chain.append(chain[-1].__cause__ or chain[-1].__context__)
    own = [e for e in chain if not type(e).__module__.startswith("torch._dynamo")]
    assert own, f"{bad.description}: only Dynamo's errors: {chain!r}"
    raised = type(own[0]).__name__
    assert isinstance(own[0], bad.error), (
        f"{bad.description}: raised {raised}, expected {bad.error.__name__}: {own[0]}"
    )
    assert re.search(bad.match, str(own[0])), f"{bad.description}: {own[0]} !~ {bad.match}"


def check_operator(spec: OpSpec, inductor: bool = False) -> None:
    """Every property at once (for a quick check of your own operator); in a
    pytest suite prefer :func:`operator_tests`, one test per property."""
    check_matches_reference(spec)
    if spec.call_wrapper is not None:
        check_wrapper_matches_operator(spec)
    check_same_result_for_any_thread_count(spec)
    check_opcheck(spec)
    check_compiles(spec)
    if inductor:
        check_compiles(spec, "inductor", max_examples=3)
    check_torchscript_save_then_load_in_fresh_process(spec)
    check_bad_inputs(spec)
    check_bad_inputs_compiled(spec)


def registered_specs() -> list[OpSpec]:
    """The spec of every torch_mt operator: each family's ``spec.SPECS``
    (``torch_mt/<family>/spec.py``), in family order. No list is kept by hand."""
    import torch_mt

    return [spec for module in torch_mt.family_modules("spec") for spec in module.SPECS]


def operator_tests(specs: Sequence[OpSpec]) -> dict[str, Callable[..., None]]:
    """One pytest test per property, parametrised over ``specs``.

    In a test module: ``globals().update(operator_tests(MY_SPECS))``. The
    inductor test carries the ``inductor`` marker (register it in your
    pytest configuration, or deselect it with ``-m "not inductor"``).
    """
    import pytest

    every = pytest.mark.parametrize("spec", list(specs), ids=lambda spec: spec.name)
    wrapped = pytest.mark.parametrize(
        "spec", [s for s in specs if s.call_wrapper is not None], ids=lambda spec: spec.name
    )

    def test_matches_reference(spec):
        check_matches_reference(spec)

    def test_wrapper_matches_operator(spec):
        check_wrapper_matches_operator(spec)

    def test_same_result_for_any_thread_count(spec):
        check_same_result_for_any_thread_count(spec)

    def test_opcheck(spec):
        check_opcheck(spec)

    def test_compiles_without_graph_breaks(spec):
        check_compiles(spec)

    def test_compiles_with_inductor(spec):
        check_compiles(spec, "inductor", max_examples=3)

    def test_torchscript_save_then_load_in_fresh_process(spec):
        check_torchscript_save_then_load_in_fresh_process(spec)

    def test_bad_inputs_raise_clear_errors_and_op_still_works(spec):
        check_bad_inputs(spec)

    def test_bad_inputs_raise_the_eager_message_when_compiled(spec):
        check_bad_inputs_compiled(spec)

    tests = {
        name: (wrapped if name == "test_wrapper_matches_operator" else every)(test)
        for name, test in locals().items()
        if name.startswith("test_")
    }
    if not any(s.call_wrapper is not None for s in specs):  # no test that cannot run
        del tests["test_wrapper_matches_operator"]
    tests["test_compiles_with_inductor"] = pytest.mark.inductor(
        tests["test_compiles_with_inductor"]
    )
    return tests
