"""Object detection: non-maximum suppression without torchvision, and COCO
evaluation equal to pycocotools.

Wrappers around ``torch.ops.mt.nms``, ``batched_nms`` and ``nms_padded``
(kernels in ``ops/detection/nms.cpp``), and the shape functions of the two whose output
size depends on the data (registered here, as fakes, for torch.compile);
and COCO evaluation, the subpackage ``coco/`` (one module per role: see
its docstring): ``coco_evaluate`` and its operators ``coco_match``,
``coco_oks_exponents``, ``coco_accumulate`` and the RLE operators
``coco_rle_from_strings``, ``coco_rle_from_polygons``,
``coco_rle_area_bbox``, ``coco_mask_iou``, ``coco_rle_encode``,
``coco_rle_decode``; ``MeanAveragePrecision``, torchmetrics' metric on those
operators.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from . import coco
from .coco import (  # noqa: F401 (COCOEvalResult: the result type)
    COCOEvalResult,
    MeanAveragePrecision,
    coco_accumulate,
    coco_evaluate,
    coco_mask_iou,
    coco_match,
    coco_oks_exponents,
    coco_rle_area_bbox,
    coco_rle_decode,
    coco_rle_encode,
    coco_rle_from_polygons,
    coco_rle_from_strings,
)

__all__ = ["batched_nms", "nms", "nms_padded", *coco.__all__]


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
    boxes: Tensor, scores: Tensor, iou_threshold: float, *, lengths: Optional[Tensor] = None
) -> Tensor:
    """Non-maximum suppression of a padded batch of images, images in parallel.

    The output has a static shape, so a compiled graph needs no dynamic sizes.

    Args:
        boxes: float32 or float64 ``[B, N, 4]``, ``(x1, y1, x2, y2)``.
        scores: ``[B, N]``, the dtype of ``boxes``.
        iou_threshold: suppress when IoU > this.
        lengths: int64 ``[B]`` or None: image ``b`` has the boxes
            ``boxes[b, :lengths[b]]``; the rest is padding and is ignored.
            None means every image has all ``N`` boxes.

    Returns:
        bool ``[B, N]``: ``True`` where a box is kept (never in the padding).
        ``keep[b].nonzero()`` lists image ``b``'s kept boxes by index; sort them
        by score for :func:`nms`'s order.

    Raises:
        RuntimeError: as :func:`nms` (naming ``boxes[b, i]``), plus a length
            outside ``[0, N]``.

    Example:
        >>> boxes = torch.tensor([[[0.0, 0, 10, 10], [1, 1, 10, 10]],
        ...                       [[0.0, 0, 10, 10], [1, 1, 10, 10]]])
        >>> scores = torch.tensor([[0.9, 0.8], [0.1, 0.8]])
        >>> nms_padded(boxes, scores, 0.5, lengths=torch.tensor([2, 1])).tolist()
        [[True, False], [True, False]]
    """
    return torch.ops.mt.nms_padded(boxes, scores, iou_threshold, lengths)


# ---- shape functions of the data-dependent operators ----------------------------
# The number of kept boxes is known only after running: the fakes return a
# fresh unbacked size, so torch.compile(fullgraph=True) keeps the call in its
# graph. Each fake first calls its op's check op (mt::_nms_checks,
# mt::_batched_nms_checks: the Meta kernels of ops/detection/nms.cpp's own
# checks), so a compiled call fails exactly as an eager one with no message
# restated here; the generic suite runs every bad input of both ops compiled.


@torch.library.register_fake("mt::nms")
def _nms_fake(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    torch.ops.mt._nms_checks(boxes, scores, iou_threshold)
    return _kept_indices(boxes)


@torch.library.register_fake("mt::batched_nms")
def _batched_nms_fake(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    torch.ops.mt._batched_nms_checks(boxes, scores, idxs, iou_threshold)
    return _kept_indices(boxes)


def _kept_indices(boxes: Tensor) -> Tensor:
    count = boxes.shape[0]
    if isinstance(count, int):  # a static box count bounds the kept count
        kept = 0 if count == 0 else torch.library.get_ctx().new_dynamic_size(max=count)
    else:  # only static bounds are accepted
        kept = torch.library.get_ctx().new_dynamic_size()
    return boxes.new_empty((kept,), dtype=torch.int64)
