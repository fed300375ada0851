"""OpSpec of mt::viterbi_decode (ops/decoding/viterbi.cpp), against a plain-Python Viterbi."""

from __future__ import annotations

import math
from typing import Optional

import torch
from hypothesis import strategies as st
from torch import Tensor

from ..testing import LAYOUTS, BadInput, OpSpec, with_layout

OP = "mt::viterbi_decode"


def python_viterbi(
    emissions: Tensor,
    transitions: Tensor,
    lengths: Optional[Tensor] = None,
    start: Optional[Tensor] = None,
    end: Optional[Tensor] = None,
) -> tuple[Tensor, Tensor]:
    """Nested Python loops over floats: best previous tag by scanning tags in
    order and keeping the first strict maximum."""
    batch, steps, k = emissions.shape
    trans = transitions.double().tolist()
    first = start.double().tolist() if start is not None else [0.0] * k
    last = end.double().tolist() if end is not None else [0.0] * k
    tags = torch.full((batch, steps), -1, dtype=torch.int64)
    scores = torch.zeros(batch, dtype=torch.float64)
    for b in range(batch):
        length = int(lengths[b]) if lengths is not None else steps
        if length == 0 or k == 0:
            continue
        emission = emissions[b, :length].double().tolist()
        score = [first[j] + emission[0][j] for j in range(k)]
        back = []
        for t in range(1, length):
            best = [-math.inf] * k
            previous = [0] * k
            for i in range(k):
                for j in range(k):
                    if score[i] + trans[i][j] > best[j]:
                        best[j], previous[j] = score[i] + trans[i][j], i
            score = [best[j] + emission[t][j] for j in range(k)]
            back.append(previous)
        totals = [score[j] + last[j] for j in range(k)]
        tag = max(range(k), key=lambda j: (totals[j], -j))
        scores[b] = totals[tag]
        for t in range(length - 1, -1, -1):
            tags[b, t] = tag
            if t > 0:
                tag = back[t - 1][tag]
    return tags, scores.to(emissions.dtype)


@st.composite
def viterbi_args(draw: st.DrawFn, large: bool = False) -> tuple:
    """(emissions, transitions, lengths, start, end): small integer scores
    (many ties) or continuous ones, some -inf (forbidden moves and tags);
    padding past the lengths is NaN, which the kernel must never read."""
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    if large:
        batch, steps, k = (
            draw(st.integers(16, 40)),
            draw(st.integers(20, 50)),
            draw(st.integers(4, 8)),
        )
    else:
        batch, steps, k = draw(st.integers(0, 4)), draw(st.integers(0, 6)), draw(st.integers(0, 4))
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    ties = draw(st.booleans())

    def scores(*shape: int) -> Tensor:
        if ties:
            values = torch.randint(-2, 3, shape, generator=generator).double()
        else:
            values = torch.randn(shape, generator=generator, dtype=torch.float64)
        forbidden = torch.rand(shape, generator=generator) < draw(st.sampled_from([0.0, 0.2, 0.6]))
        return values.masked_fill(forbidden, -math.inf).to(dtype)

    emissions, transitions = scores(batch, steps, k), scores(k, k)
    start = scores(k) if draw(st.booleans()) else None
    end = scores(k) if draw(st.booleans()) else None
    lengths = None
    if draw(st.booleans()):
        lengths = torch.randint(0, steps + 1, (batch,), generator=generator)
        for b in range(batch):
            emissions[b, int(lengths[b]) :] = math.nan
    layouts = st.sampled_from(LAYOUTS)
    emissions = with_layout(emissions, draw(layouts))
    transitions = with_layout(transitions, draw(layouts))
    return emissions, transitions, lengths, start, end


def viterbi_bad_inputs(args: tuple) -> list[BadInput]:
    emissions, transitions, lengths, start, end = args
    batch, steps, k = emissions.shape
    other = torch.float64 if emissions.dtype == torch.float32 else torch.float32
    cases = [
        BadInput(
            "integer emissions",
            (emissions.long(), transitions, lengths, start, end),
            rf"{OP}: argument 'emissions' must be float32 or float64, got int64",
            error=TypeError,
        ),
        BadInput(
            "2-D emissions",
            (emissions[0] if batch else emissions.flatten(0, 1), transitions, lengths, start, end),
            rf"{OP}: argument 'emissions' must be a 3-D tensor \[B, T, K\], got 2-D",
        ),
        BadInput(
            "transitions of another dtype",
            (emissions, transitions.to(other), lengths, start, end),
            rf"{OP}: argument 'transitions' must be {str(emissions.dtype)[6:]}",
            error=TypeError,
        ),
        BadInput(
            "transitions of another size",
            (emissions, torch.zeros(k + 1, k + 1, dtype=emissions.dtype), lengths, start, end),
            rf"{OP}: argument 'transitions' has size {k + 1} in dimension 0 but the number "
            rf"of tags K of 'emissions' is {k}",
        ),
        BadInput(
            "start of another size",
            (emissions, transitions, lengths, torch.zeros(k + 1, dtype=emissions.dtype), end),
            rf"{OP}: argument 'start' has size {k + 1} in dimension 0",
        ),
        BadInput(
            "int32 lengths",
            (emissions, transitions, torch.zeros(batch, dtype=torch.int32), start, end),
            rf"{OP}: argument 'lengths' must be int64, got int32",
            error=TypeError,
        ),
        BadInput(
            "lengths on another device",
            (
                emissions,
                transitions,
                torch.zeros(batch, dtype=torch.int64, device="meta"),
                start,
                end,
            ),
            rf"{OP}: argument 'lengths' is on meta but 'emissions' is on cpu",
        ),
    ]
    if k > 0:
        with_nan = transitions.clone()
        with_nan[0, -1] = math.nan
        plus_inf = torch.zeros(k, dtype=emissions.dtype)
        plus_inf[-1] = math.inf
        cases += [
            BadInput(
                "NaN transition",
                (emissions, with_nan, lengths, start, end),
                rf"{OP}: argument 'transitions' contains NaN",
            ),
            BadInput(
                "+inf end score",
                (emissions, transitions, lengths, start, plus_inf),
                rf"{OP}: argument 'end' contains \+inf",
            ),
        ]
    if batch > 0:
        too_long = torch.full((batch,), steps, dtype=torch.int64)
        too_long[-1] = steps + 1
        cases.append(
            BadInput(
                "length beyond the padding",
                (emissions, transitions, too_long, start, end),
                rf"{OP}: lengths\[{batch - 1}\] = {steps + 1} is outside",
            )
        )
    if batch > 0 and steps > 0 and k > 0:
        clean = emissions.nan_to_num(nan=0.0, posinf=math.inf, neginf=-math.inf).clone()
        clean[-1, -1, 0] = math.nan
        cases.append(
            BadInput(
                "NaN emission",
                (clean, transitions, None, start, end),
                rf"{OP}: emissions\[{batch - 1}\] contains NaN",
            )
        )
    return cases


SPECS = [
    OpSpec(
        name="viterbi_decode",
        reference=python_viterbi,
        sample_args=viterbi_args,
        bad_inputs=viterbi_bad_inputs,
    ),
]
