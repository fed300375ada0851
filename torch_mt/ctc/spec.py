"""OpSpecs of the CTC family (ops/ctc/).

References are plain Python written for the tests: a Viterbi over the CTC
trellis with torchaudio's tie rules, argmax-and-collapse, and prefix beam
search over Python floats. tests/test_ctc.py adds the checks that do not
share the algorithm: brute-force enumeration of every alignment (tiny T and
C) for the beam search and the alignment score.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from hypothesis import strategies as st
from torch import Tensor

from ..testing import LAYOUTS, BadInput, OpSpec, with_layout

MINUS_INF = -math.inf


# ---- references -----------------------------------------------------------------------


def _frames(log_probs: Tensor, input_lengths: Tensor, b: int) -> list[list[float]]:
    return log_probs[b, : int(input_lengths[b])].double().tolist()


def python_forced_align(
    log_probs: Tensor, targets: Tensor, input_lengths: Tensor, target_lengths: Tensor, blank: int
) -> tuple[Tensor, Tensor]:
    """Viterbi over the extended transcript (blank, y1, blank, ..., yL, blank)
    in Python floats; ties: stay, then the previous state, then the skip; at
    the end the last token's state before the final blank."""
    batch, steps, _ = log_probs.shape
    labels = torch.full((batch, steps), -1, dtype=torch.int64)
    scores = torch.zeros((batch, steps), dtype=torch.float64)
    for b in range(batch):
        frames = _frames(log_probs, input_lengths, b)
        tokens = targets[b, : int(target_lengths[b])].tolist()
        if not frames:
            continue
        states = [blank if s % 2 == 0 else tokens[s // 2] for s in range(2 * len(tokens) + 1)]

        # Into odd state s from s - 2 (over a blank) between two different tokens.
        can_skip = [
            s % 2 == 1 and s >= 3 and tokens[s // 2] != tokens[s // 2 - 1]
            for s in range(len(states))
        ]

        alpha = [MINUS_INF] * len(states)
        alpha[0] = frames[0][blank]
        if len(states) > 1:
            alpha[1] = frames[0][states[1]]
        back = [[0] * len(states)]
        for frame in frames[1:]:
            new, steps_back = [], []
            for s in range(len(states)):
                stay = alpha[s]
                advance = alpha[s - 1] if s >= 1 else MINUS_INF
                skip = alpha[s - 2] if can_skip[s] else MINUS_INF
                if skip > advance and skip > stay:
                    best, step = skip, 2
                elif advance > stay:
                    best, step = advance, 1
                else:
                    best, step = stay, 0
                new.append(best + frame[states[s]])
                steps_back.append(step)
            alpha = new
            back.append(steps_back)
        s = len(states) - 1
        if len(states) > 1 and not alpha[-1] > alpha[-2]:
            s = len(states) - 2
        for t in range(len(frames) - 1, -1, -1):
            labels[b, t] = states[s]
            scores[b, t] = frames[t][states[s]]
            s -= back[t][s]
    return labels, scores.to(log_probs.dtype)


def python_greedy_decode(
    log_probs: Tensor, input_lengths: Tensor, blank: int
) -> tuple[Tensor, Tensor]:
    """First maximum of each frame, repeats merged, blanks dropped."""
    batch, steps, _ = log_probs.shape
    labels = torch.full((batch, steps), -1, dtype=torch.int64)
    lengths = torch.zeros(batch, dtype=torch.int64)
    for b in range(batch):
        decoded, previous = [], -1
        for frame in _frames(log_probs, input_lengths, b):
            best = max(range(len(frame)), key=lambda c: (frame[c], -c))
            if best != blank and best != previous:
                decoded.append(best)
            previous = best
        labels[b, : len(decoded)] = torch.tensor(decoded, dtype=torch.int64)
        lengths[b] = len(decoded)
    return labels, lengths


def log_add(a: float, b: float) -> float:
    high = max(a, b)
    if high == MINUS_INF:
        return MINUS_INF
    return high + math.log1p(math.exp(min(a, b) - high))


def python_prefix_beam_search(
    frames: list[list[float]], blank: int, beam_width: int
) -> list[tuple[tuple[int, ...], float]]:
    """(labeling, total log-probability) of the final beam, best first: the
    algorithm of ops/ctc/ctc_decode.cpp (prefixes as tuples) with its tie rules."""
    beam = [((), 0.0, MINUS_INF)]  # (prefix, p_blank, p_label)
    for frame in frames:
        size = len(beam)
        position = {prefix: i for i, (prefix, _, _) in enumerate(beam)}
        merged_into = {}
        for j, (prefix, _, _) in enumerate(beam):
            if prefix and prefix[:-1] in position:
                merged_into[(position[prefix[:-1]], prefix[-1])] = j
        stays = []
        for prefix, p_blank, p_label in beam:
            total = log_add(p_blank, p_label)
            stay_label = p_label + frame[prefix[-1]] if prefix else MINUS_INF
            stays.append([prefix, total + frame[blank], stay_label])
        candidates = []
        for i, (prefix, p_blank, p_label) in enumerate(beam):
            total = log_add(p_blank, p_label)
            for c in range(len(frame)):
                if c == blank:
                    continue
                base = p_blank if prefix and c == prefix[-1] else total
                score = base + frame[c]
                if (i, c) in merged_into:
                    stay = stays[merged_into[(i, c)]]
                    stay[2] = log_add(stay[2], score)
                elif score > MINUS_INF:
                    candidates.append((score, size + i * len(frame) + c, prefix + (c,)))
        for i, (_, p_blank, p_label) in enumerate(stays):
            candidates.append((log_add(p_blank, p_label), i, None))
        candidates.sort(key=lambda candidate: (-candidate[0], candidate[1]))
        beam = []
        for score, order, prefix in candidates[:beam_width]:
            if order < size:
                beam.append(tuple(stays[order]))
            else:
                beam.append((prefix, MINUS_INF, score))
    ranked = [(prefix, log_add(p_blank, p_label)) for prefix, p_blank, p_label in beam]
    return sorted(ranked, key=lambda item: -item[1])  # stable: ties keep beam order


def python_beam_search(
    log_probs: Tensor, input_lengths: Tensor, beam_width: int, blank: int, top_k: int
) -> tuple[Tensor, Tensor, Tensor]:
    batch, steps, _ = log_probs.shape
    labels = torch.full((batch, top_k, steps), -1, dtype=torch.int64)
    lengths = torch.zeros((batch, top_k), dtype=torch.int64)
    scores = torch.full((batch, top_k), MINUS_INF, dtype=torch.float64)
    for b in range(batch):
        ranked = python_prefix_beam_search(_frames(log_probs, input_lengths, b), blank, beam_width)
        for k, (prefix, total) in enumerate(ranked[:top_k]):
            labels[b, k, : len(prefix)] = torch.tensor(prefix, dtype=torch.int64)
            lengths[b, k] = len(prefix)
            scores[b, k] = total
    return labels, lengths, scores.to(log_probs.dtype)


# ---- strategies ----------------------------------------------------------------------


@st.composite
def ctc_frames(draw: st.DrawFn, large: bool = False, min_classes: int = 1) -> tuple:
    """``(log_probs [B, T, C], input_lengths [B], blank)``: each frame a
    normalised distribution (log_softmax of random logits; sometimes integer
    logits, so frames have tied maxima; sometimes classes at probability 0,
    -inf); frames past each length NaN (the kernel must never read them)."""
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    if large:
        batch, steps, classes = (
            draw(st.integers(8, 16)),
            draw(st.integers(20, 40)),
            draw(st.integers(max(min_classes, 4), 8)),
        )
    else:
        batch, steps, classes = (
            draw(st.integers(0, 4)),
            draw(st.integers(0, 6)),
            draw(st.integers(min_classes, 4)),
        )
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        logits = torch.randint(0, 3, (batch, steps, classes), generator=generator).double()
    else:
        logits = torch.randn((batch, steps, classes), generator=generator, dtype=torch.float64) * 2
    if classes > 1 and draw(st.booleans()):  # some classes impossible in some frames
        impossible = torch.rand((batch, steps, classes), generator=generator) < 0.2
        impossible[..., 0] = False  # keep every frame normalisable
        logits[impossible] = MINUS_INF
    log_probs = logits.log_softmax(dim=-1).to(dtype)
    input_lengths = torch.randint(0, steps + 1, (batch,), generator=generator)
    for b, length in enumerate(input_lengths.tolist()):
        log_probs[b, length:] = math.nan
    blank = draw(st.integers(0, classes - 1))
    return (
        with_layout(log_probs, draw(st.sampled_from(LAYOUTS))),
        with_layout(input_lengths, draw(st.sampled_from(LAYOUTS))),
        blank,
    )


@st.composite
def forced_align_args(draw: st.DrawFn, large: bool = False) -> tuple:
    """Frames plus transcripts that fit them (tokens + repeats <= frames),
    padded with arbitrary classes past each length."""
    log_probs, input_lengths, blank = draw(ctc_frames(large=large))
    batch, _, classes = log_probs.shape
    dtype = draw(st.sampled_from([torch.int32, torch.int64]))
    tokens_of = [c for c in range(classes) if c != blank]
    transcripts = []
    for b in range(batch):
        frames = int(input_lengths[b])
        transcript = (
            draw(st.lists(st.sampled_from(tokens_of), max_size=frames)) if tokens_of else []
        )
        while len(transcript) + sum(x == y for x, y in zip(transcript, transcript[1:])) > frames:
            transcript.pop()
        transcripts.append(transcript)
    width = max(map(len, transcripts), default=0) + draw(st.integers(0, 2))
    targets = torch.randint(0, classes, (batch, width), dtype=dtype)
    for b, transcript in enumerate(transcripts):
        targets[b, : len(transcript)] = torch.tensor(transcript, dtype=dtype)
    target_lengths = torch.tensor(list(map(len, transcripts)), dtype=torch.int64)
    return (
        log_probs,
        with_layout(targets, draw(st.sampled_from(LAYOUTS))),
        input_lengths,
        target_lengths,
        blank,
    )


@st.composite
def greedy_args(draw: st.DrawFn, large: bool = False) -> tuple:
    return draw(ctc_frames(large=large))


@st.composite
def beam_args(draw: st.DrawFn, large: bool = False) -> tuple:
    log_probs, input_lengths, blank = draw(ctc_frames(large=large))
    beam_width = draw(st.integers(1, 8))
    return log_probs, input_lengths, beam_width, blank, draw(st.integers(1, beam_width))


# ---- bad inputs ----------------------------------------------------------------------


def frames_bad_inputs(
    op: str, log_probs: Tensor, input_lengths: Tensor, blank: int
) -> list[tuple[str, Tensor, Tensor, int, str]]:
    """(description, log_probs, input_lengths, blank, message[, error class: a
    TypeError where given, else ValueError]) every CTC op refuses."""
    batch, steps, classes = log_probs.shape
    cases = [
        (
            "integer log_probs",
            log_probs.nan_to_num().long(),
            input_lengths,
            blank,
            rf"{op}: argument 'log_probs' must be float32 or float64, got int64",
            TypeError,
        ),
        (
            "2-D log_probs",
            log_probs[0] if batch else log_probs.flatten(1),
            input_lengths,
            blank,
            rf"{op}: argument 'log_probs' must be a 3-D tensor \[B, T, C\], got 2-D",
        ),
        (
            "int32 input_lengths",
            log_probs,
            input_lengths.int(),
            blank,
            rf"{op}: argument 'input_lengths' must be int64, got int32",
            TypeError,
        ),
        (
            "input_lengths of another batch",
            log_probs,
            torch.zeros(batch + 1, dtype=torch.int64),
            blank,
            rf"{op}: argument 'input_lengths' has size {batch + 1} in dimension 0",
        ),
        (
            "blank outside the classes",
            log_probs,
            input_lengths,
            classes,
            rf"{op}: argument 'blank' must be in \[0, {classes}\)",
        ),
        (
            "negative blank",
            log_probs,
            input_lengths,
            -1,
            rf"{op}: argument 'blank' must be in \[0, {classes}\)",
        ),
    ]
    if batch == 0:
        return cases
    last = batch - 1
    too_long = input_lengths.clone()
    too_long[last] = steps + 1
    cases.append(
        (
            "input length beyond T",
            log_probs,
            too_long,
            blank,
            rf"{op}: input_lengths\[{last}\] = {steps + 1} is outside \[0, {steps}\]",
        )
    )
    if steps > 0:
        with_nan = log_probs.nan_to_num(nan=-1.0)
        with_nan[last, steps - 1, classes - 1] = math.nan
        full = torch.full((batch,), steps, dtype=torch.int64)
        cases.append(
            (
                "NaN log-probability",
                with_nan,
                full,
                blank,
                rf"{op}: log_probs\[{last}\] contains NaN or \+inf",
            )
        )
    return cases


def forced_align_bad_inputs(args: tuple) -> list[BadInput]:
    log_probs, targets, input_lengths, target_lengths, blank = args
    op = "mt::ctc_forced_align"
    cases = []
    for description, lp, lengths, b, match, *error in frames_bad_inputs(
        op, log_probs, input_lengths, blank
    ):
        if description == "NaN log-probability":  # with transcripts that fit the full length
            continue
        cases.append(
            BadInput(description, (lp, targets, lengths, target_lengths, b), match, *error)
        )
    batch, steps, classes = log_probs.shape
    cases += [
        BadInput(
            "float targets",
            (log_probs, targets.double(), input_lengths, target_lengths, blank),
            rf"{op}: argument 'targets' must be int32 or int64 token ids, got float64",
            error=TypeError,
        ),
        BadInput(
            "1-D targets",
            (log_probs, targets.flatten(), input_lengths, target_lengths, blank),
            rf"{op}: argument 'targets' must be a 2-D tensor \[B, L\], got 1-D",
        ),
        BadInput(
            "int32 target_lengths",
            (log_probs, targets, input_lengths, target_lengths.int(), blank),
            rf"{op}: argument 'target_lengths' must be int64, got int32",
            error=TypeError,
        ),
    ]
    if batch == 0:
        return cases
    last = batch - 1
    too_long = target_lengths.clone()
    too_long[last] = targets.shape[1] + 1
    cases.append(
        BadInput(
            "target length beyond L",
            (log_probs, targets, input_lengths, too_long, blank),
            rf"{op}: target_lengths\[{last}\] = {targets.shape[1] + 1} is outside",
        )
    )
    if steps == 0 or classes < 2:
        return cases
    # One token of item `last` on its full frames: then a blank, an
    # out-of-range class, and more tokens than frames.
    full = torch.full((batch,), steps, dtype=torch.int64)
    no_tokens = torch.zeros(batch, dtype=torch.int64)
    clean = log_probs.nan_to_num(nan=-1.0)
    one = no_tokens.clone()
    one[last] = 1
    token = (blank + 1) % classes
    wide = torch.full((batch, steps + 1), token, dtype=targets.dtype)
    wide_blank, wide_outside = wide.clone(), wide.clone()
    wide_blank[last, 0] = blank
    wide_outside[last, 0] = classes
    every = no_tokens.clone()
    every[last] = steps + 1
    with_nan = clean.clone()
    with_nan[last, steps - 1, classes - 1] = math.nan
    return cases + [
        BadInput(
            "the blank in a transcript",
            (clean, wide_blank, full, one, blank),
            rf"{op}: targets\[{last}, 0\] is the blank \({blank}\)",
        ),
        BadInput(
            "a token outside the classes",
            (clean, wide_outside, full, one, blank),
            rf"{op}: targets\[{last}, 0\] = {classes} is outside \[0, {classes}\)",
        ),
        BadInput(
            "a transcript longer than its frames",
            (clean, wide, full, every, blank),
            rf"{op}: item {last} cannot be aligned",
        ),
        BadInput(
            "NaN log-probability",
            (
                with_nan,
                wide,
                full,
                no_tokens,
                blank,
            ),
            rf"{op}: log_probs\[{last}\] contains NaN or \+inf",
        ),
    ]


def greedy_bad_inputs(args: tuple) -> list[BadInput]:
    log_probs, input_lengths, blank = args
    return [
        BadInput(description, (lp, lengths, b), match, *error)
        for description, lp, lengths, b, match, *error in frames_bad_inputs(
            "mt::ctc_greedy_decode", log_probs, input_lengths, blank
        )
    ]


def beam_bad_inputs(args: tuple) -> list[BadInput]:
    log_probs, input_lengths, beam_width, blank, top_k = args
    op = "mt::ctc_beam_search"
    cases = [
        BadInput(description, (lp, lengths, beam_width, b, top_k), match, *error)
        for description, lp, lengths, b, match, *error in frames_bad_inputs(
            op, log_probs, input_lengths, blank
        )
    ]
    return cases + [
        BadInput(
            "beam_width 0",
            (log_probs, input_lengths, 0, blank, 1),
            rf"{op}: argument 'beam_width' must be >= 1, got 0",
        ),
        BadInput(
            "top_k above the beam width",
            (log_probs, input_lengths, beam_width, blank, beam_width + 1),
            rf"{op}: argument 'top_k' must be in \[1, {beam_width}\]",
        ),
    ]


def _compare_scores(actual: Any, expected: Any, args: tuple) -> None:
    """Labels and lengths exactly; scores to the rounding of their dtype
    (both sides sum in float64 and round once)."""
    for actual_part, expected_part in zip(actual, expected):
        if expected_part.is_floating_point():
            torch.testing.assert_close(actual_part, expected_part, rtol=1e-6, atol=1e-6)
        else:
            assert torch.equal(actual_part, expected_part)


SPECS = [
    OpSpec(
        name="ctc_forced_align",
        reference=python_forced_align,
        sample_args=forced_align_args,
        bad_inputs=forced_align_bad_inputs,
        compare=_compare_scores,
    ),
    OpSpec(
        name="ctc_greedy_decode",
        reference=python_greedy_decode,
        sample_args=greedy_args,
        bad_inputs=greedy_bad_inputs,
    ),
    OpSpec(
        name="ctc_beam_search",
        reference=python_beam_search,
        sample_args=beam_args,
        bad_inputs=beam_bad_inputs,
        compare=_compare_scores,
    ),
]
