"""COCO detection evaluation equal to pycocotools 2.0.11's ``COCOeval``:
``coco_evaluate`` turns the COCO dicts into packed tensors and runs
``mt::coco_match`` (evaluateImg) and ``mt::coco_accumulate`` (accumulate) on
the pool; the summary is pycocotools' own arithmetic (NumPy's mean).

Packing (the operators' "cells", ops/detection/coco_match.cpp): cell
``k * I + i`` holds category index ``k`` and image index ``i`` (sorted ids),
or image ``i`` alone with ``use_categories=False``. Ground truth keeps the
dataset's order within a cell; detections are sorted by score, descending,
ties in the results' order, and cut to the largest max-detections value.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from torch_mt import _records  # ops/python/records.cpp

#: pycocotools' defaults (Params.setDetParams), computed the same way.
DEFAULT_IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1)
DEFAULT_RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1)
DEFAULT_MAX_DETECTIONS = (1, 10, 100)
DEFAULT_AREA_RANGES = {
    "all": (0**2, 1e5**2),
    "small": (0**2, 32**2),
    "medium": (32**2, 96**2),
    "large": (96**2, 1e5**2),
}
IOU_TYPES = ("bbox",)

Dataset = Union[dict, str, os.PathLike]
Results = Union[Sequence[dict], str, os.PathLike]


@dataclass
class COCOEvalResult:
    """What ``COCOeval`` leaves after evaluate, accumulate and summarize.

    Attributes:
        stats: float64 ``[12]``: ``COCOeval.stats``.
        precision: float64 ``[T, R, K, A, M]``, -1 where a category has no
            ground truth in that area range.
        recall: float64 ``[T, K, A, M]``.
        scores: float64 ``[T, R, K, A, M]``.
        iou_thresholds, recall_thresholds, max_detections, area_ranges,
        category_ids, image_ids: the parameters the arrays are laid out by.
    """

    stats: Tensor
    precision: Tensor
    recall: Tensor
    scores: Tensor
    iou_thresholds: Tensor
    recall_thresholds: Tensor
    max_detections: tuple[int, ...]
    area_ranges: dict[str, tuple[float, float]]
    category_ids: Tensor
    image_ids: Tensor
    iou_type: str = "bbox"
    _lines: tuple[str, ...] = ()

    def summary(self) -> str:
        """The twelve lines ``COCOeval.summarize()`` prints."""
        return "\n".join(self._lines)


def coco_evaluate(
    gt: Dataset,
    dt: Results,
    iou_type: str = "bbox",
    *,
    iou_thresholds: Optional[Sequence[float]] = None,
    recall_thresholds: Optional[Sequence[float]] = None,
    max_detections: Optional[Sequence[int]] = None,
    area_ranges: Optional[dict[str, Sequence[float]]] = None,
    use_categories: bool = True,
) -> COCOEvalResult:
    """COCO mAP of detections against ground truth, equal to pycocotools.

    The result equals ``COCOeval(COCO(gt), COCO(gt).loadRes(dt), iou_type)``
    after ``evaluate()``, ``accumulate()`` and ``summarize()`` to the last
    bit (float64), every convention included (see docs/ops/detection.md);
    the matching and the accumulation run on torch_mt's pool.

    Args:
        gt: a COCO dataset dict (``images``, ``annotations``, ``categories``),
            as ``json.load`` gives it, or the path of its JSON file.
        dt: a list of result dicts (``image_id``, ``category_id``, ``bbox``
            ``[x, y, w, h]``, ``score``) or the path of its JSON file.
        iou_type: ``"bbox"`` (segm and keypoints are not implemented yet).
        iou_thresholds: ``Params.iouThrs``; default ``np.linspace(.5, .95, 10)``.
        recall_thresholds: ``Params.recThrs``; default 101 points from 0 to 1.
        max_detections: ``Params.maxDets`` (sorted, as ``evaluate`` does);
            default ``(1, 10, 100)``. ``stats[0]`` uses 100, the others the
            third value, as ``summarize`` does.
        area_ranges: label -> ``(lowest, highest)`` area, both inclusive;
            default all/small/medium/large. ``summarize`` looks up those
            four labels.
        use_categories: ``Params.useCats``; False pools every category.

    Returns:
        A :class:`COCOEvalResult`.

    Raises:
        ValueError: a missing key, a bbox without 4 numbers, a NaN score or a
            non-finite box, a detection on an image not in ``gt``, duplicate
            ground-truth ids, fewer than 3 max-detections values, or an unknown
            ``iou_type``; each names the
            annotation (its index in the list) and the field.

    Example:
        >>> gt = {"images": [{"id": 1}], "categories": [{"id": 7}], "annotations": [
        ...     {"id": 1, "image_id": 1, "category_id": 7, "bbox": [10, 10, 20, 20],
        ...      "area": 400, "iscrowd": 0}]}
        >>> dt = [{"image_id": 1, "category_id": 7, "bbox": [12, 10, 20, 20], "score": 0.9}]
        >>> result = coco_evaluate(gt, dt)
        >>> round(float(result.stats[0]), 3), round(float(result.stats[1]), 3)
        (0.7, 1.0)
        >>> print(result.summary().splitlines()[0])
         Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.700
    """
    if iou_type not in IOU_TYPES:
        raise ValueError(
            f"torch_mt.coco_evaluate: iou_type must be one of {IOU_TYPES}, got {iou_type!r}"
        )
    gt, dt = _load_json(gt), _load_json(dt)
    if not isinstance(gt, dict):
        raise TypeError(
            f"torch_mt.coco_evaluate: 'gt' must be a COCO dataset dict, got {type(gt).__name__}"
        )
    if not isinstance(dt, list):
        raise TypeError(
            f"torch_mt.coco_evaluate: 'dt' must be a list of result dicts, got {type(dt).__name__}"
        )
    iou_thresholds = torch.as_tensor(
        DEFAULT_IOU_THRESHOLDS if iou_thresholds is None else iou_thresholds, dtype=torch.float64
    )
    recall_thresholds = torch.as_tensor(
        DEFAULT_RECALL_THRESHOLDS if recall_thresholds is None else recall_thresholds,
        dtype=torch.float64,
    )
    max_detections = tuple(
        sorted(DEFAULT_MAX_DETECTIONS if max_detections is None else max_detections)
    )
    if len(max_detections) < 3:
        raise ValueError(
            "torch_mt.coco_evaluate: max_detections needs 3 values or more (the summary reads "
            f"the first three, as pycocotools' does), got {list(max_detections)}"
        )
    ranges = {
        label: (float(low), float(high))
        for label, (low, high) in (
            DEFAULT_AREA_RANGES if area_ranges is None else area_ranges
        ).items()
    }
    image_ids = _sorted_ids(gt, "images")
    category_ids = _sorted_ids(gt, "categories")
    num_categories = len(category_ids) if use_categories else 1
    cells = num_categories * len(image_ids)
    ground_truth = _ground_truth(gt.get("annotations", []), image_ids, category_ids, use_categories)
    detections = _detections(dt, image_ids, category_ids, use_categories, max(max_detections))
    gt_cell, gt_order = ground_truth["cell"], ground_truth["order"]
    dt_cell, dt_order = detections["cell"], detections["order"]
    dt_offsets = _offsets(dt_cell[dt_order], cells)
    matched, ignored, regular = torch.ops.mt.coco_match(
        detections["boxes"][dt_order],
        detections["areas"][dt_order],
        dt_offsets,
        ground_truth["boxes"][gt_order],
        ground_truth["areas"][gt_order],
        ground_truth["crowd"][gt_order],
        ground_truth["crowd"][gt_order],  # bbox: a crowd is ignored
        ground_truth["ids"][gt_order],
        _offsets(gt_cell[gt_order], cells),
        torch.tensor(list(ranges.values()), dtype=torch.float64).reshape(-1, 2),
        iou_thresholds,
    )
    precision, recall, scores = torch.ops.mt.coco_accumulate(
        detections["scores"][dt_order],
        matched,
        ignored,
        dt_offsets,
        regular,
        max(num_categories, 1),
        recall_thresholds,
        list(max_detections),
    )
    if num_categories == 0:  # no category: pycocotools' arrays have K = 0
        precision, recall, scores = precision[:, :, :0], recall[:, :0], scores[:, :, :0]
    stats, lines = _summarize(precision, recall, iou_thresholds, max_detections, list(ranges))
    return COCOEvalResult(
        stats=stats,
        precision=precision,
        recall=recall,
        scores=scores,
        iou_thresholds=iou_thresholds,
        recall_thresholds=recall_thresholds,
        max_detections=max_detections,
        area_ranges=ranges,
        category_ids=torch.tensor(category_ids, dtype=torch.int64),
        image_ids=torch.tensor(image_ids, dtype=torch.int64),
        _lines=tuple(lines),
    )


def _load_json(source: Any) -> Any:
    if isinstance(source, (str, os.PathLike)):
        with open(source) as file:
            return json.load(file)
    return source


def _sorted_ids(gt: dict, key: str) -> list:
    """``sorted(getImgIds())`` / ``sorted(getCatIds())``: unique ids, sorted."""
    if key not in gt:
        if key == "categories":
            return []
        raise ValueError(f"torch_mt.coco_evaluate: 'gt' has no '{key}' list")
    items = gt[key]
    try:
        return sorted(set(map(itemgetter("id"), items)))
    except (KeyError, TypeError):
        for position, item in enumerate(items):
            if not isinstance(item, dict) or "id" not in item:
                raise ValueError(
                    f"torch_mt.coco_evaluate: gt['{key}'][{position}] has no 'id'"
                ) from None
        raise


def _column(annotations: list, key: str, what: str) -> list:
    """One field of every annotation, by a C loop (``map(itemgetter)``); on a
    missing key or a non-dict, the item and the field are named."""
    try:
        return list(map(itemgetter(key), annotations))
    except (KeyError, TypeError):
        for position, annotation in enumerate(annotations):
            if not isinstance(annotation, dict):
                raise ValueError(
                    f"torch_mt.coco_evaluate: {what}[{position}] is a "
                    f"{type(annotation).__name__}, not a dict"
                ) from None
            if key not in annotation:
                raise ValueError(
                    f"torch_mt.coco_evaluate: {what}[{position}] has no '{key}'"
                ) from None
        raise


def _numbers(values: list, key: str, what: str, width: int = 0) -> Tensor:
    """float64 tensor of a column: ``[N]`` numbers or ``[N, width]`` lists."""
    try:
        out = torch.tensor(values, dtype=torch.float64)
        if width and values and out.shape[1:] != (width,):
            raise ValueError
        if width and not values:
            out = out.reshape(0, width)
        return out
    except (TypeError, ValueError, RuntimeError):
        for position, value in enumerate(values):
            try:
                item = torch.tensor(value, dtype=torch.float64)
            except (TypeError, ValueError, RuntimeError):
                raise ValueError(
                    f"torch_mt.coco_evaluate: {what}[{position}]['{key}'] is not a number"
                    + (f" list of {width}" if width else "")
                ) from None
            if width and item.shape != (width,):
                raise ValueError(
                    f"torch_mt.coco_evaluate: {what}[{position}]['{key}'] must hold {width} "
                    "numbers, "
                    f"got {list(item.shape) or 'a scalar'}"
                ) from None
        raise


def _indices(ids: Tensor, known: list) -> tuple[Tensor, Tensor]:
    """Index of each id in the sorted ``known`` ids, and whether it is there."""
    known_t = torch.tensor(known, dtype=torch.int64)
    if not known:
        return torch.zeros_like(ids), torch.zeros_like(ids, dtype=torch.bool)
    index = torch.searchsorted(known_t, ids).clamp(max=len(known) - 1)
    return index, known_t[index] == ids


#: The fields read from each record: key, kind for torch_mt._records (i int64,
#: r float64, t truth, b box), and the tensor dtype and shape of the column.
_GT_FIELDS = (
    ("id", "i"),
    ("image_id", "i"),
    ("category_id", "i"),
    ("bbox", "b"),
    ("area", "r"),
    ("iscrowd", "t"),
)
_DT_FIELDS = (("image_id", "i"), ("category_id", "i"), ("bbox", "b"), ("score", "r"))
_KIND_DTYPES = {"i": torch.int64, "r": torch.float64, "t": torch.bool, "b": torch.float64}


def _columns(records: list, fields: tuple, what: str) -> dict[str, Tensor]:
    """Each field of every record as a tensor: by one C pass
    (``torch_mt._records``) when every record is regular, else field by
    field in Python, which names the first bad record and field."""
    keys = tuple(key for key, _ in fields)
    kinds = "".join(kind for _, kind in fields)
    raw = _records.columns(records, keys, kinds) if isinstance(records, list) else None
    if raw is not None:
        out = {}
        for (key, kind), buffer in zip(fields, raw):
            dtype = torch.uint8 if kind == "t" else _KIND_DTYPES[kind]
            column = (
                torch.frombuffer(buffer, dtype=dtype)
                if len(buffer)
                else torch.zeros(0, dtype=dtype)
            )
            out[key] = (
                column.bool() if kind == "t" else column.reshape(-1, 4) if kind == "b" else column
            )
        return out
    out = {}
    for key, kind in fields:
        values = _column(records, key, what)
        if kind == "i":
            out[key] = _integers(values, key, what)
        elif kind == "t":
            out[key] = torch.tensor(list(map(bool, values)), dtype=torch.bool)
        else:
            out[key] = _numbers(values, key, what, width=4 if kind == "b" else 0)
    return out


def _integers(values: list, key: str, what: str) -> Tensor:
    for position, value in enumerate(values):
        if not isinstance(value, int):
            raise ValueError(
                f"torch_mt.coco_evaluate: {what}[{position}]['{key}'] must be an int, "
                f"got {type(value).__name__}"
            )
    return torch.tensor(values, dtype=torch.int64)


def _cells(
    image_index: Tensor, category_index: Tensor, images: int, use_categories: bool
) -> Tensor:
    return category_index * images + image_index if use_categories else image_index


def _ground_truth(
    annotations: list, image_ids: list, category_ids: list, use_categories: bool
) -> dict:
    what = "gt['annotations']"
    columns = _columns(annotations, _GT_FIELDS, what)
    ids = columns["id"]
    if len(torch.unique(ids)) != len(ids):
        seen: set = set()
        for position, value in enumerate(ids.tolist()):
            if value in seen:
                raise ValueError(
                    f"torch_mt.coco_evaluate: {what}[{position}] repeats the id {value!r} "
                    "(pycocotools would silently evaluate another annotation in its place)"
                )
            seen.add(value)
    image_index, on_image = _indices(columns["image_id"], image_ids)
    category_index, in_category = _indices(columns["category_id"], category_ids)
    boxes, areas, crowd = columns["bbox"], columns["area"], columns["iscrowd"]
    kept = on_image & in_category
    cell = _cells(image_index, category_index, len(image_ids), use_categories)
    # Within a cell: the dataset's order, pooled categories by category first
    # (one category a cell: the dataset's order is already that).
    keys = [cell] if use_categories else [category_index, cell]
    order = _stable_order(keys, kept)
    return {
        "boxes": boxes,
        "areas": areas,
        "crowd": crowd,
        "ids": ids,
        "cell": cell,
        "order": order,
    }


def _detections(
    results: list, image_ids: list, category_ids: list, use_categories: bool, max_detections: int
) -> dict:
    what = "dt"
    columns = _columns(results, _DT_FIELDS, what)
    image_index, on_image = _indices(columns["image_id"], image_ids)
    if not bool(on_image.all()):
        position = int((~on_image).nonzero()[0])
        raise ValueError(
            f"torch_mt.coco_evaluate: dt[{position}] is on image_id "
            f"{int(columns['image_id'][position])}, which is not in gt['images']"
        )
    category_index, in_category = _indices(columns["category_id"], category_ids)
    boxes, scores = columns["bbox"], columns["score"]
    if bool(scores.isnan().any()):
        raise ValueError(
            f"torch_mt.coco_evaluate: dt[{int(scores.isnan().nonzero()[0])}]['score'] is NaN"
        )
    finite = boxes.isfinite().all(1) if len(boxes) else torch.ones(0, dtype=torch.bool)
    if not bool(finite.all()):
        raise ValueError(
            f"torch_mt.coco_evaluate: dt[{int((~finite).nonzero()[0])}]['bbox'] has a NaN or "
            "infinite number"
        )
    areas = boxes[:, 2] * boxes[:, 3]  # loadRes: w * h
    cell = _cells(image_index, category_index, len(image_ids), use_categories)
    # Within a cell: by score, descending; ties in the results' order, pooled
    # categories by category first (the order pycocotools sorts from).
    keys = [-scores, cell] if use_categories else [category_index, -scores, cell]
    order = _stable_order(keys, in_category)
    # Each cell's first max_detections only.
    sorted_cell = cell[order]
    starts = torch.searchsorted(sorted_cell, sorted_cell, right=False)
    rank = torch.arange(len(order)) - starts
    order = order[rank < max_detections]
    return {"boxes": boxes, "areas": areas, "scores": scores, "cell": cell, "order": order}


def _stable_order(keys: list, kept: Tensor) -> Tensor:
    """Indices of the kept items sorted by ``keys`` (least significant first),
    each sort stable."""
    order = kept.nonzero().flatten()
    for key in keys:
        order = order[torch.sort(key[order], stable=True).indices]
    return order


def _offsets(sorted_cells: Tensor, cells: int) -> Tensor:
    counts = (
        torch.bincount(sorted_cells, minlength=cells)
        if len(sorted_cells)
        else torch.zeros(cells, dtype=torch.int64)
    )
    return torch.cat([torch.zeros(1, dtype=torch.int64), counts.cumsum(0)])


def _summarize(
    precision: Tensor, recall: Tensor, iou_thresholds: Tensor, max_detections: tuple, labels: list
) -> tuple[Tensor, list[str]]:
    """``COCOeval.summarize`` for bbox/segm: its twelve means, by NumPy as
    pycocotools computes them, and its lines."""
    p_iou = iou_thresholds.numpy()
    precision_np, recall_np = precision.numpy(), recall.numpy()
    lines = []

    def one(ap: int, iou: Optional[float] = None, area: str = "all", max_det: int = 100) -> float:
        title = "Average Precision" if ap == 1 else "Average Recall"
        kind = "(AP)" if ap == 1 else "(AR)"
        iou_text = f"{p_iou[0]:0.2f}:{p_iou[-1]:0.2f}" if iou is None else f"{iou:0.2f}"
        aind = [i for i, label in enumerate(labels) if label == area]
        mind = [i for i, m in enumerate(max_detections) if m == max_det]
        s = precision_np if ap == 1 else recall_np
        if iou is not None:
            s = s[np.where(iou == p_iou)[0]]
        s = s[:, :, :, aind, mind] if ap == 1 else s[:, :, aind, mind]
        mean = -1 if len(s[s > -1]) == 0 else np.mean(s[s > -1])
        where = f"IoU={iou_text:<9} | area={area:>6s} | maxDets={max_det:>3d}"
        lines.append(f" {title:<18} {kind} @[ {where} ] = {mean:0.3f}")
        return mean

    third = max_detections[2]
    stats = np.zeros((12,))
    stats[0] = one(1)
    stats[1] = one(1, iou=0.5, max_det=third)
    stats[2] = one(1, iou=0.75, max_det=third)
    stats[3] = one(1, area="small", max_det=third)
    stats[4] = one(1, area="medium", max_det=third)
    stats[5] = one(1, area="large", max_det=third)
    stats[6] = one(0, max_det=max_detections[0])
    stats[7] = one(0, max_det=max_detections[1])
    stats[8] = one(0, max_det=third)
    stats[9] = one(0, area="small", max_det=third)
    stats[10] = one(0, area="medium", max_det=third)
    stats[11] = one(0, area="large", max_det=third)
    return torch.from_numpy(stats), lines
