"""torch_mt.MeanAveragePrecision against torchmetrics 1.9's own computation
(``backend="pycocotools"``): the same dicts fed to torchmetrics' COCO
conversion and evaluation (``detection.helpers._calculate_map_with_coco``),
keys and float32 values equal.

Why not ``torchmetrics.detection.MeanAveragePrecision`` itself: its
constructor needs torchvision, and the registry's torchvision 0.28 wheel
links CUDA's libc10_cuda, so it does not import beside torch 2.13 CPU (and
then breaks ``import torchmetrics`` too). torchvision's only part in the
metric is ``box_convert``, restated here from its definition; everything
after it (the COCO datasets, pycocotools' evaluation, the per-class loop,
the key names) is torchmetrics' code."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
import torchmetrics.detection.helpers as torchmetrics_helpers  # the test extra pins 1.9.0
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils

import torch_mt


def box_convert(boxes: torch.Tensor, box_format: str) -> torch.Tensor:
    """torchvision.ops.box_convert(boxes, box_format, "xywh"): through
    (x1, y1, x2, y2), in the boxes' dtype."""
    if box_format == "xywh":
        return boxes.clone()
    if box_format == "cxcywh":
        cx, cy, w, h = boxes.unbind(-1)
        boxes = torch.stack((cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h), dim=-1)
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack((x1, y1, x2 - x1, y2 - y1), dim=-1)


def torchmetrics_compute(preds, target, iou_type, box_format, class_metrics, average, mdt):
    """torchmetrics' update (its _get_safe_item_values with box_convert
    restated) and compute, squeezed as its Metric wrapper does."""
    state = {k: [] for k in ("db", "dm", "ds", "dl", "gb", "gm", "gl", "gc", "ga")}
    backend = torchmetrics_helpers.CocoBackend("pycocotools")

    def item_values(item):
        boxes = masks = None
        if "bbox" in iou_type:
            boxes = item["boxes"]
            boxes = box_convert(boxes, box_format) if boxes.numel() > 0 else boxes
        if "segm" in iou_type:
            masks = []
            for mask in item["masks"].cpu().numpy():
                rle = mask_utils.encode(np.asfortranarray(mask))
                masks.append((tuple(rle["size"]), rle["counts"]))
            masks = tuple(masks)
        return boxes, masks

    for item in preds:
        boxes, masks = item_values(item)
        if boxes is not None:
            state["db"].append(boxes)
        if masks is not None:
            state["dm"].append(masks)
        state["dl"].append(item["labels"])
        state["ds"].append(item["scores"])
    for item in target:
        boxes, masks = item_values(item)
        if boxes is not None:
            state["gb"].append(boxes)
        if masks is not None:
            state["gm"].append(masks)
        state["gl"].append(item["labels"])
        state["gc"].append(item.get("iscrowd", torch.zeros_like(item["labels"])))
        state["ga"].append(item.get("area", torch.zeros_like(item["labels"])))
    result = torchmetrics_helpers._calculate_map_with_coco(
        backend, state["gl"], state["gb"], state["gm"], state["gc"], state["ga"],
        state["dl"], state["db"], state["dm"], state["ds"], iou_type, average,
        torch.linspace(0.5, 0.95, 10).tolist(), torch.linspace(0.0, 1.0, 101).tolist(),
        mdt, class_metrics, False,
    )  # fmt: skip
    return {k: v.squeeze() if v.numel() == 1 else v for k, v in result.items()}


@st.composite
def detection_batches(draw):
    """Images with boxes (and masks) in one of the three box formats, tied
    scores, crowds, given areas, labels only in predictions or only in the
    target, images with nothing."""
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    with_masks = draw(st.booleans())
    box_format = draw(st.sampled_from(["xyxy", "xywh", "cxcywh"]))
    labels = rng.sample(range(0, 20), draw(st.integers(1, 4)))
    preds, target = [], []
    height, width = 24, 32
    for _ in range(draw(st.integers(1, 4))):
        truths = []
        for _ in range(rng.randint(0, 4)):
            x, y = rng.randint(0, width - 6), rng.randint(0, height - 6)
            w, h = rng.randint(2, width - x), rng.randint(2, height - y)
            truths.append((x, y, w, h, rng.choice(labels)))
        found = []
        for _ in range(rng.randint(0, 7)):
            if truths and rng.random() < 0.7:
                x, y, w, h, label = rng.choice(truths)
                x, y = max(0, x + rng.randint(-2, 2)), max(0, y + rng.randint(-2, 2))
                w, h = max(1, min(w + rng.randint(-2, 2), width - x)), max(1, min(h, height - y))
            else:
                x, y = rng.randint(0, width - 3), rng.randint(0, height - 3)
                w, h, label = (
                    rng.randint(1, width - x),
                    rng.randint(1, height - y),
                    rng.choice(labels),
                )
            found.append((x, y, w, h, label, rng.choice([0.5, 0.9, round(rng.random(), 3)])))

        def pack(rows, extra):
            boxes = torch.tensor([r[:4] for r in rows], dtype=torch.float32).reshape(-1, 4)
            if rng.random() < 0.5:
                boxes = boxes + torch.rand(boxes.shape) * 0.5
            x, y, w, h = boxes.unbind(-1)
            formats = {
                "xywh": boxes,
                "xyxy": torch.stack((x, y, x + w, y + h), -1),
                "cxcywh": torch.stack((x + w / 2, y + h / 2, w, h), -1),
            }
            item = {
                "boxes": formats[box_format],
                "labels": torch.tensor([r[4] for r in rows], dtype=torch.int64),
                **extra,
            }
            if with_masks:
                masks = torch.zeros(len(rows), height, width, dtype=torch.bool)
                for k, r in enumerate(rows):
                    masks[k, r[1] : r[1] + r[3], r[0] : r[0] + r[2]] = True
                    masks[k, r[1], r[0]] = rng.random() < 0.8  # not always a rectangle
                item["masks"] = masks
            return item

        preds.append(pack(found, {"scores": torch.tensor([r[5] for r in found])}))
        extra = {}
        if rng.random() < 0.5:
            extra["iscrowd"] = torch.tensor([int(rng.random() < 0.2) for _ in truths])
        if rng.random() < 0.3:
            extra["area"] = torch.tensor([rng.choice([0.0, 50.0, 2000.0]) for _ in truths])
        target.append(pack(truths, extra))
    iou_type = draw(st.sampled_from(["bbox", "segm", ("bbox", "segm")] if with_masks else ["bbox"]))
    return preds, target, box_format, iou_type


def assert_same(ours, theirs):
    assert sorted(ours) == sorted(theirs)
    for key, value in theirs.items():
        assert ours[key].dtype == value.dtype, key
        assert torch.equal(ours[key], value), f"{key}: {ours[key]} != {value}"


@settings(max_examples=40, deadline=None)
@given(
    batch=detection_batches(),
    class_metrics=st.booleans(),
    average=st.sampled_from(["macro", "micro"]),
    mdt=st.sampled_from([[1, 10, 100], [1, 3, 5]]),
    threads=st.sampled_from([1, 2]),
)
def test_equals_torchmetrics(batch, class_metrics, average, mdt, threads):
    preds, target, box_format, iou_type = batch
    types = (iou_type,) if isinstance(iou_type, str) else iou_type
    metric = torch_mt.MeanAveragePrecision(
        box_format=box_format,
        iou_type=iou_type,
        class_metrics=class_metrics,
        average=average,
        max_detection_thresholds=mdt,
    )
    half = len(preds) // 2  # two updates: the state must concatenate
    metric.update(preds[:half], target[:half])
    metric.update(preds[half:], target[half:])
    with torch_mt.num_threads(threads):
        ours = metric.compute()
    theirs = torchmetrics_compute(preds, target, types, box_format, class_metrics, average, mdt)
    assert_same(ours, theirs)


def test_reset_forgets_the_updates():
    metric = torch_mt.MeanAveragePrecision()
    boxes = torch.tensor([[0.0, 0, 10, 10]])
    metric.update([{"boxes": boxes, "scores": torch.tensor([0.9]), "labels": torch.tensor([1])}],
                  [{"boxes": boxes, "labels": torch.tensor([1])}])  # fmt: skip
    assert float(metric.compute()["map"]) == 1.0
    metric.reset()
    assert float(metric.compute()["map"]) == -1.0


@pytest.mark.parametrize(
    "preds, target, error, match",
    [
        ([{"boxes": torch.zeros(1, 4), "labels": torch.ones(1)}], [{}], ValueError,
         r"preds\[0\] has no 'scores'"),
        ([{"boxes": torch.zeros(2, 4), "scores": torch.ones(1), "labels": torch.ones(1)}],
         [{"boxes": torch.zeros(0, 4), "labels": torch.ones(0)}], ValueError,
         r"preds\[0\]\['boxes'\] has 2 items, 'labels' has 1"),
        ([], [{"boxes": torch.zeros(0, 4), "labels": torch.ones(0)}], ValueError,
         r"preds and target must have one dict per image, got 0 and 1"),
        ([{"boxes": [[0, 0, 1, 1]], "scores": torch.ones(1), "labels": torch.ones(1)}],
         [{"boxes": torch.zeros(0, 4), "labels": torch.ones(0)}], TypeError,
         r"preds\[0\]\['boxes'\] must be a tensor"),
    ],
)  # fmt: skip
def test_bad_updates_name_the_image_and_the_key(preds, target, error, match):
    with pytest.raises(error, match=f"torch_mt.MeanAveragePrecision.update: {match}"):
        torch_mt.MeanAveragePrecision().update(preds, target)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="box_format must be one of"):
        torch_mt.MeanAveragePrecision(box_format="yxyx")
    with pytest.raises(ValueError, match="max_detection_thresholds must be None or a list of 3"):
        torch_mt.MeanAveragePrecision(max_detection_thresholds=[1, 10])
