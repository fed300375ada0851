"""The detection family's benchmark workloads (``python -m torch_mt.bench``)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..bench.workload import Arm, Workload, all_threads, small_workload
from .coco.bench import coco_headline, coco_workloads
from .reference import nms_loop


def detector_output(
    images: int, boxes: int, objects: int, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """What a detector hands to NMS: per image, ``boxes`` proposals jittered
    around ``objects`` objects of 20-200 px in a 1000 x 1000 image, so most
    proposals overlap a better one. Boxes float32 [images, boxes, 4], scores
    [images, boxes]."""
    centre = torch.rand(images, objects, 2, generator=generator) * 1000
    extent = 20 + torch.rand(images, objects, 2, generator=generator) * 180
    owner = torch.randint(0, objects, (images, boxes, 1), generator=generator).expand(-1, -1, 2)
    owner_extent = extent.gather(1, owner)
    jitter = torch.randn(images, boxes, 2, generator=generator) * 0.15 * owner_extent
    box_centre = centre.gather(1, owner) + jitter
    box_extent = owner_extent * (0.7 + 0.6 * torch.rand(images, boxes, 2, generator=generator))
    corners = torch.cat([box_centre - box_extent / 2, box_centre + box_extent / 2], dim=-1)
    return corners, torch.rand(images, boxes, generator=generator)


def _as_kept_sets(result: Any) -> list[list[int]]:
    """Kept box indices per image, ascending: from a [B, N] keep mask or from
    a list of index tensors (in score order)."""
    if isinstance(result, torch.Tensor):
        return [row.nonzero().flatten().tolist() for row in result]
    return [sorted(kept.tolist()) for kept in result]


def headline() -> Workload:
    """The family's row of the headline run (``make bench``): COCO bbox mAP."""
    return coco_headline()


def workloads(quick: bool) -> list[Workload]:
    """NMS after a detector (32 images x 5000 proposals around 50 objects each),
    batched NMS of one image's 80 categories, and tiny calls."""
    generator = torch.Generator().manual_seed(0)
    images, proposals = (4, 2000) if quick else (32, 5000)
    boxes, scores = detector_output(images, proposals, 50, generator)
    threshold = 0.5
    threads = all_threads()
    nms_workload = Workload(
        name=f"nms, {images} images x {proposals} boxes",
        description=f"NMS of {images} images with {proposals} boxes each "
        "(torch_mt arms: one nms_padded call)",
        ops=("nms", "nms_padded"),
        # No torchvision arm: the registry's torchvision wheels are CUDA builds
        # that do not load with the CPU torch (docs/benchmarks.md).
        arms=[
            Arm(
                "python loop: pure-PyTorch NMS per image",
                lambda: [nms_loop(boxes[i], scores[i], threshold) for i in range(images)],
            ),
            Arm(
                f"python loop: torch_mt.nms per image ({threads} threads)",
                lambda: [torch.ops.mt.nms(boxes[i], scores[i], threshold) for i in range(images)],
                threads=threads,
            ),
        ],
        torch_mt=lambda: torch.ops.mt.nms_padded(boxes, scores, threshold, None),
        normalise=_as_kept_sets,
    )

    # batched_nms: one image's proposals of 80 categories (a COCO detector head).
    categories = 80
    flat_boxes, flat_scores = detector_output(1, 2500 if quick else 20_000, 400, generator)
    flat_boxes, flat_scores = flat_boxes[0], flat_scores[0]
    labels = torch.randint(0, categories, flat_scores.shape, generator=generator)

    def offset_trick() -> Tensor:
        # torchvision's pure-PyTorch batched_nms: shift each category's boxes
        # apart so that one NMS never lets categories suppress each other.
        offsets = labels.to(flat_boxes.dtype) * (flat_boxes.max() + 1)
        return nms_loop(flat_boxes + offsets[:, None], flat_scores, threshold)

    batched_workload = Workload(
        name=f"batched_nms, {flat_scores.numel()} boxes x {categories} categories",
        description=f"NMS per category of {flat_scores.numel()} boxes",
        ops=("batched_nms",),
        arms=[Arm("pure PyTorch: offset trick + NMS loop", offset_trick)],
        torch_mt=lambda: torch.ops.mt.batched_nms(flat_boxes, flat_scores, labels, threshold),
        normalise=lambda kept: sorted(kept.tolist()),
    )
    small_boxes, small_scores = detector_output(2, 30, 5, torch.Generator().manual_seed(3))
    small_labels = torch.randint(0, 3, (30,), generator=generator)
    small = [
        small_workload("nms", lambda: torch.ops.mt.nms(small_boxes[0], small_scores[0], 0.5)),
        small_workload(
            "batched_nms",
            lambda: torch.ops.mt.batched_nms(small_boxes[0], small_scores[0], small_labels, 0.5),
        ),
        small_workload(
            "nms_padded", lambda: torch.ops.mt.nms_padded(small_boxes, small_scores, 0.5, None)
        ),
    ]
    return [nms_workload, batched_workload, *small, *coco_workloads(quick)]
