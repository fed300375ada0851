"""Saves what run_model.cpp runs: a TorchScript model that calls mt operators,
its inputs (as buffers of a scripted module), and the same model exported and
compiled by AOTInductor into a package.

    python examples/cpp/make_model.py OUT_DIR   # writes model.pt, inputs.pt, model.pt2
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


def example_inputs(
    seed: int = 0, boxes: int = 200, matches: int = 8, alignments: int = 6, sequences: int = 16
) -> dict[str, torch.Tensor]:
    """Inputs of Pipeline; the counts are the sizes the exported model keeps dynamic."""
    generator = torch.Generator().manual_seed(seed)
    corner = torch.rand(boxes, 2, generator=generator) * 100
    size = 5 + torch.rand(boxes, 2, generator=generator) * 20
    return {
        "boxes": torch.cat([corner, corner + size], 1),
        "scores": torch.rand(boxes, generator=generator),
        "match_cost": torch.rand(matches, 20, 12, generator=generator),
        "alignment_cost": torch.rand(alignments, 40, 30, dtype=torch.float64, generator=generator),
        "tokens": torch.randint(0, 4, (sequences, 30), generator=generator),
        "lengths": torch.randint(0, 31, (sequences,), generator=generator),
    }


def exported(inputs: dict[str, torch.Tensor]) -> torch.export.ExportedProgram:
    """Pipeline through torch.export with dynamic sizes: the box count, both
    batches and the number of sequences. mt::nms's output size is data
    dependent; its Python fake (torch_mt/detection/__init__.py) gives export an
    unbacked size, which the package then computes at run time."""
    boxes = torch.export.Dim("boxes", min=1, max=100_000)
    sequences = torch.export.Dim("sequences", min=1, max=4096)
    dynamic = {
        "boxes": {0: boxes},
        "scores": {0: boxes},
        "match_cost": {0: torch.export.Dim("matches", min=1, max=4096)},
        "alignment_cost": {0: torch.export.Dim("alignments", min=1, max=4096)},
        "tokens": {0: sequences},
        "lengths": {0: sequences},
    }
    return torch.export.export(Pipeline(), (), kwargs=inputs, dynamic_shapes=dynamic)


def save_package(directory: Path) -> Path:
    """Exports, then compiles with AOTInductor to directory / model.pt2."""
    program = exported(example_inputs())
    path = directory / "model.pt2"
    torch._inductor.aoti_compile_and_package(program, package_path=str(path))
    return path


def save(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    torch.jit.save(torch.jit.script(Pipeline()), directory / "model.pt")
    torch.jit.save(torch.jit.script(Inputs(example_inputs())), directory / "inputs.pt")


if __name__ == "__main__":
    save(Path(sys.argv[1]))
    save_package(Path(sys.argv[1]))
