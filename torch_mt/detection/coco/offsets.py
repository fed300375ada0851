"""Offsets from lengths: how the detection family packs variable-length items
(a cell's boxes, an RLE's runs, a polygon's coordinates, a string's
characters) one after another in one column. One helper, used by the records,
the masks, the metric and the specs alike; it imports nothing of the family,
so every module can use it without an import cycle."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import torch
from torch import Tensor


def offsets_of(lengths: Union[Tensor, Sequence[int]]) -> Tensor:
    """int64 ``[N + 1]``: where each of ``N`` consecutive items starts, then
    the total (0, then the running sum of ``lengths``).

    Example:
        >>> offsets_of([2, 0, 3]).tolist()
        [0, 2, 2, 5]
    """
    lengths = torch.as_tensor(lengths, dtype=torch.int64)
    return torch.cat([torch.zeros(1, dtype=torch.int64), lengths.cumsum(0)])
