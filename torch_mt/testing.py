"""The property harness of torch_mt operators, yours included: strategies,
checks, the ``OpSpec`` type and the tests the built-in suite runs.

Needs the ``test`` extra (hypothesis, pytest). Describe your operator with an
``OpSpec`` (independent reference, strategy with a ``large`` variant that fans
out, bad inputs with their messages) and get the built-in suite's properties
for it: the reference at several thread counts, bitwise equality across
thread counts, opcheck, torch.compile (fullgraph), TorchScript save/load in a
fresh process, every bad input's message eagerly and compiled::

    from torch_mt.testing import OpSpec, operator_tests
    MY_SPECS = [OpSpec(name="my_op", namespace="mine", reference=..., sample_args=...,
                       bad_inputs=..., setup_code="import my_package")]
    globals().update(operator_tests(MY_SPECS))   # in a test module

Strategies to build ``sample_args`` from (the built-in specs use them):
:func:`padded_sequences` (ragged integer batches with lengths),
:func:`cost_batches` (padded ``[B, N, M]`` cost matrices with lengths, ties,
forbidden cells), :func:`boxes_and_scores` (detections with duplicates and
degenerate boxes), :func:`with_layout` over :data:`LAYOUTS` (the same values
strided, transposed or offset) and :func:`thread_counts`.

``tests/test_ops_generic.py`` runs torch_mt's own operators through exactly this.
"""

from __future__ import annotations

import importlib.util
import math
import pathlib
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
from torch import Tensor

from ._runtime import num_threads

#: Thread counts every operator must agree across: inline, one helper, and
#: more threads than this 2-core machine has (3).
THREAD_COUNTS = (1, 2, 3)

#: Memory layouts a kernel must accept: see :func:`with_layout`.
LAYOUTS = ("contiguous", "strided", "transposed", "offset")

_INT_RANGES = {
    torch.uint8: (0, 2**8 - 1),
    torch.int16: (-(2**15), 2**15 - 1),
    torch.int32: (-(2**31), 2**31 - 1),
    torch.int64: (-(2**63), 2**63 - 1),
}


def thread_counts(max_threads: int = 4) -> st.SearchStrategy[int]:
    """Thread counts from 1 to ``max_threads``."""
    return st.integers(1, max_threads)


def with_layout(tensor: Tensor, layout: str) -> Tensor:
    """The same values as ``tensor`` in another memory layout.

    ``contiguous``: unchanged. ``strided``: every other element of a wider
    buffer along the last dimension. ``transposed``: the last two dimensions
    stored swapped (column-major); 1-D tensors fall back to ``offset``.
    ``offset``: a view that starts one element into its storage.
    """
    if layout == "contiguous" or tensor.dim() == 0:
        return tensor
    if layout == "strided":
        wide = torch.zeros(*tensor.shape[:-1], 2 * tensor.shape[-1], dtype=tensor.dtype)
        view = wide[..., ::2]
        view.copy_(tensor)
        return view
    if layout == "transposed" and tensor.dim() >= 2:
        return tensor.transpose(-1, -2).contiguous().transpose(-1, -2)
    if layout in ("transposed", "offset"):
        flat = torch.zeros(tensor.numel() + 1, dtype=tensor.dtype)
        view = flat[1:].view(tensor.shape)
        view.copy_(tensor)
        return view
    raise ValueError(f"unknown layout {layout!r}; expected one of {LAYOUTS}")


@st.composite
def padded_sequences(
    draw: st.DrawFn,
    batch: Optional[int] = None,
    max_batch: int = 6,
    min_width: int = 0,
    max_width: int = 12,
    dtype: Optional[torch.dtype] = None,
) -> tuple[Tensor, Tensor]:
    """A padded integer batch ``(tokens [B, W], lengths [B] int64)``.

    Tokens come from a small random alphabet (so sequences share symbols and
    the dynamic programme has real choices) whose values span the dtype's whole
    range. Padding past each length is random too: a kernel must ignore it.
    """
    dtype = dtype if dtype is not None else draw(st.sampled_from([torch.int32, torch.int64]))
    batch = batch if batch is not None else draw(st.integers(0, max_batch))
    width = draw(st.integers(min_width, max_width))
    low, high = _INT_RANGES[dtype]
    alphabet = draw(st.lists(st.integers(low, high), min_size=1, max_size=4, unique=True))
    symbols = st.sampled_from(alphabet)
    tokens = torch.tensor(
        draw(
            st.lists(
                st.lists(symbols, min_size=width, max_size=width), min_size=batch, max_size=batch
            )
        ),
        dtype=dtype,
    ).reshape(batch, width)
    lengths = torch.tensor(
        draw(st.lists(st.integers(0, width), min_size=batch, max_size=batch)), dtype=torch.int64
    )
    return tokens, lengths


def rows_of(tokens: Tensor, lengths: Optional[Tensor] = None) -> list[list[int]]:
    """The valid part of each row of a padded batch (whole rows without
    lengths), as Python lists."""
    width = tokens.shape[1] if tokens.dim() == 2 else 0
    return [
        tokens[i, : width if lengths is None else int(lengths[i])].tolist()
        for i in range(tokens.shape[0])
    ]


def random_boxes(
    generator: torch.Generator, shape: tuple[int, ...], grid: int, dtype: torch.dtype
) -> Tensor:
    """Boxes ``[*shape, 4]`` on a small integer grid: duplicates, shared edges,
    zero widths and heights are common, as in real detector output."""
    corner = torch.randint(0, grid, (*shape, 2), generator=generator)
    size = torch.randint(0, grid // 2 + 1, (*shape, 2), generator=generator)
    return torch.cat([corner, corner + size], dim=-1).to(dtype)


def random_scores(
    generator: torch.Generator, shape: tuple[int, ...], ties: bool, dtype: torch.dtype
) -> Tensor:
    """Scores ``[*shape]`` in [0, 1]; with ``ties``, only 0, 0.5 and 1."""
    if ties:  # a few distinct values: the index breaks ties
        return (torch.randint(0, 3, shape, generator=generator) / 2).to(dtype)
    return torch.rand(shape, generator=generator, dtype=torch.float64).to(dtype)


@st.composite
def boxes_and_scores(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[Tensor, Tensor]:
    """Detections ``(boxes [*shape, 4] as (x1, y1, x2, y2), scores [*shape])``,
    float32 or float64, each in any layout of :data:`LAYOUTS`: boxes from
    :func:`random_boxes` on a grid of 2, 8 or 64 (from all overlapping to
    mostly apart), scores continuous or with ties."""
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    grid = draw(st.sampled_from([2, 8, 64]))
    boxes = random_boxes(generator, shape, grid, dtype)
    scores = random_scores(generator, shape, draw(st.booleans()), dtype)
    layouts = st.sampled_from(LAYOUTS)
    return with_layout(boxes, draw(layouts)), with_layout(scores, draw(layouts))


@st.composite
def cost_batches(
    draw: st.DrawFn,
    large: bool = False,
    dtypes: Sequence[torch.dtype] = (torch.float32, torch.float64),
) -> tuple[Tensor, Optional[Tensor], Optional[Tensor]]:
    """A padded batch of cost matrices ``(cost [B, N, M], n_lengths or None,
    m_lengths or None)`` of a floating dtype from ``dtypes``.

    Costs are continuous or small integers (tied optima); some cells may be
    +inf (forbidden), sometimes enough to leave no path. Padding past the
    lengths is NaN: the kernel must never read it. ``large``: 8-24 items of
    30-60 x 30-60, enough to fan out; else up to 4 items of up to 6 x 6,
    empty ones included. Any layout of :data:`LAYOUTS`.
    """
    dtype = draw(st.sampled_from(dtypes))
    if large:  # enough cells to fan out over several chunks
        batch, rows, cols = (
            draw(st.integers(8, 24)),
            draw(st.integers(30, 60)),
            draw(st.integers(30, 60)),
        )
    else:
        batch, rows, cols = (
            draw(st.integers(0, 4)),
            draw(st.integers(0, 6)),
            draw(st.integers(0, 6)),
        )
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        cost = torch.randint(0, 3, (batch, rows, cols), generator=generator).to(dtype)
    else:
        cost = (torch.rand((batch, rows, cols), generator=generator, dtype=torch.float64) * 10).to(
            dtype
        )
    forbidden = torch.rand((batch, rows, cols), generator=generator) < draw(
        st.sampled_from([0.0, 0.0, 0.1, 0.4])
    )
    cost[forbidden] = math.inf
    n_lengths = m_lengths = None
    if draw(st.booleans()):
        n_lengths = torch.randint(0, rows + 1, (batch,), generator=generator)
        m_lengths = torch.randint(0, cols + 1, (batch,), generator=generator)
        if draw(st.booleans()):
            m_lengths = None
        for b in range(batch):
            cost[b, int(n_lengths[b]) :, :] = math.nan
            if m_lengths is not None:
                cost[b, :, int(m_lengths[b]) :] = math.nan
    layouts = st.sampled_from(LAYOUTS)
    cost = with_layout(cost, draw(layouts))
    if n_lengths is not None:
        n_lengths = with_layout(n_lengths, draw(layouts))
    return cost, n_lengths, m_lengths


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
    """Arguments the operator must refuse with a RuntimeError matching ``match``."""

    description: str
    args: tuple[Any, ...]
    match: str


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

        @_harness_settings(max_examples=2)
        @given(args=spec.sample_args(large=True))
        def check(args):
            expected = spec.op(*args)
            assert_identical(scripted(*args), expected)
            torch.save(args, directory / "args.pt")
            loader = textwrap.dedent(f"""\
                import torch
                {spec.setup_code}
                model = torch.jit.load({str(directory / "model.pt")!r})
                args = torch.load({str(directory / "args.pt")!r})
                torch.save(model(*args), {str(directory / "out.pt")!r})
                """)
            subprocess.run([sys.executable, "-c", loader], check=True, timeout=120)
            assert_identical(torch.load(directory / "out.pt"), expected)

        check()


def check_bad_inputs(spec: OpSpec) -> None:
    """Every bad input raises its message; the operator still works afterwards."""
    import pytest  # here, not at import: the benchmark imports this module without pytest

    @_harness_settings(max_examples=10)
    @given(args=spec.sample_args())
    def check(args):
        for bad in spec.bad_inputs(args):
            with pytest.raises(RuntimeError, match=bad.match):
                spec.op(*bad.args)
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
            with pytest.raises(RuntimeError, match=bad.match):
                compiled(spec, "aot_eager", dynamic=False, wrapper=False)(*bad.args)

    with _room_for_recompiles():
        check()


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
