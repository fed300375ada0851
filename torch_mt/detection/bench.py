"""The detection family's benchmark workloads (``python -m torch_mt.bench``)."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import torch
from torch import Tensor

from ..bench.workload import Arm, Workload, all_threads, peer, small_workload
from .coco import coco_evaluate
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


def coco_like(images: int, generator: torch.Generator) -> tuple[dict, list]:
    """A COCO-val-sized bbox set: ``images`` 640 x 480 images, 80 categories,
    0-14 ground-truth boxes an image (1% crowds), and 100 detections an
    image, 60% of them jittered copies of a ground-truth box (its category,
    or another), scores uniform. Returns ``(gt dict, results list)``."""
    counts = torch.randint(0, 15, (images,), generator=generator)
    truths = int(counts.sum())
    image_of = torch.repeat_interleave(torch.arange(images), counts)
    corner = torch.rand(truths, 2, generator=generator) * torch.tensor([600.0, 440.0])
    size = 4 + torch.rand(truths, 2, generator=generator) ** 2 * 300
    boxes = torch.cat([corner, size], 1).double()
    category = torch.randint(1, 81, (truths,), generator=generator)
    crowd = (torch.rand(truths, generator=generator) < 0.01).long()
    annotations = [
        {"id": n + 1, "image_id": i, "category_id": c, "bbox": b, "area": b[2] * b[3], "iscrowd": z}
        for n, (i, c, b, z) in enumerate(
            zip(image_of.tolist(), category.tolist(), boxes.tolist(), crowd.tolist())
        )
    ]
    per_image = 100
    det_image = torch.arange(images).repeat_interleave(per_image)
    near = (torch.rand(images * per_image, generator=generator) < 0.6) & (counts[det_image] > 0)
    # A ground-truth box of the same image for the near ones.
    first = torch.cat([torch.zeros(1, dtype=torch.int64), counts.cumsum(0)[:-1]])
    pick = (
        first[det_image]
        + (
            torch.rand(images * per_image, generator=generator) * counts[det_image].clamp(min=1)
        ).long()
    )
    pick = pick.clamp(max=max(truths - 1, 0))
    random_boxes = torch.cat(
        [
            torch.rand(images * per_image, 2, generator=generator) * torch.tensor([600.0, 440.0]),
            4 + torch.rand(images * per_image, 2, generator=generator) ** 2 * 300,
        ],
        1,
    ).double()
    jitter = 1 + 0.1 * torch.randn(images * per_image, 4, generator=generator).double()
    det_boxes = torch.where(
        near[:, None], boxes[pick] * jitter if truths else random_boxes, random_boxes
    )
    det_boxes[:, 2:] = det_boxes[:, 2:].clamp(min=1)
    other = torch.randint(1, 81, (images * per_image,), generator=generator)
    same = torch.rand(images * per_image, generator=generator) < 0.8
    det_category = torch.where(near & same, category[pick] if truths else other, other)
    scores = torch.rand(images * per_image, generator=generator, dtype=torch.float64)
    results = [
        {"image_id": i, "category_id": c, "bbox": b, "score": s}
        for i, c, b, s in zip(
            det_image.tolist(), det_category.tolist(), det_boxes.tolist(), scores.tolist()
        )
    ]
    gt = {
        "images": [{"id": i, "width": 640, "height": 480} for i in range(images)],
        "categories": [{"id": c} for c in range(1, 81)],
        "annotations": annotations,
    }
    return gt, results


def _pycocotools(gt: dict, results: list) -> list:
    """What users run: COCO, loadRes, evaluate, accumulate, summarize (quiet)."""
    coco_module, eval_module = peer("pycocotools.coco"), peer("pycocotools.cocoeval")
    with contextlib.redirect_stdout(io.StringIO()):
        coco = coco_module.COCO()
        coco.dataset = gt
        coco.createIndex()
        evaluation = eval_module.COCOeval(coco, coco.loadRes(results), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return list(evaluation.stats)


def _faster_coco_eval(gt: dict, results: list) -> list:
    module = peer("faster_coco_eval")
    coco = module.COCO(gt, print_function=lambda *_: None)
    evaluation = module.COCOeval_faster(
        coco, coco.loadRes(results), "bbox", print_function=lambda *_: None
    )
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    return list(evaluation.stats)


def coco_workloads(quick: bool) -> list[Workload]:
    """COCO bbox evaluation end to end from the dicts, COCO-val-sized (5000
    images, 80 categories), against pycocotools and faster-coco-eval; and
    the two operators on a tiny set."""
    generator = torch.Generator().manual_seed(5)
    images = 200 if quick else 5000
    gt, results = coco_like(images, generator)
    evaluation = Workload(
        name=f"coco_evaluate bbox, {images} images x 80 categories",
        description=f"COCO bbox mAP of {len(results)} detections against "
        f"{len(gt['annotations'])} boxes, from the dicts (index building included)",
        ops=("coco_match", "coco_accumulate"),
        arms=[
            Arm(
                "pycocotools COCOeval", lambda: _pycocotools(gt, results), requires=("pycocotools",)
            ),
            Arm(
                "faster-coco-eval COCOeval_faster",
                lambda: _faster_coco_eval(gt, results),
                requires=("faster_coco_eval",),
            ),
        ],
        torch_mt=lambda: coco_evaluate(gt, results).stats.tolist(),
        normalise=lambda stats: [float(value) for value in stats],
        # faster-coco-eval's C++ accumulates in its own order: equal to about 1e-12.
        agree=lambda actual, expected: all(abs(a - b) <= 1e-9 for a, b in zip(actual, expected)),
    )
    # Tiny calls of the two operators: one category of two images.
    f64 = torch.float64
    boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 5, 5]], dtype=f64)
    offsets = torch.tensor([0, 2, 3])
    match_args = (
        boxes, boxes[:, 2] * boxes[:, 3], offsets,
        boxes, boxes[:, 2] * boxes[:, 3], torch.zeros(3, dtype=torch.bool),
        torch.zeros(3, dtype=torch.bool), torch.arange(1, 4), offsets,
        torch.tensor([[0.0, 1e10]], dtype=f64), torch.tensor([0.5, 0.75], dtype=f64),
    )  # fmt: skip
    matched, ignored, regular = torch.ops.mt.coco_match(*match_args)
    scores = torch.tensor([0.9, 0.8, 0.7], dtype=f64)
    points = torch.linspace(0, 1, 101, dtype=f64)
    return [
        evaluation,
        small_workload("coco_match", lambda: torch.ops.mt.coco_match(*match_args)),
        small_workload(
            "coco_accumulate",
            lambda: torch.ops.mt.coco_accumulate(
                scores, matched, ignored, offsets, regular, 1, points, [1, 10, 100]
            ),
        ),
    ]
