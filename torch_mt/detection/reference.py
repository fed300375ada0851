"""A plain implementation written independently of the kernels: a PyTorch NMS
(what users write without torch_mt: the tests' reference and the
benchmark's baseline). The COCO operators' references are in coco/reference.py."""

from __future__ import annotations

import torch
from torch import Tensor


def nms_loop(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy NMS as a Python loop over boxes by score, IoU vectorised per kept box.

    IoU follows torchvision's arithmetic in the boxes' dtype (so results are
    bitwise comparable) and is compared with the threshold in float64.
    """
    order = torch.sort(scores, descending=True, stable=True).indices
    x1, y1, x2, y2 = boxes[order].unbind(dim=1)
    areas = (x2 - x1) * (y2 - y1)
    suppressed = torch.zeros(len(order), dtype=torch.bool)
    kept = []
    for position in range(len(order)):
        if suppressed[position]:
            continue
        kept.append(position)
        width = (torch.minimum(x2[position], x2) - torch.maximum(x1[position], x1)).clamp(min=0)
        height = (torch.minimum(y2[position], y2) - torch.maximum(y1[position], y1)).clamp(min=0)
        intersection = width * height
        iou = intersection / (areas[position] + areas - intersection)
        suppressed |= iou.double() > iou_threshold
    return order[torch.tensor(kept, dtype=torch.int64)]


# ---- COCO evaluation on packed tensors: pycocotools' loops, restated ----------
