"""The decoding family's benchmark workloads (``python -m torch_mt.bench``)."""

from __future__ import annotations

import torch

from ..bench.workload import Arm, Workload, small_workload
from .reference import viterbi_loop


def headline() -> Workload:
    """The family's row of the headline run (``make bench``)."""
    return _viterbi_workload(quick=False, generator=torch.Generator().manual_seed(0))


def _viterbi_workload(quick: bool, generator: torch.Generator) -> Workload:
    """CRF decoding of 256 sequences of 200 steps over 32 tags, float32."""
    batch, steps, tags = (64, 50, 32) if quick else (256, 200, 32)
    emissions = torch.randn(batch, steps, tags, generator=generator)
    transitions = torch.randn(tags, tags, generator=generator)
    lengths = torch.randint(steps // 2, steps + 1, (batch,), generator=generator)
    return Workload(
        name=f"viterbi_decode, {batch} x {steps} steps x {tags} tags",
        description=f"Viterbi decoding of {batch} sequences of up to {steps} steps",
        ops=("viterbi_decode",),
        arms=[
            Arm(
                "pure PyTorch: loop over time steps",
                lambda: viterbi_loop(emissions, transitions, lengths),
            )
        ],
        torch_mt=lambda: torch.ops.mt.viterbi_decode(emissions, transitions, lengths, None, None),
        normalise=lambda result: result[0].tolist(),
    )


def workloads(quick: bool) -> list[Workload]:
    """CRF decoding: 256 sequences of 200 steps over 32 tags, float32; a tiny call."""
    generator = torch.Generator().manual_seed(0)
    decode = _viterbi_workload(quick, generator)
    small_emissions = torch.randn(2, 10, 5, generator=generator)
    small_transitions = torch.randn(5, 5, generator=generator)
    return [
        decode,
        small_workload(
            "viterbi_decode",
            lambda: torch.ops.mt.viterbi_decode(
                small_emissions, small_transitions, None, None, None
            ),
        ),
    ]
