"""The ctc family's benchmark workloads (``python -m torch_mt.bench``)."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch
from torch import Tensor

from ..bench.workload import Arm, Workload, all_threads, peer, small_workload


def speech_like(
    batch: int, steps: int, classes: int, tokens: int, seed: int
) -> tuple[Tensor, Tensor, Tensor]:
    """A fake acoustic model's output: each item a random transcript of
    `tokens` tokens (no blank, class 0) spread over `steps` frames, each
    frame's own class at probability ~0.9 and noise elsewhere; float32
    ``(log_probs [B, T, C], targets [B, tokens], input_lengths [B])``."""
    generator = torch.Generator().manual_seed(seed)
    targets = torch.randint(1, classes, (batch, tokens), generator=generator)
    # Token k of the transcript covers frames [k * steps / tokens, ...), the
    # second half of its span blank (so repeats are separated).
    position = torch.arange(steps) * tokens // steps
    in_second_half = (torch.arange(steps) * tokens % steps) * 2 >= steps
    frame_class = torch.where(in_second_half, 0, targets[:, position])
    logits = torch.randn(batch, steps, classes, generator=generator)
    logits.scatter_add_(2, frame_class.unsqueeze(2), torch.full((batch, steps, 1), 6.0))
    log_probs = logits.log_softmax(dim=-1)
    return log_probs, targets, torch.full((batch,), steps, dtype=torch.int64)


def trellis_align(log_probs: Tensor, tokens: Tensor, blank: int) -> Tensor:
    """One item's forced alignment as a vectorised PyTorch trellis (float64):
    a Python loop over frames, every state of a frame in a few tensor ops,
    with the kernel's tie rules; the labels of each frame."""
    log_probs = log_probs.double()
    frames, states = log_probs.shape[0], 2 * len(tokens) + 1
    labels = torch.full((states,), blank, dtype=torch.int64)
    labels[1::2] = tokens
    skippable = torch.zeros(states, dtype=torch.bool)
    skippable[3::2] = tokens[1:] != tokens[:-1]
    minus_inf = torch.full((2,), -math.inf, dtype=torch.float64)
    alpha = torch.full((states,), -math.inf, dtype=torch.float64)
    alpha[:2] = log_probs[0, labels[:2]]
    steps = []
    for t in range(1, frames):
        advance = torch.cat([minus_inf[:1], alpha[:-1]])
        skip = torch.where(skippable, torch.cat([minus_inf, alpha[:-2]]), -math.inf)
        take_skip = (skip > advance) & (skip > alpha)
        take_advance = ~take_skip & (advance > alpha)
        best = torch.where(take_skip, skip, torch.where(take_advance, advance, alpha))
        steps.append(take_skip.long() * 2 + take_advance.long())
        alpha = best + log_probs[t, labels]
    state = states - 1 if states == 1 or alpha[-1] > alpha[-2] else states - 2
    path = [0] * frames
    for t in range(frames - 1, -1, -1):
        path[t] = int(labels[state])
        if t > 0:
            state -= int(steps[t - 1][state])
    return torch.tensor(path)


def batched_trellis_align(log_probs: Tensor, tokens: Tensor, blank: int) -> Tensor:
    """Forced alignment of a whole batch as a PyTorch user with a batch writes
    it (float64): one Python loop over frames, every state of every item in a
    few tensor ops ``[B, 2L+1]``, the kernel's tie rules; full-length items
    (as the workload's), the labels ``[B, T]``. The stronger baseline: it
    vectorises over the batch as well as over the states."""
    log_probs = log_probs.double()
    batch, frames = log_probs.shape[:2]
    states = 2 * tokens.shape[1] + 1
    labels = torch.full((batch, states), blank, dtype=torch.int64)
    labels[:, 1::2] = tokens
    skippable = torch.zeros(batch, states, dtype=torch.bool)
    skippable[:, 3::2] = tokens[:, 1:] != tokens[:, :-1]
    minus_inf = torch.full((batch, 2), -math.inf, dtype=torch.float64)
    emissions = log_probs.gather(2, labels.unsqueeze(1).expand(batch, frames, states))
    alpha = torch.full((batch, states), -math.inf, dtype=torch.float64)
    alpha[:, :2] = emissions[:, 0, :2]
    steps = []
    for t in range(1, frames):
        advance = torch.cat([minus_inf[:, :1], alpha[:, :-1]], dim=1)
        skip = torch.where(skippable, torch.cat([minus_inf, alpha[:, :-2]], dim=1), -math.inf)
        take_skip = (skip > advance) & (skip > alpha)
        take_advance = ~take_skip & (advance > alpha)
        best = torch.where(take_skip, skip, torch.where(take_advance, advance, alpha))
        steps.append(take_skip.long() * 2 + take_advance.long())
        alpha = best + emissions[:, t]
    last = states - 1
    state = (
        torch.full((batch,), last)
        if states == 1
        else torch.where(alpha[:, last] > alpha[:, last - 1], last, last - 1)
    )
    path = torch.empty(batch, frames, dtype=torch.int64)
    rows = torch.arange(batch)
    for t in range(frames - 1, -1, -1):
        path[:, t] = labels[rows, state]
        if t > 0:
            state = state - steps[t - 1][rows, state]
    return path


#: (utterances, frames, classes, tokens) of the rows, quick and full.
_QUICK_SIZES, _FULL_SIZES = (8, 400, 32, 60), (64, 2000, 32, 300)


def headline() -> Workload:
    """The family's row of the headline run (``make bench``): forced alignment
    of 16 utterances (the full run's 64 keep the per-utterance loop 9 s a call)."""
    return _forced_align_workload((16, *_FULL_SIZES[1:]))


def _forced_align_workload(sizes: tuple[int, int, int, int]) -> Workload:
    batch, steps, classes, tokens = sizes
    log_probs, targets, input_lengths = speech_like(batch, steps, classes, tokens, seed=0)
    target_lengths = torch.full((batch,), tokens, dtype=torch.int64)
    return Workload(
        name=f"ctc_forced_align, {batch} x {steps} frames, {tokens} tokens",
        description=f"forced alignment of {batch} utterances of {steps} frames, C={classes}",
        ops=("ctc_forced_align",),
        arms=[
            # The baseline: a PyTorch user with a batch vectorises over it too.
            Arm(
                "pure PyTorch: trellis vectorised over batch and states",
                lambda: batched_trellis_align(log_probs, targets, 0),
            ),
            # torchaudio's CPU forced_align takes one utterance at a time, but
            # no torchaudio wheel loads with this torch (the PyPI wheels are
            # CUDA builds): a vectorised PyTorch trellis stands in for it.
            Arm(
                "python loop: vectorised PyTorch trellis per utterance",
                lambda: torch.stack(
                    [trellis_align(log_probs[b], targets[b], 0) for b in range(batch)]
                ),
            ),
        ],
        torch_mt=lambda: torch.ops.mt.ctc_forced_align(
            log_probs, targets, input_lengths, target_lengths, 0
        )[0],
        normalise=lambda labels: labels.tolist(),
    )


def _beam_search_workload(quick: bool) -> Workload:
    batch, steps, classes, tokens = _QUICK_SIZES if quick else _FULL_SIZES
    log_probs, _, input_lengths = speech_like(batch, steps, classes, tokens, seed=0)
    beam_width = 16
    labels_text = [""] + [
        chr(ord("a") + c) if c < 27 else chr(0x100 + c) for c in range(1, classes)
    ]
    threads = all_threads()
    executor = ThreadPoolExecutor(threads)
    matrices = list(log_probs.numpy())

    decoders = []  # built once, on the first call (pyctcdecode is optional)

    def pyctcdecode_text(matrix) -> str:
        if not decoders:
            decoders.append(peer("pyctcdecode").build_ctcdecoder(labels_text))
        return decoders[0].decode(matrix, beam_width=beam_width)

    def as_texts(result: Any) -> list[str]:
        if isinstance(result, tuple):  # the op: best hypothesis of each item
            labels, lengths, _ = result
            return [
                "".join(labels_text[c] for c in labels[b, 0, : lengths[b, 0]].tolist())
                for b in range(labels.shape[0])
            ]
        return list(result)

    return Workload(
        name=f"ctc_beam_search, {batch} x {steps} frames, beam {beam_width}",
        description=f"prefix beam search of {batch} utterances of {steps} frames, C={classes}",
        ops=("ctc_beam_search",),
        arms=[
            Arm(
                "python loop: pyctcdecode (no LM)",
                lambda: [pyctcdecode_text(m) for m in matrices],
                requires=("pyctcdecode",),
            ),
            Arm(
                f"ThreadPoolExecutor({threads}): pyctcdecode",
                lambda: list(executor.map(pyctcdecode_text, matrices)),
                requires=("pyctcdecode",),
            ),
        ],
        torch_mt=lambda: torch.ops.mt.ctc_beam_search(log_probs, input_lengths, beam_width, 0, 1),
        normalise=as_texts,
        # pyctcdecode prunes (tokens below -5, beams 10 below the best) and
        # merges differently, so a few items may differ: most must agree.
        agree=lambda actual, expected: (
            sum(a == e for a, e in zip(actual, expected)) >= 0.9 * len(expected)
        ),
    )


def workloads(quick: bool) -> list[Workload]:
    """Forced alignment and prefix beam search of speech-like posteriors; tiny calls."""
    log_probs, targets, input_lengths = speech_like(2, 12, 5, 3, seed=1)
    target_lengths = torch.full((2,), 3, dtype=torch.int64)
    small = [
        small_workload(
            "ctc_forced_align",
            lambda: torch.ops.mt.ctc_forced_align(
                log_probs, targets, input_lengths, target_lengths, 0
            ),
        ),
        small_workload(
            "ctc_greedy_decode", lambda: torch.ops.mt.ctc_greedy_decode(log_probs, input_lengths, 0)
        ),
        small_workload(
            "ctc_beam_search",
            lambda: torch.ops.mt.ctc_beam_search(log_probs, input_lengths, 4, 0, 1),
        ),
    ]
    sizes = _QUICK_SIZES if quick else _FULL_SIZES
    return [_forced_align_workload(sizes), _beam_search_workload(quick), *small]
