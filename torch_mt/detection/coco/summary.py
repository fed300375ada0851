"""``COCOeval.summarize`` on torch_mt.coco_evaluate's arrays: pycocotools'
means, by NumPy as it computes them, and the lines it prints."""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from torch import Tensor


def summarize(
    precision: Tensor,
    recall: Tensor,
    iou_thresholds: Tensor,
    max_detections: tuple,
    labels: list,
    keypoints: bool = False,
) -> tuple[Tensor, list[str]]:
    """``COCOeval.summarize``: for bbox and segm its twelve means (the third
    max-detections value where it reads ``maxDets[2]``), for keypoints its
    ten (max detections 20, as pycocotools hard-codes), and its lines."""
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

    if keypoints:
        stats = np.zeros((10,))
        stats[0] = one(1, max_det=20)
        stats[1] = one(1, max_det=20, iou=0.5)
        stats[2] = one(1, max_det=20, iou=0.75)
        stats[3] = one(1, max_det=20, area="medium")
        stats[4] = one(1, max_det=20, area="large")
        stats[5] = one(0, max_det=20)
        stats[6] = one(0, max_det=20, iou=0.5)
        stats[7] = one(0, max_det=20, iou=0.75)
        stats[8] = one(0, max_det=20, area="medium")
        stats[9] = one(0, max_det=20, area="large")
        return torch.from_numpy(stats), lines
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
