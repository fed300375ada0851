"""Typed wrappers of the COCO evaluation operators (ops/detection/coco_match.cpp,
coco_accumulate.cpp, coco_oks.cpp): the building blocks of :func:`coco_evaluate`, for
callers who hold packed tensors already (docs/ops/detection.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import torch
from torch import Tensor


def coco_match(
    dt_boxes: Tensor,
    dt_areas: Tensor,
    dt_offsets: Tensor,
    gt_boxes: Tensor,
    gt_areas: Tensor,
    gt_crowd: Tensor,
    gt_ignore: Tensor,
    gt_ids: Tensor,
    gt_offsets: Tensor,
    area_ranges: Tensor,
    iou_thresholds: Tensor,
    *,
    ious: Optional[Tensor] = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """pycocotools' ``evaluateImg`` for every (cell, area range), in parallel.

    A cell is one (category, image) pair, cell ``k * I + i``; each side is
    packed cell after cell, ``*_offsets [C + 1]`` giving the ranges. Within a
    cell, detections come by score, descending (ties in the results' order)
    and at most the largest max-detections value; ground truth in the
    dataset's order. Box IoU is ``maskUtils.iou``'s (crowds: over the
    detection's area).

    Args:
        dt_boxes: float64 ``[D, 4]`` ``(x, y, w, h)``.
        dt_areas: float64 ``[D]`` (``loadRes``: ``w * h``).
        dt_offsets: int64 ``[C + 1]``, from 0 to ``D``, non-decreasing.
        gt_boxes: float64 ``[G, 4]``.
        gt_areas: float64 ``[G]`` (the annotations' ``area``).
        gt_crowd: bool ``[G]`` (``iscrowd``: IoU over the detection's area,
            matched any number of times).
        gt_ignore: bool ``[G]`` (ignored ground truth: crowds for bbox).
        gt_ids: int64 ``[G]`` (a match to id 0 counts as none, as in pycocotools).
        gt_offsets: int64 ``[C + 1]``, from 0 to ``G``.
        area_ranges: float64 ``[A, 2]``, ``(lowest, highest)``, inclusive.
        iou_thresholds: float64 ``[T]``.
        ious: float64 ``[P]`` or None (box IoU): the similarities to match
            by instead (OKS for keypoints, mask IoU for segm): each cell's
            ``[detections, ground truth]`` matrix, row-major, cell after
            cell (:func:`coco_oks_exponents` lists its pairs so). ``-inf``
            never matches.

    Returns:
        ``(matched, ignored, regular)``: bool ``[A, T, D]`` whether each
        detection matched, bool ``[A, T, D]`` whether it is ignored, int64
        ``[A, C]`` the regular (not ignored) ground truth of each cell.

    Raises:
        TypeError, ValueError: wrong dtypes or shapes, offsets that do not
            run from 0 to the count, NaN or infinite boxes or areas.

    Example:
        >>> f64 = dict(dtype=torch.float64)
        >>> matched, ignored, regular = coco_match(
        ...     torch.tensor([[12.0, 10, 20, 20]], **f64), torch.tensor([400.0], **f64),
        ...     torch.tensor([0, 1]), torch.tensor([[10.0, 10, 20, 20]], **f64),
        ...     torch.tensor([400.0], **f64), torch.tensor([False]), torch.tensor([False]),
        ...     torch.tensor([1]), torch.tensor([0, 1]), torch.tensor([[0.0, 1e10]], **f64),
        ...     torch.tensor([0.5, 0.75, 0.9], **f64))
        >>> matched.flatten().tolist(), regular.tolist()  # IoU 0.818...
        ([True, True, False], [[1]])
    """
    return torch.ops.mt.coco_match(
        dt_boxes,
        dt_areas,
        dt_offsets,
        gt_boxes,
        gt_areas,
        gt_crowd,
        gt_ignore,
        gt_ids,
        gt_offsets,
        area_ranges,
        iou_thresholds,
        ious=ious,
    )


def coco_oks_exponents(
    dt_keypoints: Tensor,
    gt_keypoints: Tensor,
    gt_boxes: Tensor,
    gt_areas: Tensor,
    pair_dt: Tensor,
    pair_gt: Tensor,
    sigmas: Tensor,
) -> tuple[Tensor, Tensor]:
    """The exponents of pycocotools' ``computeOks`` for listed (detection,
    ground truth) pairs, in parallel over the pairs.

    OKS of pair ``p`` is ``exp(-exponents[p, :counted[p]]).mean()``. A
    ground truth with a visible keypoint (``v > 0``) counts its visible
    ones; one with none counts all ``K``, measured to its box grown by its
    own width and height on each side. The exponential is left to the
    caller: :func:`coco_evaluate` takes NumPy's, as pycocotools does, to be
    equal to the last bit (NumPy's float64 exp differs from the C
    library's on AVX-512 CPUs).

    Args:
        dt_keypoints: float64 ``[D, K, 3]`` ``(x, y, v)``.
        gt_keypoints: float64 ``[G, K, 3]``.
        gt_boxes: float64 ``[G, 4]`` ``(x, y, w, h)``.
        gt_areas: float64 ``[G]``.
        pair_dt: int64 ``[P]`` indices into ``dt_keypoints``.
        pair_gt: int64 ``[P]`` indices into ``gt_keypoints``.
        sigmas: float64 ``[K]``, ``Params.kpt_oks_sigmas``.

    Returns:
        ``(exponents, counted)``: float64 ``[P, K]``, each row's counted
        exponents first, then ``inf``; int64 ``[P]`` how many are counted.

    Raises:
        TypeError, ValueError: wrong dtypes or shapes, an index out of
            range, NaN or infinite keypoints, boxes or areas.

    Example:
        >>> f64 = dict(dtype=torch.float64)
        >>> exponents, counted = coco_oks_exponents(
        ...     torch.tensor([[[1.0, 1, 1], [5, 6, 1]]], **f64),
        ...     torch.tensor([[[1.0, 1, 2], [5, 5, 2]]], **f64),
        ...     torch.tensor([[0.0, 0, 10, 10]], **f64), torch.tensor([100.0], **f64),
        ...     torch.tensor([0]), torch.tensor([0]), torch.tensor([0.5, 0.5], **f64))
        >>> counted.tolist(), [round(v, 6) for v in exponents[0].tolist()]
        ([2], [0.0, 0.005])
    """
    return torch.ops.mt.coco_oks_exponents(
        dt_keypoints, gt_keypoints, gt_boxes, gt_areas, pair_dt, pair_gt, sigmas
    )


def coco_accumulate(
    dt_scores: Tensor,
    matched: Tensor,
    ignored: Tensor,
    dt_offsets: Tensor,
    regular: Tensor,
    num_categories: int,
    recall_thresholds: Tensor,
    max_detections: Sequence[int],
) -> tuple[Tensor, Tensor, Tensor]:
    """pycocotools' ``accumulate`` on :func:`coco_match`'s output, in parallel
    over (category, area range, max detections).

    Args:
        dt_scores: float64 ``[D]``, non-increasing within each cell, no NaN.
        matched: bool ``[A, T, D]`` from :func:`coco_match`.
        ignored: bool ``[A, T, D]`` from :func:`coco_match`.
        dt_offsets: int64 ``[C + 1]``, as given to :func:`coco_match`.
        regular: int64 ``[A, C]`` from :func:`coco_match`.
        num_categories: ``K >= 1``; ``C`` must be ``K`` times the number of images.
        recall_thresholds: float64 ``[R]``.
        max_detections: ``M`` values ``>= 0``.

    Returns:
        ``(precision [T, R, K, A, M], recall [T, K, A, M], scores [T, R, K, A, M])``,
        float64, -1 where a category has no regular ground truth.

    Raises:
        TypeError, ValueError: wrong dtypes or shapes, unsorted or NaN scores.

    Example:
        >>> matched = torch.tensor([True, True, False]).reshape(1, 3, 1)
        >>> precision, recall, scores = coco_accumulate(
        ...     torch.tensor([0.9], dtype=torch.float64), matched, torch.zeros_like(matched),
        ...     torch.tensor([0, 1]), torch.tensor([[1]]), 1,
        ...     torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64), [100])
        >>> recall.flatten().tolist()
        [1.0, 1.0, 0.0]
    """
    return torch.ops.mt.coco_accumulate(
        dt_scores,
        matched,
        ignored,
        dt_offsets,
        regular,
        num_categories,
        recall_thresholds,
        list(max_detections),
    )
