"""Non-maximum suppression for object detection, without torchvision.

Wrappers around ``torch.ops.mt.nms``, ``batched_nms`` and ``nms_padded``
(kernels in ``ops/nms.cpp``), and the shape functions of the two whose output
size depends on the data (registered here, as fakes, for torch.compile).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy non-maximum suppression, with torchvision's semantics.

    Boxes are visited by decreasing score (equal scores: lower index first);
    a box is kept unless its IoU with an already kept box is greater than
    ``iou_threshold``. On large inputs the IoU tests fan out over torch_mt's pool.

    Args:
        boxes: float32 or float64 ``[N, 4]``, ``(x1, y1, x2, y2)`` with
            ``x1 <= x2`` and ``y1 <= y2``. Zero-area boxes are allowed: a pair
            whose union is empty never suppresses (IoU 0/0 is not > threshold).
        scores: ``[N]``, the dtype of ``boxes``; ``±inf`` allowed.
        iou_threshold: suppress when IoU > this.

    Returns:
        int64 ``[K]``: indices of the kept boxes, by decreasing score.

    Raises:
        RuntimeError: wrong shape, dtype or device; a NaN score; a NaN or
            infinite coordinate; a box with ``x2 < x1`` or ``y2 < y1``; a NaN
            threshold. The message names the op, the argument and the box.

    Example:
        >>> boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]])
        >>> nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5).tolist()
        [0, 2]
    """
    return torch.ops.mt.nms(boxes, scores, iou_threshold)


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """Non-maximum suppression within each category, categories in parallel.

    Boxes of different categories (``idxs``) never suppress each other; each
    category is suppressed as by :func:`nms`.

    Args:
        boxes: float32 or float64 ``[N, 4]``, ``(x1, y1, x2, y2)``.
        scores: ``[N]``, the dtype of ``boxes``.
        idxs: int64 ``[N]``: the category of each box (any values).
        iou_threshold: suppress when IoU > this.

    Returns:
        int64 ``[K]``: indices of the kept boxes of all categories, by
        decreasing score (equal scores: lower index first).

    Raises:
        RuntimeError: as :func:`nms`, plus a wrong dtype or length of ``idxs``.

    Example:
        >>> boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 10, 10], [1, 1, 10, 10]])
        >>> scores = torch.tensor([0.9, 0.8, 0.7])
        >>> batched_nms(boxes, scores, torch.tensor([0, 0, 1]), 0.5).tolist()
        [0, 2]
    """
    return torch.ops.mt.batched_nms(boxes, scores, idxs, iou_threshold)


def nms_padded(
    boxes: Tensor, scores: Tensor, counts: Optional[Tensor], iou_threshold: float
) -> Tensor:
    """Non-maximum suppression of a padded batch of images, images in parallel.

    The output has a static shape, so a compiled graph needs no dynamic sizes.

    Args:
        boxes: float32 or float64 ``[B, N, 4]``, ``(x1, y1, x2, y2)``.
        scores: ``[B, N]``, the dtype of ``boxes``.
        counts: int64 ``[B]`` or None: image ``b`` has the boxes
            ``boxes[b, :counts[b]]``; the rest is padding and is ignored.
            None means every image has all ``N`` boxes.
        iou_threshold: suppress when IoU > this.

    Returns:
        bool ``[B, N]``: ``True`` where a box is kept (never in the padding).
        ``keep[b].nonzero()`` lists image ``b``'s kept boxes by index; sort them
        by score for :func:`nms`'s order.

    Raises:
        RuntimeError: as :func:`nms` (naming ``boxes[b, i]``), plus a count
            outside ``[0, N]``.

    Example:
        >>> boxes = torch.tensor([[[0.0, 0, 10, 10], [1, 1, 10, 10]],
        ...                       [[0.0, 0, 10, 10], [1, 1, 10, 10]]])
        >>> scores = torch.tensor([[0.9, 0.8], [0.1, 0.8]])
        >>> nms_padded(boxes, scores, torch.tensor([2, 1]), 0.5).tolist()
        [[True, False], [True, False]]
    """
    return torch.ops.mt.nms_padded(boxes, scores, counts, iou_threshold)


# ---- shape functions of the data-dependent operators ----------------------------
# The number of kept boxes is known only after running: the fakes return a
# fresh unbacked size, so torch.compile(fullgraph=True) keeps the call in its
# graph. Their checks repeat the kernel's shape checks (ops/nms.cpp) so that a
# compiled call fails the same way as an eager one.


def _check_same_device(op: str, boxes: Tensor, name: str, other: Tensor) -> None:
    torch._check(
        other.device == boxes.device,
        lambda: f"{op}: argument '{name}' is on {other.device} but 'boxes' is on {boxes.device}")


def _check_boxes(op: str, boxes: Tensor, scores: Tensor, iou_threshold: float) -> None:
    _check_same_device(op, boxes, "scores", scores)
    torch._check(
        boxes.dim() == 2, lambda: f"{op}: argument 'boxes' must be a 2-D tensor [N, 4], "
        f"got {boxes.dim()}-D")
    torch._check(
        scores.dim() == 1, lambda: f"{op}: argument 'scores' must be a 1-D tensor [N], "
        f"got {scores.dim()}-D")
    torch._check(
        boxes.dtype in (torch.float32, torch.float64),
        lambda: f"{op}: argument 'boxes' must be float32 or float64, got {boxes.dtype}")
    torch._check(
        scores.dtype == boxes.dtype,
        lambda: f"{op}: arguments 'boxes' and 'scores' must have the same dtype")
    torch._check(
        boxes.shape[1] == 4, lambda: f"{op}: argument 'boxes' has size {boxes.shape[1]} in "
        "dimension 1 but (x1, y1, x2, y2) boxes need 4")
    torch._check(
        scores.shape[0] == boxes.shape[0],
        lambda: f"{op}: argument 'scores' has size {scores.shape[0]} in dimension 0 but the "
        f"matching size of 'boxes' is {boxes.shape[0]}")
    torch._check(
        iou_threshold == iou_threshold, lambda: f"{op}: argument 'iou_threshold' is NaN")


def _kept_indices(boxes: Tensor) -> Tensor:
    count = boxes.shape[0]
    if isinstance(count, int):  # a static box count bounds the kept count
        kept = 0 if count == 0 else torch.library.get_ctx().new_dynamic_size(max=count)
    else:  # only static bounds are accepted
        kept = torch.library.get_ctx().new_dynamic_size()
    return boxes.new_empty((kept,), dtype=torch.int64)


@torch.library.register_fake("mt::nms")
def _nms_fake(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    _check_boxes("mt::nms", boxes, scores, iou_threshold)
    return _kept_indices(boxes)


@torch.library.register_fake("mt::batched_nms")
def _batched_nms_fake(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    _check_boxes("mt::batched_nms", boxes, scores, iou_threshold)
    _check_same_device("mt::batched_nms", boxes, "idxs", idxs)
    torch._check(
        idxs.dim() == 1 and idxs.dtype == torch.int64,
        lambda: "mt::batched_nms: argument 'idxs' must be a 1-D int64 tensor [N]")
    torch._check(
        idxs.shape[0] == boxes.shape[0],
        lambda: f"mt::batched_nms: argument 'idxs' has size {idxs.shape[0]} in dimension 0 "
        f"but the number of boxes is {boxes.shape[0]}")
    return _kept_indices(boxes)
