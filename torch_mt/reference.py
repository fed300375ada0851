"""Plain-PyTorch implementations of torch_mt operators, written independently of the kernels.

They are what users write today without torch_mt — a Python loop over the
sequential part, tensor ops inside it. The tests use them as references and
the benchmark as status-quo baselines.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor


def nms_loop(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy NMS as a Python loop over boxes by score, IoU vectorised per kept box.

    IoU follows torchvision's arithmetic in the boxes' dtype (so results are
    bitwise comparable) and is compared with the threshold in float64.
    """
    order = torch.sort(scores, descending=True, stable=True).indices
    x1, y1, x2, y2 = boxes[order].unbind(dim=1)
    areas = (x2 - x1) * (y2 - y1)
    suppressed = torch.zeros(len(order), dtype=torch.bool)
    kept = []
    for position in range(len(order)):
        if suppressed[position]:
            continue
        kept.append(position)
        width = (torch.minimum(x2[position], x2) - torch.maximum(x1[position], x1)).clamp(min=0)
        height = (torch.minimum(y2[position], y2) - torch.maximum(y1[position], y1)).clamp(min=0)
        intersection = width * height
        iou = intersection / (areas[position] + areas - intersection)
        suppressed |= iou.double() > iou_threshold
    return order[torch.tensor(kept, dtype=torch.int64)]


def soft_dtw_antidiagonal(
    cost: Tensor,
    gamma: float,
    n_lengths: Optional[Tensor] = None,
    m_lengths: Optional[Tensor] = None,
) -> Tensor:
    """Soft-DTW of a batch as a loop over anti-diagonals, each one vectorised.

    The cells of one anti-diagonal (i + j constant) depend only on the two
    before it, so the batch and the whole diagonal go through a few tensor ops
    at once: N + M - 1 Python iterations in all. Differentiable by autograd
    (which stores every diagonal). ``+inf`` cells are allowed; padding past
    each item's lengths is masked out, so it may hold anything.
    """
    batch, rows, cols = cost.shape
    device = cost.device
    n = n_lengths if n_lengths is not None else torch.full((batch,), rows, device=device)
    m = m_lengths if m_lengths is not None else torch.full((batch,), cols, device=device)
    i_index = torch.arange(rows, device=device).view(1, rows, 1)
    j_index = torch.arange(cols, device=device).view(1, 1, cols)
    valid = (i_index < n.view(-1, 1, 1)) & (j_index < m.view(-1, 1, 1))
    cost = torch.where(valid, cost, torch.zeros((), dtype=cost.dtype))
    inf = torch.tensor(math.inf, dtype=cost.dtype)
    # R with a border: R[:, 0, 0] = 0, R[:, 0, j] = R[:, i, 0] = inf, one list
    # entry per anti-diagonal d = i + j of the bordered table (no in-place writes).
    # Each diagonal is also kept padded to all rows 0..rows (inf off-table),
    # built once, for the two steps that read it.
    diagonals: list[Tensor] = [torch.zeros(batch, 1, dtype=cost.dtype)]
    padded: list[Tensor] = [_bordered(diagonals[0], 0, rows, cols, inf)]
    for d in range(1, rows + cols + 1):
        i_low, i_high = max(0, d - cols), min(rows, d)  # bordered rows on diagonal d
        i = torch.arange(i_low, i_high + 1)
        previous = padded[d - 1]
        before = padded[d - 2] if d >= 2 else None
        inner = (i >= 1) & (d - i >= 1)
        values = torch.full((batch, len(i)), math.inf, dtype=cost.dtype)
        if inner.any():
            ii = i[inner]
            jj = d - ii
            up, left = previous[:, ii - 1], previous[:, ii]
            diagonal = before[:, ii - 1] if before is not None else torch.full_like(up, math.inf)
            soft = _softmin3(diagonal, up, left, gamma)
            values = values.index_put(
                (torch.arange(batch).unsqueeze(1), (ii - i_low).unsqueeze(0).expand(batch, -1)),
                cost[:, ii - 1, jj - 1] + soft,
            )
        diagonals.append(values)
        padded.append(_bordered(values, d, rows, cols, inf))
    # Item b's value is R[n_b, m_b] on diagonal n_b + m_b, at bordered row n_b.
    out = []
    for b in range(batch):
        nb, mb = int(n[b]), int(m[b])
        if nb == 0 or mb == 0:
            out.append(cost.new_tensor(0.0 if nb == mb else math.inf))
            continue
        d = nb + mb
        out.append(diagonals[d][b, nb - max(0, d - cols)])
    return torch.stack(out) if out else cost.new_zeros(0)


def _bordered(diagonal: Tensor, d: int, rows: int, cols: int, inf: Tensor) -> Tensor:
    """Diagonal d of the bordered table indexed by row i (0..rows), inf off-table."""
    i_low = max(0, d - cols)
    full = inf.expand(diagonal.shape[0], rows + 1)
    return torch.cat([full[:, :i_low], diagonal, full[:, i_low + diagonal.shape[1] :]], dim=1)


def _softmin3(a: Tensor, b: Tensor, c: Tensor, gamma: float) -> Tensor:
    """-gamma log(exp(-a/gamma) + exp(-b/gamma) + exp(-c/gamma)), shifted by the
    minimum; +inf where all three are +inf, with finite (zero) gradients there."""
    stacked = torch.stack([a, b, c])
    smallest = stacked.min(dim=0).values
    shift = torch.where(torch.isinf(smallest), torch.zeros_like(smallest), smallest).detach()
    total = torch.exp(-(stacked - shift) / gamma).sum(dim=0)
    safe_total = torch.where(total > 0, total, torch.ones_like(total))
    return torch.where(
        total > 0, shift - gamma * torch.log(safe_total), torch.full_like(total, math.inf)
    )


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
