"""A plain-PyTorch Viterbi decoder written independently of the kernel: what
users write without torch_mt, the tests' reference and the benchmark's baseline."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor


def viterbi_loop(
    emissions: Tensor,
    transitions: Tensor,
    lengths: Optional[Tensor] = None,
    start: Optional[Tensor] = None,
    end: Optional[Tensor] = None,
) -> tuple[Tensor, Tensor]:
    """Viterbi decoding as a Python loop over time steps, vectorised over the
    batch and the tags (what a CRF library does without a kernel).

    Scores accumulate in float64 in the operator's order, ties go to the
    lowest tag (``max`` returns the first maximum), so tags and scores equal
    ``mt::viterbi_decode``'s exactly.
    """
    batch, steps, k = emissions.shape
    dtype = emissions.dtype
    emissions = emissions.double()
    transitions = transitions.double()
    lengths = lengths if lengths is not None else torch.full((batch,), steps, dtype=torch.int64)
    tags = torch.full((batch, steps), -1, dtype=torch.int64)
    if steps == 0 or k == 0:
        return tags, torch.zeros(batch, dtype=dtype)
    score = emissions[:, 0] + (start.double() if start is not None else 0.0)
    backpointers = []
    for t in range(1, steps):
        best, previous = (score.unsqueeze(2) + transitions).max(dim=1)
        running = (t < lengths).unsqueeze(1)
        score = torch.where(running, best + emissions[:, t], score)
        backpointers.append(previous)
    final = score + (end.double() if end is not None else 0.0)
    best_score, current = final.max(dim=1)
    for t in reversed(range(steps)):
        if t + 1 < steps:
            stepped = backpointers[t].gather(1, current.unsqueeze(1)).squeeze(1)
            current = torch.where(t < lengths - 1, stepped, current)
        tags[:, t] = torch.where(t < lengths, current, -1)
    return tags, torch.where(lengths > 0, best_score, 0.0).to(dtype)
