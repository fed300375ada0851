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
    Indices may point anywhere in the keypoint rows (records' order)."""
    # The pairs sorted by how many keypoints they count (the ground truth's
    # visible ones, all K when it has none) before the operator runs, so each
    # count's rows come out as one slice: no gather and scatter of [P, K].
    # The groups below are the runs of the operator's own counts, so they
    # are right even where this estimate of a count were not.
    visible = (gt_keypoints[:, :, 2] > 0).sum(1)
    counts = torch.where(visible > 0, visible, gt_keypoints.shape[1])
    by_count = torch.sort(counts[pair_gt], stable=True).indices
    exponents, counted = torch.ops.mt.coco_oks_exponents(
        dt_keypoints, gt_keypoints, gt_boxes, gt_areas, pair_dt[by_count], pair_gt[by_count], sigmas
    )
    exponents_np, counted_np = exponents.numpy(), counted.numpy()
    out = np.empty(len(counted_np))
    bounds = [0, *(np.flatnonzero(np.diff(counted_np)) + 1).tolist(), len(counted_np)]
    for start, end in zip(bounds[:-1], bounds[1:]) if len(counted_np) else []:
        count = counted_np[start]
        # -e of the slice is a new C-contiguous [rows, count] array, as the
        # gathered rows were: np.sum adds each row in 1-D np.sum's order.
        out[start:end] = np.sum(np.exp(-exponents_np[start:end, :count]), axis=1) / count
    similarities = torch.empty(len(counted_np), dtype=torch.float64)
    similarities[by_count] = torch.from_numpy(out)
    return similarities
