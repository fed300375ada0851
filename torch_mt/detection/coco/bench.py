"""The COCO evaluation benchmark workloads: COCO-val-sized bbox and keypoint
sets, end to end from the dicts, against pycocotools and faster-coco-eval."""

from __future__ import annotations

import torch
from torch import Tensor

from ...bench.workload import Arm, Workload, peer, small_workload
from .bench_rows import evaluation_rows
from .mean_ap import MeanAveragePrecision, to_xywh
from .offsets import offsets_of


def _owners(counts: Tensor, det_image: Tensor, generator: torch.Generator) -> Tensor:
    """For each detection, a random ground-truth object of its image (its
    index among all objects; clamped where the image has none)."""
    first = offsets_of(counts)[:-1]
    spread = torch.rand(len(det_image), generator=generator) * counts[det_image].clamp(min=1)
    return (first[det_image] + spread.long()).clamp(max=max(int(counts.sum()) - 1, 0))


#: COCO's 80 categories, named as a COCO file names them (vernier's strict
#: schema needs the names; hotcoco prints a line for each one without).
CATEGORIES = [{"id": c, "name": f"class {c}"} for c in range(1, 81)]


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
    pick = _owners(counts, det_image, generator)  # a ground-truth box of the same image
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
        "categories": CATEGORIES,
        "annotations": annotations,
    }
    return gt, results


def keypoints_like(images: int, generator: torch.Generator) -> tuple[dict, list]:
    """A COCO-val-sized person keypoint set: ``images`` images, 0-4 people an
    image (17 keypoints, each visible with probability 0.6; 10% with none
    visible), and 20 detections an image, 70% of them noisy copies of a
    person's keypoints. Returns ``(gt dict, results list)``."""
    counts = torch.randint(0, 5, (images,), generator=generator)
    people = int(counts.sum())
    image_of = torch.repeat_interleave(torch.arange(images), counts)
    corner = torch.rand(people, 2, generator=generator) * torch.tensor([500.0, 350.0])
    size = 20 + torch.rand(people, 2, generator=generator) * 120
    boxes = torch.cat([corner, size], 1).double()
    xy = corner[:, None] + torch.rand(people, 17, 2, generator=generator) * size[:, None]
    visible = (torch.rand(people, 17, generator=generator) < 0.6) & (
        torch.rand(people, 1, generator=generator) >= 0.1
    )
    truth_points = torch.cat([xy.round() * visible[..., None], 2.0 * visible[..., None]], 2)
    annotations = [
        {
            "id": n + 1,
            "image_id": i,
            "category_id": 1,
            "bbox": b,
            "area": b[2] * b[3] * 0.7,
            "iscrowd": 0,
            "keypoints": [int(v) for v in k],
            "num_keypoints": int(nk),
        }
        for n, (i, b, k, nk) in enumerate(
            zip(
                image_of.tolist(),
                boxes.tolist(),
                truth_points.flatten(1).tolist(),
                visible.sum(1).tolist(),
            )
        )
    ]
    per_image = 20
    det_image = torch.arange(images).repeat_interleave(per_image)
    pick = _owners(counts, det_image, generator)
    near = (torch.rand(len(det_image), generator=generator) < 0.7) & (counts[det_image] > 0)
    anywhere = torch.rand(len(det_image), 17, 2, generator=generator) * 600
    noisy = xy[pick] + torch.randn(len(det_image), 17, 2, generator=generator) * 4 if people else 0
    det_xy = torch.where(near[:, None, None], noisy, anywhere)
    det_points = torch.cat([det_xy, torch.ones(len(det_image), 17, 1)], 2).double()
    scores = torch.rand(len(det_image), generator=generator, dtype=torch.float64)
    results = [
        {"image_id": i, "category_id": 1, "keypoints": k, "score": s}
        for i, k, s in zip(det_image.tolist(), det_points.flatten(1).tolist(), scores.tolist())
    ]
    gt = {
        "images": [{"id": i, "width": 640, "height": 480} for i in range(images)],
        "categories": [{"id": 1, "name": "person"}],
        "annotations": annotations,
    }
    return gt, results


def rle_string(runs: list) -> str:
    """COCO's compressed RLE string of a list of runs (maskApi's rleToString:
    from the fourth run on, the difference to the run two before; 5 bits a
    character from '0', bit 5 to continue, bit 4 the sign of the last)."""
    out = []
    for i, value in enumerate(runs):
        value -= runs[i - 2] if i > 2 else 0
        more = True
        while more:
            c = value & 0x1F
            value >>= 5
            more = value != -1 if c & 0x10 else value != 0
            out.append(chr((c | 0x20 if more else c) + 48))
    return "".join(out)


def _rectangle_runs(x0: int, y0: int, x1: int, y1: int, height: int, width: int) -> list:
    """Runs of the rectangle [x0, x1) x [y0, y1) in a column-major mask."""
    tall = y1 - y0
    runs = [x0 * height + y0, tall]
    for _ in range(x1 - x0 - 1):
        runs += [height - tall, tall]
    runs.append(height * width - (x1 - 1) * height - y1)
    return runs


def segm_like(images: int, generator: torch.Generator) -> tuple[dict, list]:
    """A segm set: ``images`` 640 x 480 images, 80 categories, 0-14
    ground-truth objects an image as 12-vertex polygons (1% crowds as
    uncompressed RLEs), and 100 results an image as a detector gives them:
    a bbox and a compressed RLE string, 60% of them near an object."""
    height, width = 480, 640
    counts = torch.randint(0, 15, (images,), generator=generator).tolist()
    annotations, results = [], []
    angles = torch.linspace(0, 2 * torch.pi, 13)[:-1]
    for image in range(images):
        objects = []
        for _ in range(counts[image]):
            cx, cy = (
                float(torch.rand(1, generator=generator)) * 600,
                float(torch.rand(1, generator=generator) * 440),
            )
            rx, ry = (4 + torch.rand(2, generator=generator) ** 2 * 150).tolist()
            xs = (cx + rx * angles.cos()).clamp(0, width - 1)
            ys = (cy + ry * angles.sin()).clamp(0, height - 1)
            x0, y0, x1, y1 = float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())
            category = int(torch.randint(1, 81, (1,), generator=generator))
            crowd = bool(torch.rand(1, generator=generator) < 0.01)
            box = [x0, y0, x1 - x0, y1 - y0]
            if crowd:
                rect = (int(x0), int(y0), int(x1) + 1, int(y1) + 1)
                segmentation = {
                    "size": [height, width],
                    "counts": _rectangle_runs(*rect, height, width),
                }
            else:
                segmentation = [torch.stack([xs, ys], 1).flatten().tolist()]
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image,
                    "category_id": category,
                    "segmentation": segmentation,
                    "bbox": box,
                    "area": 3.14159 * rx * ry * 0.9,
                    "iscrowd": int(crowd),
                }
            )
            objects.append((box, category))
        for _ in range(100):
            near = objects and float(torch.rand(1, generator=generator)) < 0.6
            if near:
                (x, y, w, h), category = objects[
                    int(torch.randint(0, len(objects), (1,), generator=generator))
                ]
                jitter = (1 + 0.1 * torch.randn(4, generator=generator)).tolist()
                x, y, w, h = x * jitter[0], y * jitter[1], w * jitter[2], h * jitter[3]
            else:
                x, y = (
                    float(torch.rand(1, generator=generator)) * 600,
                    float(torch.rand(1, generator=generator)) * 440,
                )
                w, h = (4 + torch.rand(2, generator=generator) ** 2 * 300).tolist()
                category = int(torch.randint(1, 81, (1,), generator=generator))
            x0, y0 = min(max(int(x), 0), width - 1), min(max(int(y), 0), height - 1)
            x1, y1 = min(max(int(x + w), x0 + 1), width), min(max(int(y + h), y0 + 1), height)
            results.append(
                {
                    "image_id": image,
                    "category_id": category,
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "segmentation": {
                        "size": [height, width],
                        "counts": rle_string(_rectangle_runs(x0, y0, x1, y1, height, width)),
                    },
                    "score": float(torch.rand(1, generator=generator)),
                }
            )
    gt = {
        "images": [{"id": i, "height": height, "width": width} for i in range(images)],
        "categories": CATEGORIES,
        "annotations": annotations,
    }
    return gt, results


def as_metric_inputs(gt: dict, results: list, images: int) -> tuple[list, list]:
    """A bbox set as torchmetrics' ``update`` takes it: per image, float32
    ``xyxy`` boxes, scores and labels; the target with iscrowd and area."""
    preds = [{"boxes": [], "scores": [], "labels": []} for _ in range(images)]
    target = [{"boxes": [], "labels": [], "iscrowd": [], "area": []} for _ in range(images)]
    for result in results:
        x, y, w, h = result["bbox"]
        item = preds[result["image_id"]]
        item["boxes"].append([x, y, x + w, y + h])
        item["scores"].append(result["score"])
        item["labels"].append(result["category_id"])
    for annotation in gt["annotations"]:
        x, y, w, h = annotation["bbox"]
        item = target[annotation["image_id"]]
        item["boxes"].append([x, y, x + w, y + h])
        item["labels"].append(annotation["category_id"])
        item["iscrowd"].append(annotation["iscrowd"])
        item["area"].append(annotation["area"])

    def tensors(item: dict) -> dict:
        out = {key: torch.tensor(value) for key, value in item.items()}
        out["boxes"] = out["boxes"].reshape(-1, 4).float()
        return out

    return [tensors(item) for item in preds], [tensors(item) for item in target]


def _torchmetrics_map(preds: list, target: list) -> list:
    metric = peer("torchmetrics.detection").MeanAveragePrecision(backend="pycocotools")
    metric.update(preds, target)
    return _map_values(metric.compute())


def _torchmetrics_compute_path(preds: list, target: list) -> list:
    """torchmetrics' update state and compute (its COCO conversion, then
    pycocotools), without the constructor that needs torchvision: the boxes
    converted as its ``box_convert`` call does."""
    helpers = peer("torchmetrics.detection.helpers")
    result = helpers._calculate_map_with_coco(
        helpers.CocoBackend("pycocotools"),
        [t["labels"] for t in target], [to_xywh(t["boxes"], "xyxy") for t in target], [],
        [t["iscrowd"] for t in target], [t["area"] for t in target],
        [p["labels"] for p in preds], [to_xywh(p["boxes"], "xyxy") for p in preds], [],
        [p["scores"] for p in preds], ("bbox",), "macro",
        torch.linspace(0.5, 0.95, 10).tolist(), torch.linspace(0.0, 1.0, 101).tolist(),
        [1, 10, 100], False, False,
    )  # fmt: skip
    return _map_values(result)


def _torch_mt_map(preds: list, target: list) -> list:
    metric = MeanAveragePrecision()
    metric.update(preds, target)
    return _map_values(metric.compute())


def _map_values(result: dict) -> list:
    return [float(result[key]) for key in ("map", "map_50", "map_75", "mar_100")]


def coco_headline() -> Workload:
    """COCO bbox evaluation of 500 images (the full run's 5000 keep
    pycocotools' arm a minute long), from the dicts."""
    gt, results = coco_like(500, torch.Generator().manual_seed(5))
    return _bbox_rows(gt, results, 500)[0]


def _bbox_rows(gt: dict, results: list, images: int) -> list[Workload]:
    """From the dicts, then from the JSON files."""
    return evaluation_rows(
        f"coco_evaluate bbox, {images} images x 80 categories",
        f"COCO bbox mAP of {len(results)} detections against {len(gt['annotations'])} boxes",
        ("coco_match", "coco_accumulate"),
        gt,
        results,
        "bbox",
    )


def coco_workloads(quick: bool) -> list[Workload]:
    """COCO bbox, keypoint and segm evaluation end to end, from the dicts and
    from the JSON files (5000 images, COCO-val-sized; segm 500), against
    pycocotools, faster-coco-eval, hotcoco, ultrafast-pycocotools and vernier;
    MeanAveragePrecision against torchmetrics; and the operators on a tiny set."""
    generator = torch.Generator().manual_seed(5)
    images = 200 if quick else 5000
    gt, results = coco_like(images, generator)
    evaluation = _bbox_rows(gt, results, images)
    gt_kp, results_kp = keypoints_like(images, generator)
    keypoints = evaluation_rows(
        f"coco_evaluate keypoints, {images} images",
        f"COCO keypoint mAP (OKS) of {len(results_kp)} detections against "
        f"{len(gt_kp['annotations'])} people",
        ("coco_oks_exponents", "coco_match", "coco_accumulate"),
        gt_kp,
        results_kp,
        "keypoints",
    )
    segm_images = 50 if quick else 500
    gt_segm, results_segm = segm_like(segm_images, generator)
    segm = evaluation_rows(
        f"coco_evaluate segm, {segm_images} images x 80 categories",
        f"COCO mask mAP of {len(results_segm)} RLE results against "
        f"{len(gt_segm['annotations'])} polygons (rasterising included)",
        ("coco_rle_from_strings", "coco_rle_from_polygons", "coco_mask_iou", "coco_match"),
        gt_segm,
        results_segm,
        "segm",
    )
    map_images = 500 if quick else 5000
    preds, target = as_metric_inputs(*coco_like(map_images, generator), map_images)
    mean_ap = Workload(
        name=f"MeanAveragePrecision bbox, {map_images} images x 80 categories",
        description="torchmetrics' metric: update with per-image tensors, then compute",
        ops=("coco_match", "coco_accumulate"),
        arms=[
            Arm(
                "torchmetrics MeanAveragePrecision (pycocotools)",
                lambda: _torchmetrics_map(preds, target),
                requires=("torchmetrics", "torchvision", "pycocotools"),
            ),
            Arm(
                "torchmetrics' compute path (pycocotools), no torchvision",
                lambda: _torchmetrics_compute_path(preds, target),
                requires=("torchmetrics", "pycocotools"),
            ),
        ],
        torch_mt=lambda: _torch_mt_map(preds, target),
        normalise=lambda values: values,
    )
    # Tiny calls of the operators: one category of two images.
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
    people = torch.tensor([[[1.0, 1, 2], [5, 5, 2]], [[3.0, 4, 0], [0, 0, 0]]], dtype=f64)
    oks_args = (
        people, people, boxes[:2], torch.tensor([100.0, 50.0], dtype=f64),
        torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 0, 1]), torch.tensor([0.1, 0.2], dtype=f64),
    )  # fmt: skip
    square = torch.tensor([11, 7, 3, 7, 3, 7, 3, 7, 3, 7, 3, 7, 3, 7, 22])
    two = torch.tensor([0, 15, 30])
    text = b";7300000000000c0"
    chars, char_offsets = (
        torch.frombuffer(bytearray(text), dtype=torch.uint8),
        torch.tensor([0, 16]),
    )
    polygon = torch.tensor([1.0, 1, 8, 1, 8, 8, 1, 8], dtype=f64)
    diagonals = torch.eye(10, dtype=torch.bool).repeat(2, 1, 1)
    rle_small = [
        small_workload(
            "coco_rle_from_strings",
            lambda: torch.ops.mt.coco_rle_from_strings(chars, char_offsets),
        ),
        small_workload(
            "coco_rle_from_polygons",
            lambda: torch.ops.mt.coco_rle_from_polygons(
                polygon, torch.tensor([0, 8]), torch.tensor([0, 1]), torch.tensor([[10, 10]])
            ),
        ),
        small_workload(
            "coco_rle_area_bbox",
            lambda: torch.ops.mt.coco_rle_area_bbox(
                square.repeat(2), two, torch.tensor([[10, 10]] * 2)
            ),
        ),
        small_workload(
            "coco_mask_iou",
            lambda: torch.ops.mt.coco_mask_iou(
                square.repeat(2), two, square, two[:2], torch.tensor([False]),
                torch.tensor([0, 1]), torch.tensor([0, 0]),
            ),
        ),
        small_workload("coco_rle_encode", lambda: torch.ops.mt.coco_rle_encode(diagonals)),
        small_workload(
            "coco_rle_decode", lambda: torch.ops.mt.coco_rle_decode(square.repeat(2), two, 10, 10)
        ),
    ]  # fmt: skip
    return [
        *evaluation,
        *keypoints,
        *segm,
        mean_ap,
        *rle_small,
        small_workload("coco_match", lambda: torch.ops.mt.coco_match(*match_args)),
        small_workload("coco_oks_exponents", lambda: torch.ops.mt.coco_oks_exponents(*oks_args)),
        small_workload(
            "coco_accumulate",
            lambda: torch.ops.mt.coco_accumulate(
                scores, matched, ignored, offsets, regular, 1, points, [1, 10, 100]
            ),
        ),
    ]
