"""Viterbi decoding of linear-chain CRFs / HMMs, items in parallel.

Wrapper around ``torch.ops.mt.viterbi_decode`` (kernel and shape function in
``ops/decoding/viterbi.cpp``).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

__all__ = ["viterbi_decode"]


def viterbi_decode(
    emissions: Tensor,
    transitions: Tensor,
    *,
    lengths: Optional[Tensor] = None,
    start: Optional[Tensor] = None,
    end: Optional[Tensor] = None,
) -> tuple[Tensor, Tensor]:
    """The highest-scoring tag sequence of every item, decoded in parallel.

    A path ``y`` of item ``b`` scores
    ``start[y_0] + sum_t emissions[b, t, y_t] + sum_t transitions[y_(t-1), y_t] + end[y_last]``
    (the conventions of pytorch-crf and of an HMM in log space).

    Args:
        emissions: float32 or float64 ``[B, T, K]``.
        transitions: ``[K, K]``, the dtype of ``emissions``; ``transitions[i, j]``
            scores tag ``i`` followed by tag ``j``.
        lengths: int64 ``[B]`` or None: item ``b`` has ``lengths[b]`` steps
            (the rest is padding, never read). None: all ``T``.
        start: ``[K]`` or None: scores of the first tag.
        end: ``[K]`` or None: scores of the last tag.

    Scores may be ``-inf`` (a forbidden tag or move, as in BIO constraints);
    NaN and ``+inf`` are errors. Ties go to the lower tag index.

    Returns:
        ``(tags, scores)``: int64 ``[B, T]``, ``-1`` past each length; and
        ``[B]`` in the dtype of ``emissions`` (accumulated in float64). An
        empty item (length 0) has no tags and score 0.

    Raises:
        RuntimeError: wrong shape, dtype or device; a length outside ``[0, T]``;
            NaN or ``+inf`` in ``transitions``, ``start``, ``end`` or an item's
            emissions (the message names the argument or the item).

    Example:
        >>> emissions = torch.tensor([[[2.0, 0.0], [0.0, 1.0], [0.0, 3.0]]])
        >>> transitions = torch.tensor([[0.0, -5.0], [-5.0, 0.0]])  # switching costs 5
        >>> tags, scores = viterbi_decode(emissions, transitions, lengths=torch.tensor([3]))
        >>> tags.tolist(), scores.tolist()
        ([[1, 1, 1]], [4.0])
    """
    return torch.ops.mt.viterbi_decode(emissions, transitions, lengths, start, end)
