"""``torch_mt.MeanAveragePrecision``: torchmetrics' ``MeanAveragePrecision``
(``backend="pycocotools"``, torchmetrics 1.9) on torch_mt's COCO operators.

``update`` keeps packed tensors (boxes, scores, labels, image indices, masks
as run lengths), not dicts; ``compute`` builds the columns
``coco_evaluate`` builds from COCO dicts, exactly as torchmetrics' COCO
conversion defines them, and evaluates them on the pool
(``coco.evaluate_packed``). Its conventions, kept (docs/ops/detection.md):
boxes are converted to (x, y, w, h) in their own dtype, as torchvision's
``box_convert`` does; default thresholds come from a float32
``torch.linspace``; predictions are a COCO dataset (area = w * h, or the
mask's pixels), ground truth takes ``area`` where it is > 0; with masks
only, an image without a ground-truth mask is left out, and so are the
predictions on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, Union

import torch
from torch import Tensor

from . import records
from .evaluate import DEFAULT_AREA_RANGES, COCOEvalResult, evaluate_packed
from .offsets import offsets_of
from .summary import summarize

BOX_FORMATS = ("xyxy", "xywh", "cxcywh")
_WHERE = "torch_mt.MeanAveragePrecision"


def to_xywh(boxes: Tensor, box_format: str) -> Tensor:
    """``[N, 4]`` boxes to (x, y, w, h) in their own dtype, with
    torchvision ``box_convert``'s arithmetic (through x1, y1, x2, y2)."""
    if box_format == "xywh":
        return boxes.clone()
    if box_format == "cxcywh":
        cx, cy, w, h = boxes.unbind(-1)
        boxes = torch.stack((cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h), -1)
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack((x1, y1, x2 - x1, y2 - y1), -1)


class MeanAveragePrecision:
    """COCO mAP and mAR of detections, as torchmetrics'
    ``MeanAveragePrecision(backend="pycocotools")`` computes them.

    Args:
        box_format: ``"xyxy"``, ``"xywh"`` or ``"cxcywh"``.
        iou_type: ``"bbox"``, ``"segm"`` or a tuple of both (keys then get
            a ``bbox_`` / ``segm_`` prefix).
        iou_thresholds: a list of floats; default torchmetrics' (a float32
            ``torch.linspace(0.5, 0.95, 10)``).
        rec_thresholds: a list of floats; default a float32
            ``torch.linspace(0, 1, 101)``.
        max_detection_thresholds: 3 ints, sorted; default ``[1, 10, 100]``.
        class_metrics: also ``map_per_class`` and ``mar_<last>_per_class``.
        average: ``"macro"`` (per class, then the mean) or ``"micro"`` (all
            classes as one).

    Returns:
        The metric object: ``update(preds, target)`` adds images,
        ``compute()`` returns torchmetrics' dict (``map``, ``map_50``,
        ``map_75``, ``map_small``, ``map_medium``, ``map_large``,
        ``mar_<m>`` for each max-detection value, ``mar_small``,
        ``mar_medium``, ``mar_large``, ``map_per_class``,
        ``mar_<last>_per_class``, ``classes``), ``reset()`` starts again.

    Raises:
        ValueError: an unknown ``box_format``, ``iou_type`` or ``average``,
            thresholds that are not lists, or not 3 max-detection values.

    Example:
        >>> metric = MeanAveragePrecision()
        >>> metric.update(
        ...     [{"boxes": torch.tensor([[10.0, 10, 30, 30]]), "scores": torch.tensor([0.9]),
        ...       "labels": torch.tensor([1])}],
        ...     [{"boxes": torch.tensor([[12.0, 10, 32, 30]]), "labels": torch.tensor([1])}])
        >>> result = metric.compute()
        >>> round(float(result["map"]), 3), round(float(result["map_50"]), 3)
        (0.7, 1.0)
    """

    def __init__(
        self,
        box_format: str = "xyxy",
        iou_type: Union[str, tuple[str, ...]] = "bbox",
        iou_thresholds: Optional[list[float]] = None,
        rec_thresholds: Optional[list[float]] = None,
        max_detection_thresholds: Optional[list[int]] = None,
        class_metrics: bool = False,
        average: str = "macro",
    ) -> None:
        if box_format not in BOX_FORMATS:
            raise ValueError(
                f"{_WHERE}: box_format must be one of {BOX_FORMATS}, got {box_format!r}"
            )
        types = (iou_type,) if isinstance(iou_type, str) else tuple(iou_type)
        if not types or any(kind not in ("bbox", "segm") for kind in types):
            raise ValueError(f"{_WHERE}: iou_type must be 'bbox', 'segm' or both, got {iou_type!r}")
        for name, value in (("iou_thresholds", iou_thresholds), ("rec_thresholds", rec_thresholds)):
            if value is not None and not isinstance(value, list):
                raise ValueError(
                    f"{_WHERE}: {name} must be None or a list of floats, got {value!r}"
                )
        if max_detection_thresholds is not None and (
            not isinstance(max_detection_thresholds, list) or len(max_detection_thresholds) != 3
        ):
            raise ValueError(
                f"{_WHERE}: max_detection_thresholds must be None or a list of 3 ints, got "
                f"{max_detection_thresholds!r}"
            )
        if average not in ("macro", "micro"):
            raise ValueError(f"{_WHERE}: average must be 'macro' or 'micro', got {average!r}")
        self.box_format, self.iou_type, self.average = box_format, types, average
        self.class_metrics = bool(class_metrics)
        # torchmetrics' defaults: float32 linspaces, as lists of Python floats.
        self.iou_thresholds = iou_thresholds or torch.linspace(0.5, 0.95, 10).tolist()
        self.rec_thresholds = rec_thresholds or torch.linspace(0.0, 1.00, 101).tolist()
        self.max_detection_thresholds = sorted(
            int(m) for m in max_detection_thresholds or [1, 10, 100]
        )
        self.reset()

    def reset(self) -> None:
        """Forget every update."""
        self._images = 0
        self._parts: dict[str, list[Tensor]] = {}

    def _keep(self, **tensors: Tensor) -> None:
        for name, tensor in tensors.items():
            self._parts.setdefault(name, []).append(tensor)

    def update(self, preds: Sequence[dict], target: Sequence[dict]) -> None:
        """Add a batch: one dict of tensors per image in each list.

        Args:
            preds: ``boxes [N, 4]`` (bbox) and/or ``masks [N, H, W]`` bool
                (segm), ``scores [N]``, ``labels [N]`` int.
            target: ``boxes`` and/or ``masks``, ``labels``, optionally
                ``iscrowd [M]`` and ``area [M]``.

        Raises:
            TypeError: a list that is not a sequence of dicts, a value that
                is not a tensor.
            ValueError: lists of different lengths, a missing key, sizes
                that disagree (each names the image and the key).
        """
        if not isinstance(preds, Sequence) or not isinstance(target, Sequence):
            raise TypeError(f"{_WHERE}.update: preds and target must be lists of dicts")
        if len(preds) != len(target):
            raise ValueError(
                f"{_WHERE}.update: preds and target must have one dict per image, got "
                f"{len(preds)} and {len(target)}"
            )
        for side, items, extra in (("preds", preds, ("scores",)), ("target", target, ())):
            parts = self._gather(side, items, extra)
            self._keep(**{f"{side}_{name}": value for name, value in parts.items()})
        self._images += len(preds)

    def _gather(self, side: str, items: Sequence[dict], extra: tuple) -> dict[str, Tensor]:
        keys = (("boxes",) if "bbox" in self.iou_type else ()) + (
            ("masks",) if "segm" in self.iou_type else ()
        )
        boxes, masks, labels, images, values = [], [], [], [], {key: [] for key in extra}
        crowds, areas = [], []
        for position, item in enumerate(items):
            where = f"{_WHERE}.update: {side}[{position}]"
            if not isinstance(item, dict):
                raise TypeError(f"{where} is a {type(item).__name__}, not a dict")
            for key in (*keys, "labels", *extra):
                if key not in item:
                    raise ValueError(f"{where} has no '{key}'")
                if not isinstance(item[key], Tensor):
                    raise TypeError(f"{where}['{key}'] must be a tensor")
            count = item["labels"].reshape(-1).shape[0]
            for key in (*keys, *extra, "iscrowd", "area"):
                if key in item and item[key].shape[:1] != (count,) and item[key].numel() > 0:
                    raise ValueError(
                        f"{where}['{key}'] has {item[key].shape[0]} items, 'labels' has {count}"
                    )
            labels.append(item["labels"].reshape(-1).to(torch.int64))
            images.append(torch.full((count,), self._images + position, dtype=torch.int64))
            if "boxes" in keys:
                box = item["boxes"].reshape(-1, 4) if item["boxes"].numel() else item["boxes"]
                boxes.append(to_xywh(box.reshape(-1, 4), self.box_format).to(torch.float64))
            if "masks" in keys:
                masks.append(item["masks"].reshape(count, *item["masks"].shape[-2:]).bool())
            for key in extra:
                values[key].append(item[key].reshape(-1).to(torch.float64))
            if side == "target":
                crowds.append(item.get("iscrowd", torch.zeros(count)).reshape(-1) != 0)
                areas.append(item.get("area", torch.zeros(count)).reshape(-1).to(torch.float64))
        out = {"labels": _cat(labels, torch.int64), "images": _cat(images, torch.int64)}
        if "boxes" in keys:
            out["boxes"] = torch.cat(boxes) if boxes else torch.zeros(0, 4, dtype=torch.float64)
        if "masks" in keys:
            out.update(_packed_masks(masks))
        out.update({key: _cat(value, torch.float64) for key, value in values.items()})
        if side == "target":
            out["crowd"], out["area"] = _cat(crowds, torch.bool), _cat(areas, torch.float64)
        return out

    def _state(self, name: str) -> Tensor:
        parts = self._parts.get(name, [])
        return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.int64)

    def _run_offsets(self, side: str) -> Tensor:
        return offsets_of(self._state(f"{side}_run_lengths"))

    def compute(self) -> dict[str, Tensor]:
        """The metric over every update: torchmetrics' keys and values
        (float32; single values as 0-d tensors, as torchmetrics squeezes them)."""
        mdt = self.max_detection_thresholds
        labels = torch.cat([self._state("preds_labels"), self._state("target_labels")])
        classes = torch.unique(labels).tolist()
        result: dict[str, Tensor] = {}
        micro = self.average == "micro"
        for kind in self.iou_type:
            prefix = "" if len(self.iou_type) == 1 else f"{kind}_"
            evaluation = self._evaluate(kind, classes, micro)
            # torchmetrics' per-class pass rebinds its datasets to per-class
            # ones, and the next iou_type is evaluated on those: kept.
            micro = micro and not (self.class_metrics and evaluation is not None)
            stats = [-1.0] * 12 if evaluation is None else evaluation.stats.tolist()
            names = ["map", "map_50", "map_75", "map_small", "map_medium", "map_large"]
            names += [f"mar_{mdt[0]}", f"mar_{mdt[1]}", f"mar_{mdt[2]}"]
            names += ["mar_small", "mar_medium", "mar_large"]
            for name, value in zip(names, stats):
                result[prefix + name] = torch.tensor([value], dtype=torch.float32)
            if evaluation is None:
                continue
            per_map, per_mar = [-1.0], [-1.0]
            if self.class_metrics:
                macro = (
                    evaluation if self.average == "macro" else self._evaluate(kind, classes, False)
                )
                per_map, per_mar = self._per_class(macro)
            result[f"{prefix}map_per_class"] = torch.tensor(per_map, dtype=torch.float32)
            result[f"{prefix}mar_{mdt[-1]}_per_class"] = torch.tensor(per_mar, dtype=torch.float32)
        result["classes"] = torch.tensor(classes, dtype=torch.int32)
        return {
            key: value.squeeze() if value.numel() == 1 else value for key, value in result.items()
        }

    def _per_class(self, evaluation: COCOEvalResult) -> tuple[list, list]:
        """stats[0] and stats[8] of each category alone (torchmetrics sets
        ``catIds = [c]`` and evaluates again; each category's arrays are
        computed alone, so its slice is the same)."""
        per_map, per_mar = [], []
        for k in range(len(evaluation.category_ids)):
            stats, _ = summarize(
                evaluation.precision[:, :, k : k + 1].contiguous(),
                evaluation.recall[:, k : k + 1].contiguous(),
                evaluation.iou_thresholds,
                evaluation.max_detections,
                list(evaluation.area_ranges),
            )
            per_map.append(float(stats[0]))
            per_mar.append(float(stats[8]))
        return per_map, per_mar

    def _evaluate(self, kind: str, classes: list, micro: bool) -> Optional[COCOEvalResult]:
        """torchmetrics' COCO datasets as columns, evaluated; None where
        either dataset has no image (torchmetrics then reports -1)."""
        masks_only = "bbox" not in self.iou_type
        gt_images, dt_images = self._state("target_images"), self._state("preds_images")
        if masks_only:  # an image without a mask is not in that dataset
            image_ids = torch.unique(gt_images).tolist()
            has_predictions = len(dt_images) > 0
        else:
            image_ids = list(range(self._images))
            has_predictions = self._images > 0
        if not image_ids or not has_predictions:
            return None
        category_ids = [0] if micro else classes
        gt_labels = self._state("target_labels")
        dt_labels = self._state("preds_labels")
        if micro:
            gt_labels, dt_labels = torch.zeros_like(gt_labels), torch.zeros_like(dt_labels)
        truth = self._columns("target", kind, gt_labels, image_ids, category_ids)
        found = self._columns("preds", kind, dt_labels, image_ids, category_ids)

        def masks(gt_order: Tensor, dt_order: Tensor) -> tuple:
            return (
                *_take(self._state("target_runs"), self._run_offsets("target"), gt_order),
                *_take(self._state("preds_runs"), self._run_offsets("preds"), dt_order),
            )

        return evaluate_packed(
            truth,
            found,
            image_ids,
            category_ids,
            kind,
            use_categories=True,
            iou_thresholds=torch.tensor(self.iou_thresholds, dtype=torch.float64),
            recall_thresholds=torch.tensor(self.rec_thresholds, dtype=torch.float64),
            max_detections=tuple(self.max_detection_thresholds),
            area_ranges={label: tuple(map(float, r)) for label, r in DEFAULT_AREA_RANGES.items()},
            masks=masks,
        )

    def _columns(
        self, side: str, kind: str, labels: Tensor, image_ids: list, category_ids: list
    ) -> dict:
        images = self._state(f"{side}_images")
        image_index, on_image = records.indices(images, image_ids)
        category_index, _ = records.indices(labels, category_ids)
        count = len(labels)
        boxes = (
            self._state(f"{side}_boxes").reshape(-1, 4)
            if "bbox" in self.iou_type
            else torch.zeros(count, 4, dtype=torch.float64)
        )
        mask_areas = (
            torch.ops.mt.coco_rle_area_bbox(
                self._state(f"{side}_runs"),
                self._run_offsets(side),
                self._state(f"{side}_run_sizes").reshape(-1, 2),
            )[0]
            if "segm" in self.iou_type
            else None
        )
        own_area = mask_areas if kind == "segm" else boxes[:, 2] * boxes[:, 3]
        columns = {"image": image_index, "boxes": boxes, "ids": torch.arange(1, count + 1)}
        if side == "preds":
            scores = self._state("preds_scores").to(torch.float64)
            columns["cell"], columns["order"], columns["offsets"] = records.detection_order(
                image_index, category_index, on_image, scores, len(image_ids), len(category_ids),
                True, self.max_detection_thresholds[-1],
            )  # fmt: skip
            columns.update(scores=scores, areas=own_area, kind="bbox")
            return columns
        # Ground truth: its own area where > 0, else the mask's (with masks
        # among the types, for bbox too) or the box's.
        fallback = mask_areas if mask_areas is not None else boxes[:, 2] * boxes[:, 3]
        given = self._state("target_area").to(torch.float64)
        crowd = self._state("target_crowd").bool()
        columns["cell"], columns["order"], columns["offsets"] = records.truth_order(
            image_index, category_index, on_image, len(image_ids), len(category_ids), True
        )
        columns.update(areas=torch.where(given > 0, given, fallback), crowd=crowd, ignore=crowd)
        return columns


def _cat(parts: list, dtype: torch.dtype) -> Tensor:
    return torch.cat(parts).to(dtype) if parts else torch.zeros(0, dtype=dtype)


def _packed_masks(masks: list) -> dict[str, Tensor]:
    """Each mask's runs, how many, and its (height, width) (offsets are made
    at compute time, over every update)."""
    runs, lengths, sizes = [], [], []
    for image_masks in masks:
        counts, offsets = torch.ops.mt.coco_rle_encode(image_masks)  # maskUtils.encode's runs
        runs.append(counts)
        lengths.append(offsets.diff())
        sizes.append(torch.tensor(image_masks.shape[1:]).expand(len(image_masks), 2))
    return {
        "runs": _cat(runs, torch.int64),
        "run_lengths": _cat(lengths, torch.int64),
        "run_sizes": torch.cat(sizes) if sizes else torch.zeros(0, 2, dtype=torch.int64),
    }


def _take(runs: Tensor, offsets: Tensor, order: Tensor) -> tuple[Tensor, Tensor]:
    """The RLEs ``order`` picks, as spans ``[N, 2]`` into the same runs."""
    return runs, torch.stack([offsets[:-1][order], offsets[1:][order]], 1)
