"""The similarities ``mt::coco_match`` takes in place of box IoU: OKS for
keypoints (``mt::coco_oks_exponents``, ops/detection/coco_oks.cpp), on
every (detection, ground truth) pair of every cell, laid out as
``coco_match``'s ``ious``: cell after cell, each cell's matrix row-major."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

#: pycocotools' ``Params.kpt_oks_sigmas`` (the 17 COCO person keypoints),
#: computed the same way.
COCO_KEYPOINT_SIGMAS = (
    np.array(
        [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87]
        + [0.89, 0.89]
    )
    / 10.0
)


def cell_pairs(dt_offsets: Tensor, gt_offsets: Tensor) -> tuple[Tensor, Tensor]:
    """``(pair_dt, pair_gt)``: the packed indices of every (detection, ground
    truth) pair of each cell, cell after cell, detection-major."""
    dt_counts, gt_counts = dt_offsets.diff(), gt_offsets.diff()
    detections = int(dt_offsets[-1])
    cell_of_dt = torch.repeat_interleave(torch.arange(len(dt_counts)), dt_counts)
    per_dt = gt_counts[cell_of_dt]  # each detection meets its cell's ground truth
    pair_dt = torch.repeat_interleave(torch.arange(detections), per_dt)
    first_pair = per_dt.cumsum(0) - per_dt
    within = torch.arange(len(pair_dt)) - torch.repeat_interleave(first_pair, per_dt)
    pair_gt = torch.repeat_interleave(gt_offsets[:-1][cell_of_dt], per_dt) + within
    return pair_dt, pair_gt


def keypoint_similarities(
    dt_keypoints: Tensor,
    gt_keypoints: Tensor,
    gt_boxes: Tensor,
    gt_areas: Tensor,
    pair_dt: Tensor,
    pair_gt: Tensor,
    sigmas: Tensor,
) -> Tensor:
    """OKS of each listed pair, float64 ``[P]``, equal to pycocotools'
    ``computeOks`` to the last bit: the exponents come from the operator,
    the exponential and the mean from NumPy as pycocotools takes them
    (``np.sum(np.exp(-e)) / len(e)``; why: ops/detection/coco_oks.cpp).
    Pairs that count the same number of keypoints are reduced together: a
    row sum of a contiguous row adds in the order a 1-D ``np.sum`` does.
    The pair indices may point anywhere in the keypoint rows: coco_evaluate
    passes its records' rows with the indices composed with the packed order
    (no [D, K, 3] gather). Sorting the pairs by count before the operator,
    to reduce slices instead of fancy-indexed rows, was tried: the operator
    then reads the rows out of order and loses what NumPy gains."""
    exponents, counted = torch.ops.mt.coco_oks_exponents(
        dt_keypoints, gt_keypoints, gt_boxes, gt_areas, pair_dt, pair_gt, sigmas
    )
    exponents_np, counted_np = exponents.numpy(), counted.numpy()
    out = np.empty(len(counted_np))
    # The pairs grouped by count with one sort, not a mask over all pairs per count.
    order = np.argsort(counted_np, kind="stable")
    bounds = np.flatnonzero(np.diff(counted_np[order])) + 1
    for rows in np.split(order, bounds) if len(order) else []:
        count = counted_np[rows[0]]
        out[rows] = np.sum(np.exp(-exponents_np[rows, :count]), axis=1) / count
    return torch.from_numpy(out)
