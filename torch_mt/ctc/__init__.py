"""CTC forced alignment and decoding of batches of ragged utterances, items in parallel.

Wrappers around ``torch.ops.mt.ctc_forced_align``, ``ctc_greedy_decode`` and
``ctc_beam_search`` (kernels and shape functions in ``ops/ctc/``). Inputs
are a network's per-frame log-probabilities ``[B, T, C]`` (``log_softmax``
over ``C`` classes, the blank among them) and each item's number of frames.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["ctc_beam_search", "ctc_forced_align", "ctc_greedy_decode"]


def ctc_forced_align(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: Tensor,
    target_lengths: Tensor,
    *,
    blank: int = 0,
) -> tuple[Tensor, Tensor]:
    """The single best CTC alignment of every item's transcript to its frames.

    Viterbi over the CTC trellis (blank, y1, blank, y2, ..., yL, blank): a frame
    stays in its state, moves to the next, or skips a blank between two
    different tokens (a repeated token needs a blank between its copies).
    torchaudio's ``forced_align`` conventions, ties included: among a state's
    predecessors the best wins, ties going to staying, then to the previous
    state, then to the skip; at the last frame the last token wins a tie with
    the final blank. Sums run in float64.

    Args:
        log_probs: float32 or float64 ``[B, T, C]`` log-probabilities (``-inf``
            allowed).
        targets: int32 or int64 ``[B, L]`` transcripts, padded; tokens in
            ``[0, C)``, never the blank.
        input_lengths: int64 ``[B]``: item ``b`` has frames ``[0, input_lengths[b])``.
        target_lengths: int64 ``[B]``: item ``b``'s transcript is
            ``targets[b, :target_lengths[b]]``.
        blank: the blank class, in ``[0, C)``.

    Returns:
        ``(labels, scores)``: int64 ``[B, T]``, each frame's class on the best
        alignment (the blank or a token), ``-1`` past the item's frames; and
        ``[B, T]`` in the dtype of ``log_probs``, each frame's log-probability
        of its label (0 past the frames). ``scores[b].sum()`` is the path's
        log-probability.

    Raises:
        RuntimeError: wrong shape, dtype or device; a length out of range; a
            blank outside ``[0, C)``; NaN or ``+inf`` in an item's frames; a
            token outside ``[0, C)`` or equal to the blank; an item whose
            transcript needs more frames than it has (tokens + repeats). Each
            message names the argument or the item.

    Example — word timings from an alignment:
        >>> log_probs = torch.full((1, 8, 4), -5.0)   # classes: blank, "a", "b", "c"
        >>> for t, c in enumerate([0, 1, 1, 0, 2, 0, 3, 3]):
        ...     log_probs[0, t, c] = -0.1
        >>> labels, scores = ctc_forced_align(
        ...     log_probs, torch.tensor([[1, 2, 3]]), torch.tensor([8]), torch.tensor([3]))
        >>> labels.tolist()
        [[0, 1, 1, 0, 2, 0, 3, 3]]
        >>> row = labels[0].tolist()
        >>> [t for t in range(8) if row[t] > 0 and (t == 0 or row[t - 1] != row[t])]  # token starts
        [1, 4, 6]
    """
    return torch.ops.mt.ctc_forced_align(log_probs, targets, input_lengths, target_lengths, blank)


def ctc_greedy_decode(
    log_probs: Tensor, input_lengths: Tensor, *, blank: int = 0
) -> tuple[Tensor, Tensor]:
    """Best-path CTC decoding of every item: argmax per frame, repeats merged, blanks dropped.

    Ties in a frame go to the lowest class, as ``torch.argmax``.

    Args:
        log_probs: float32 or float64 ``[B, T, C]``.
        input_lengths: int64 ``[B]``: item ``b`` has frames ``[0, input_lengths[b])``.
        blank: the blank class, in ``[0, C)``.

    Returns:
        ``(labels, lengths)``: int64 ``[B, T]``, item ``b``'s labels in
        ``labels[b, :lengths[b]]`` and ``-1`` after; int64 ``[B]``.

    Raises:
        RuntimeError: wrong shape, dtype or device; a length out of range; a
            blank outside ``[0, C)``; NaN or ``+inf`` in an item's frames.

    Example:
        >>> frames = torch.tensor([[1, 1, 0, 1, 2, 2, 0]])   # best class per frame
        >>> log_probs = torch.nn.functional.one_hot(frames, 3).float().log()
        >>> labels, lengths = ctc_greedy_decode(log_probs, torch.tensor([7]))
        >>> labels[0, : lengths[0]].tolist()
        [1, 1, 2]
    """
    return torch.ops.mt.ctc_greedy_decode(log_probs, input_lengths, blank)


def ctc_beam_search(
    log_probs: Tensor, input_lengths: Tensor, beam_width: int, *, blank: int = 0, top_k: int = 1
) -> tuple[Tensor, Tensor, Tensor]:
    """CTC prefix beam search of every item: the ``top_k`` most probable labelings.

    Each hypothesis is a labeling prefix with the log-probabilities of its
    alignments ending in a blank and in its last label, merged in log space;
    each frame keeps the ``beam_width`` prefixes of highest total probability
    (ties: surviving prefixes first, in beam order, then new ones by parent
    and class). No language model. With a beam wide enough to keep every
    prefix, the result is exact: each labeling's probability summed over all
    of its alignments.

    Args:
        log_probs: float32 or float64 ``[B, T, C]``.
        input_lengths: int64 ``[B]``: item ``b`` has frames ``[0, input_lengths[b])``.
        beam_width: prefixes kept per frame, >= 1.
        blank: the blank class, in ``[0, C)``.
        top_k: labelings returned per item, in ``[1, beam_width]``.

    Returns:
        ``(labels, lengths, scores)``: int64 ``[B, top_k, T]`` (hypothesis ``k``
        of item ``b`` in ``labels[b, k, :lengths[b, k]]``, ``-1`` after),
        int64 ``[B, top_k]``, and ``[B, top_k]`` total log-probabilities in the
        dtype of ``log_probs``, best first; ``-inf`` (and length 0) where an
        item has fewer than ``top_k`` labelings.

    Raises:
        RuntimeError: as :func:`ctc_greedy_decode`, plus ``beam_width < 1`` or
            ``top_k`` outside ``[1, beam_width]``.

    Example:
        >>> log_probs = torch.tensor([[[0.6, 0.4], [0.6, 0.4]]]).log()   # blank, "a"
        >>> labels, lengths, scores = ctc_beam_search(
        ...     log_probs, torch.tensor([2]), beam_width=4, top_k=2)
        >>> lengths.tolist(), [round(p, 4) for p in scores.exp()[0].tolist()]  # "a": 3 paths
        ([[1, 0]], [0.64, 0.36])
    """
    return torch.ops.mt.ctc_beam_search(log_probs, input_lengths, beam_width, blank, top_k)
