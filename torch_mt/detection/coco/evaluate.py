"""COCO detection evaluation equal to pycocotools 2.0.11's ``COCOeval``:
``coco_evaluate`` turns the COCO dicts into packed tensors and runs
``mt::coco_match`` (evaluateImg) and ``mt::coco_accumulate`` (accumulate) on
the pool; the summary is pycocotools' own arithmetic (NumPy's mean).
The dicts become packed tensors in records.py; keypoints' OKS is
computed in similarity.py; the summary in summary.py.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from . import json_records, records
from .masks import segmentation_runs
from .similarity import COCO_KEYPOINT_SIGMAS, cell_pairs, keypoint_similarities
from .summary import summarize

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
#: pycocotools' keypoint defaults (Params.setKpParams).
DEFAULT_KEYPOINT_MAX_DETECTIONS = (20,)
DEFAULT_KEYPOINT_AREA_RANGES = {
    "all": (0**2, 1e5**2),
    "medium": (32**2, 96**2),
    "large": (96**2, 1e5**2),
}
IOU_TYPES = ("bbox", "segm", "keypoints")

Dataset = Union[dict, str, os.PathLike]
Results = Union[Sequence[dict], str, os.PathLike]


@dataclass
class COCOEvalResult:
    """What ``COCOeval`` leaves after evaluate, accumulate and summarize.

    Attributes:
        stats: float64 ``[12]`` (``[10]`` for keypoints): ``COCOeval.stats``.
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
        """The lines ``COCOeval.summarize()`` prints."""
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
    keypoint_sigmas: Optional[Sequence[float]] = None,
) -> COCOEvalResult:
    """COCO mAP of detections against ground truth, equal to pycocotools.

    The result equals ``COCOeval(COCO(gt), COCO(gt).loadRes(dt), iou_type)``
    after ``evaluate()``, ``accumulate()`` and ``summarize()`` to the last
    bit (float64), every convention included (see docs/ops/detection.md);
    the matching and the accumulation run on torch_mt's pool.

    Args:
        gt: a COCO dataset dict (``images``, ``annotations``, ``categories``),
            as ``json.load`` gives it, or the path of its JSON file.
        dt: a list of result dicts (``image_id``, ``category_id``, ``score``,
            and ``bbox`` ``[x, y, w, h]``, ``segmentation`` or ``keypoints``)
            or the path of its JSON file. Areas follow ``loadRes``: the first
            result decides; with a bbox, w * h, else with a segmentation its
            pixel count, else the keypoints' extent.
        iou_type: ``"bbox"``, ``"segm"`` (mask IoU of the ``segmentation``
            polygons or RLEs; images need ``height`` and ``width``) or
            ``"keypoints"`` (OKS; the ground truth needs ``keypoints`` and
            ``num_keypoints``).
        iou_thresholds: ``Params.iouThrs``; default ``np.linspace(.5, .95, 10)``.
        recall_thresholds: ``Params.recThrs``; default 101 points from 0 to 1.
        max_detections: ``Params.maxDets`` (sorted, as ``evaluate`` does);
            default ``(1, 10, 100)``, keypoints ``(20,)``. For bbox,
            ``stats[0]`` uses 100, the others the third value, as
            ``summarize`` does (3 values or more); keypoints' summary reads 20.
        area_ranges: label -> ``(lowest, highest)`` area, both inclusive;
            default all/small/medium/large (keypoints: all/medium/large).
            ``summarize`` looks up those labels.
        use_categories: ``Params.useCats``; False pools every category (for
            keypoints pycocotools then matches nothing, and so does this).
        keypoint_sigmas: ``Params.kpt_oks_sigmas``, one per keypoint;
            default the 17 COCO person sigmas.

    Returns:
        A :class:`COCOEvalResult`.

    Raises:
        ValueError: a missing key, a bbox without 4 numbers, a NaN score or a
            non-finite box, a detection on an image not in ``gt``, duplicate
            ground-truth ids, keypoints that are not one (x, y, v) triple per
            sigma, an RLE whose size is not its image's, fewer than 3
            max-detections values (bbox and segm), or an unknown
            ``iou_type``; each names the annotation (its index in the list)
            and the field.

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
    keypoints = iou_type == "keypoints"
    sigmas = _sigmas(keypoint_sigmas) if keypoints else None
    keypoint_count = len(sigmas) if keypoints else 0
    files = [json_records.describe(source, what) for source, what in ((gt, "gt"), (dt, "dt"))
             if json_records.is_file(source)]  # fmt: skip
    gt, dt = _read_files(gt, dt, iou_type, keypoint_count)
    if not isinstance(gt, dict):
        raise TypeError(
            f"torch_mt.coco_evaluate: 'gt' must be a COCO dataset dict, got {type(gt).__name__}"
        )
    if not isinstance(dt, (list, json_records.JsonColumns)):
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
    if max_detections is None:
        max_detections = DEFAULT_KEYPOINT_MAX_DETECTIONS if keypoints else DEFAULT_MAX_DETECTIONS
    max_detections = tuple(sorted(max_detections))
    if len(max_detections) < (1 if keypoints else 3):
        raise ValueError(
            "torch_mt.coco_evaluate: max_detections needs 3 values or more (the summary reads "
            f"the first three, as pycocotools' does), got {list(max_detections)}"
        )
    if area_ranges is None:
        area_ranges = DEFAULT_KEYPOINT_AREA_RANGES if keypoints else DEFAULT_AREA_RANGES
    ranges = {label: (float(low), float(high)) for label, (low, high) in area_ranges.items()}
    with _naming(files):  # an error of a file's content names the files too
        image_ids = records.sorted_ids(gt, "images")
        category_ids = records.sorted_ids(gt, "categories")
        truth = records.ground_truth(
            gt.get("annotations", []), image_ids, category_ids, use_categories, keypoint_count
        )
        found = records.detections(
            dt,
            image_ids,
            category_ids,
            use_categories,
            max(max_detections),
            keypoint_count,
            gt.get("images"),
        )

    def masks(gt_order: Tensor, dt_order: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        with _naming(files):
            sizes = records.image_sizes(gt.get("images"), image_ids)
            gt_runs = segmentation_runs(
                gt.get("annotations", []), gt_order, "gt['annotations']", sizes, truth["image"]
            )
            dt_runs = segmentation_runs(
                dt,
                dt_order,
                "dt",
                sizes,
                found["image"],
                found["boxes"] if found["kind"] == "bbox" else None,
            )
        return (*gt_runs, *dt_runs)

    return evaluate_packed(
        truth,
        found,
        image_ids,
        category_ids,
        iou_type,
        use_categories=use_categories,
        iou_thresholds=iou_thresholds,
        recall_thresholds=recall_thresholds,
        max_detections=max_detections,
        area_ranges=ranges,
        sigmas=sigmas,
        masks=masks,
    )


def evaluate_packed(
    truth: dict,
    found: dict,
    image_ids: list,
    category_ids: list,
    iou_type: str,
    *,
    use_categories: bool,
    iou_thresholds: Tensor,
    recall_thresholds: Tensor,
    max_detections: tuple,
    area_ranges: dict,
    sigmas: Optional[Tensor] = None,
    masks: Optional[Callable[[Tensor, Tensor], tuple]] = None,
) -> COCOEvalResult:
    """evaluate, accumulate and summarize on the columns of
    ``records.ground_truth`` and ``detections`` (or columns built the
    same way, as torch_mt.MeanAveragePrecision builds them: ``order`` and
    ``offsets`` from ``records.truth_order`` / ``detection_order``). ``masks(gt_order,
    dt_order)`` gives the packed RLEs of those annotations, in that order
    (``gt_runs, gt_offsets, dt_runs, dt_offsets``), for segm."""
    keypoints, ranges = iou_type == "keypoints", area_ranges
    num_categories = len(category_ids) if use_categories else 1
    cells = num_categories * len(image_ids)
    gt_order, dt_order = truth["order"], found["order"]
    dt_offsets, gt_offsets = found["offsets"], truth["offsets"]
    if len(dt_offsets) != cells + 1 or len(gt_offsets) != cells + 1:
        raise ValueError(
            f"torch_mt.coco_evaluate: the columns are packed for another number of cells "
            f"({len(gt_offsets) - 1} and {len(dt_offsets) - 1}, not {cells})"
        )
    ious = None
    if keypoints:
        pair_dt, pair_gt = cell_pairs(dt_offsets, gt_offsets)
        if use_categories:  # the pairs' rows in the records' order: no [D, K, 3] gather
            ious = keypoint_similarities(
                found["keypoints"],
                truth["keypoints"],
                truth["boxes"],
                truth["areas"],
                dt_order[pair_dt],
                gt_order[pair_gt],
                sigmas,
            )
        else:  # computeOks reads _gts[imgId, -1]: empty, so nothing matches
            ious = torch.full((len(pair_dt),), -float("inf"), dtype=torch.float64)
    elif iou_type == "segm":  # maskUtils.iou on the RLEs annToRLE makes
        gt_runs, gt_run_offsets, dt_runs, dt_run_offsets = masks(gt_order, dt_order)
        pair_dt, pair_gt = cell_pairs(dt_offsets, gt_offsets)
        ious = torch.ops.mt.coco_mask_iou(
            dt_runs,
            dt_run_offsets,
            gt_runs,
            gt_run_offsets,
            truth["crowd"][gt_order],
            pair_dt,
            pair_gt,
        )
    # coco_match then coco_accumulate on the rows in packed order (gathered by
    # the operator, on the pool), with their flags kept as bit words between
    # them (ops/detection/coco_evaluation.h).
    precision, recall, scores = torch.ops.mt._coco_match_accumulate(
        found["boxes"],
        found["areas"],
        found["scores"],
        dt_order,
        dt_offsets,
        truth["boxes"],
        truth["areas"],
        truth["crowd"],
        truth["ignore"],
        truth["ids"],
        gt_order,
        gt_offsets,
        torch.tensor(list(ranges.values()), dtype=torch.float64).reshape(-1, 2),
        iou_thresholds,
        ious,
        max(num_categories, 1),
        recall_thresholds,
        list(max_detections),
    )
    if num_categories == 0:  # no category: pycocotools' arrays have K = 0
        precision, recall, scores = precision[:, :, :0], recall[:, :0], scores[:, :, :0]
    stats, lines = summarize(
        precision, recall, iou_thresholds, max_detections, list(ranges), keypoints
    )
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
        iou_type=iou_type,
        _lines=tuple(lines),
    )


@contextlib.contextmanager
def _naming(files: list) -> Iterator[None]:
    """A ValueError raised inside, about a file's content, also names the
    files (``files``: how json_records describes them; none: unchanged)."""
    try:
        yield
    except ValueError as error:
        if not files:
            raise
        raise ValueError(f"{error} ({', '.join(files)})") from None


def _read_files(gt: object, dt: object, iou_type: str, keypoint_count: int) -> tuple:
    """The files among ``gt`` and ``dt`` read natively into columns
    (json_records.py); results json_records leaves to Python's json (a
    ``loadRes`` branch it does not cover) are read that way."""
    segm = iou_type == "segm"
    if json_records.is_file(gt):
        gt = json_records.read_dataset(gt, keypoint_count, segmentations=segm)
    if json_records.is_file(dt):
        read = json_records.read_results(dt, keypoint_count, segmentations=segm)
        dt = read if read is not None else records.load_json(dt)
    return gt, dt


def _sigmas(keypoint_sigmas: Optional[Sequence[float]]) -> Tensor:
    sigmas = torch.as_tensor(
        COCO_KEYPOINT_SIGMAS if keypoint_sigmas is None else keypoint_sigmas, dtype=torch.float64
    )
    if sigmas.dim() != 1 or len(sigmas) == 0:
        raise ValueError(
            "torch_mt.coco_evaluate: keypoint_sigmas must be one number per keypoint, got "
            f"shape {list(sigmas.shape)}"
        )
    return sigmas
