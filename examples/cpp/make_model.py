"""Saves what run_model.cpp runs: a TorchScript model that calls mt operators,
and its inputs (as buffers of a scripted module).

    python examples/cpp/make_model.py OUT_DIR   # writes model.pt and inputs.pt
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

import torch_mt  # noqa: F401  (registers torch.ops.mt for scripting)


class Pipeline(torch.nn.Module):
    """NMS, Hungarian matching, the soft-DTW loss and an edit-distance grid."""

    def forward(
        self,
        boxes: torch.Tensor,
        scores: torch.Tensor,
        match_cost: torch.Tensor,
        alignment_cost: torch.Tensor,
        tokens: torch.Tensor,
        lengths: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        kept = torch.ops.mt.nms(boxes, scores, 0.5)
        rows, cols = torch.ops.mt.linear_sum_assignment(match_cost, None, None, False)
        loss = torch.ops.mt.soft_dtw(alignment_cost, 0.1, None, None)
        distances = torch.ops.mt.edit_distance_pairwise(tokens, tokens, lengths, lengths)
        return kept, rows, cols, loss, distances


class Inputs(torch.nn.Module):
    """Tensors carried to C++ as the buffers of a scripted module."""

    def __init__(self, tensors: dict[str, torch.Tensor]):
        super().__init__()
        for name, tensor in tensors.items():
            self.register_buffer(name, tensor)

    def forward(self) -> int:
        return 0


def example_inputs(seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    corner = torch.rand(200, 2, generator=generator) * 100
    boxes = torch.cat([corner, corner + 5 + torch.rand(200, 2, generator=generator) * 20], 1)
    tokens = torch.randint(0, 4, (16, 30), generator=generator)
    return {
        "boxes": boxes,
        "scores": torch.rand(200, generator=generator),
        "match_cost": torch.rand(8, 20, 12, generator=generator),
        "alignment_cost": torch.rand(6, 40, 30, dtype=torch.float64, generator=generator),
        "tokens": tokens,
        "lengths": torch.randint(0, 31, (16,), generator=generator),
    }


def save(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    torch.jit.save(torch.jit.script(Pipeline()), directory / "model.pt")
    torch.jit.save(torch.jit.script(Inputs(example_inputs())), directory / "inputs.pt")


if __name__ == "__main__":
    save(Path(sys.argv[1]))
