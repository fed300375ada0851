"""One OpSpec per public operator: everything the generic test suite needs.

Adding an operator means adding a spec to ``REGISTRY`` (one module per
operator family beside this file); ``tests/test_ops_generic.py``
then checks it against its reference, across thread counts, with opcheck,
torch.compile, TorchScript save/load and its bad inputs. Needs the ``test``
extra (hypothesis).
"""

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
    name: str  # torch.ops.mt.<name>
    #: The Python wrapper, called with the operator's positional arguments.
    call_wrapper: Callable[..., Any]
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
    #: Replaces that comparison where several results are right (an
    #: assignment with tied optima): ``compare(actual, expected, args)`` raises
    #: AssertionError unless ``actual`` is as good as the reference's ``expected``.
    compare: Optional[Callable[[Any, Any, tuple[Any, ...]], None]] = None

    @property
    def op(self) -> torch._ops.OpOverloadPacket:
        return getattr(torch.ops.mt, self.name)


def _all_specs() -> list[OpSpec]:
    # Imported here: the family modules import OpSpec and BadInput from this one.
    from . import alignment, assignment, decoding, detection, sequences

    return [*sequences.SPECS, *assignment.SPECS, *detection.SPECS, *alignment.SPECS,
            *decoding.SPECS]


REGISTRY: list[OpSpec] = _all_specs()
