"""Hypothesis strategies and checks for torch_mt operators, yours included.

Needs the ``test`` extra (hypothesis). An operator written on the torch_mt
runtime can reuse these to get the same coverage as the built-in ones::

    from hypothesis import given
    from torch_mt.testing import padded_sequences, thread_counts, results_for_thread_counts

    @given(padded_sequences(), thread_counts())
    def test_my_op(sample, threads): ...
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Optional

import torch
from hypothesis import strategies as st
from torch import Tensor

from ._runtime import num_threads

#: Thread counts every operator must agree across: inline, one helper, and
#: more threads than this 2-core machine has (3).
THREAD_COUNTS = (1, 2, 3)

#: Memory layouts a kernel must accept: see :func:`with_layout`.
LAYOUTS = ("contiguous", "strided", "transposed", "offset")

_INT_RANGES = {
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
