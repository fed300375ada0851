"""Hypothesis strategies and layouts for operator inputs (part of :mod:`torch_mt.testing`)."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Optional

import torch
from hypothesis import strategies as st
from torch import Tensor

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


# Above this many tokens, a batch is generated from a drawn seed.
_DRAWN_ONE_BY_ONE = 256


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
    if batch * width <= _DRAWN_ONE_BY_ONE:
        symbols = st.sampled_from(alphabet)
        rows = st.lists(
            st.lists(symbols, min_size=width, max_size=width), min_size=batch, max_size=batch
        )
        lengths = st.lists(st.integers(0, width), min_size=batch, max_size=batch)
        tokens, lengths = draw(rows), draw(lengths)
    else:
        # Thousands of single draws overrun Hypothesis's buffer (examples are
        # discarded, each after seconds); a large batch comes from a drawn
        # seed instead, and shrinks no further than its size and alphabet.
        rng = random.Random(draw(st.integers(0, 2**32 - 1)))  # one draw, not one per call
        tokens = [[rng.choice(alphabet) for _ in range(width)] for _ in range(batch)]
        lengths = [rng.randint(0, width) for _ in range(batch)]
    tokens = torch.tensor(tokens, dtype=dtype).reshape(batch, width)
    return tokens, torch.tensor(lengths, dtype=torch.int64)


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
