"""The types of the registry: what one operator's spec says (no spec lives here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

import torch
from hypothesis import strategies as st


@dataclass(frozen=True)
class BadInput:
    """Arguments the operator must refuse with a RuntimeError matching ``match``."""

    description: str
    args: tuple[Any, ...]
    match: str


@dataclass(frozen=True)
class OpSpec:
    """Everything the generic suite needs to check one operator ``torch.ops.mt.<name>``.

    Argument tuples are in schema order; the public wrapper ``torch_mt.<name>``
    is called with the same values by name (its parameters carry the schema's
    names), so a spec never restates the wrapper's signature.
    """

    name: str  # torch.ops.mt.<name>
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

    @property
    def op(self) -> torch._ops.OpOverloadPacket:
        return getattr(torch.ops.mt, self.name)

    @property
    def wrapper(self) -> Optional[Callable[..., Any]]:
        """``torch_mt.<name>``, or None for a derivative operator."""
        import torch_mt

        return None if self.derivative_of else getattr(torch_mt, self.name)

    @property
    def argument_names(self) -> tuple[str, ...]:
        """The schema's argument names, in order."""
        return tuple(arg.name for arg in self.op.default._schema.arguments)

    def by_name(self, args: tuple[Any, ...]) -> dict[str, Any]:
        """``args`` keyed by the schema's argument names, for the wrapper."""
        return dict(zip(self.argument_names, args))
