"""Typed wrappers of the COCO mask operators (ops/detection/coco_rle_decode.cpp, coco_mask_iou.cpp):
run-length masks (RLE) as pycocotools' maskApi makes and compares them, on
packed tensors, in parallel. An RLE is a column-major binary mask as run
lengths alternating from zeros; packed RLEs are ``counts`` int64 ``[S]``
with item ``i`` at ``counts[offsets[i]:offsets[i + 1]]``."""

from __future__ import annotations

import torch
from torch import Tensor


def coco_rle_from_strings(chars: Tensor, char_offsets: Tensor) -> tuple[Tensor, Tensor]:
    """Decode COCO's compressed RLE strings (``rleFrString``), one per item.

    A string of ``B`` characters holds at most ``B`` runs, so item ``i``'s
    runs are written where its characters were: ``counts[char_offsets[i]:]
    [:lengths[i]]`` (the rest of ``counts`` is 0).

    Args:
        chars: uint8 ``[B]``, the strings' bytes, one after another.
        char_offsets: int64 ``[N + 1]``, from 0 to ``B``, non-decreasing.

    Returns:
        ``(counts, lengths)``: int64 ``[B]`` the runs, int64 ``[N]`` how many
        runs each item has.

    Raises:
        TypeError, ValueError: wrong dtypes or shapes, bad offsets, or an
            item that is not an RLE string (a character outside ``'0'`` to
            ``'o'``, a cut-off run, a run outside 32 bits).

    Example:
        >>> text = b";7300000000000c0"  # a 7 x 7 square in a 10 x 10 image
        >>> counts, lengths = coco_rle_from_strings(
        ...     torch.frombuffer(bytearray(text), dtype=torch.uint8), torch.tensor([0, len(text)]))
        >>> counts[: int(lengths[0])].tolist()[:4]
        [11, 7, 3, 7]
    """
    return torch.ops.mt.coco_rle_from_strings(chars, char_offsets)


def coco_rle_from_polygons(
    coordinates: Tensor, polygon_offsets: Tensor, annotation_offsets: Tensor, sizes: Tensor
) -> tuple[Tensor, Tensor]:
    """Rasterise polygons as pycocotools does (``frPyObjects`` + ``merge``):
    each annotation's polygons, at its mask size, united into one RLE.

    Args:
        coordinates: float64 ``[V]``: ``x0, y0, x1, y1, ...`` of every
            polygon, one after another (finite, within 1e6 of 0).
        polygon_offsets: int64 ``[Q + 1]``: polygon ``q`` is
            ``coordinates[polygon_offsets[q]:polygon_offsets[q + 1]]``.
        annotation_offsets: int64 ``[N + 1]``: annotation ``i`` has the
            polygons ``annotation_offsets[i]`` to ``annotation_offsets[i + 1]``.
        sizes: int64 ``[N, 2]``: each mask's (height, width).

    Returns:
        ``(counts, offsets)``: the packed RLEs, int64 ``[S]`` and ``[N + 1]``,
        with no zero-length run but possibly the first.

    Raises:
        TypeError, ValueError: wrong dtypes or shapes, bad offsets, NaN or
            far coordinates, negative sizes.

    Example:
        >>> counts, offsets = coco_rle_from_polygons(
        ...     torch.tensor([1.0, 1, 8, 1, 8, 8, 1, 8], dtype=torch.float64),
        ...     torch.tensor([0, 8]), torch.tensor([0, 1]), torch.tensor([[10, 10]]))
        >>> counts.tolist()[:4]
        [11, 7, 3, 7]
    """
    return torch.ops.mt.coco_rle_from_polygons(
        coordinates, polygon_offsets, annotation_offsets, sizes
    )


def coco_rle_encode(masks: Tensor) -> tuple[Tensor, Tensor]:
    """Binary masks to RLEs, as ``maskUtils.encode``: column-major runs from
    zeros (a first empty run where a mask starts with a 1), in parallel.

    Args:
        masks: bool or uint8 ``[N, H, W]`` (a pixel is set where nonzero).

    Returns:
        ``(counts, offsets)``: int64 ``[S]`` runs, int64 ``[N + 1]``.

    Raises:
        TypeError, ValueError: another dtype or number of dimensions.

    Example:
        >>> mask = torch.zeros(1, 3, 4, dtype=torch.bool)
        >>> mask[0, 1:, 1:3] = True
        >>> counts, offsets = coco_rle_encode(mask)
        >>> counts.tolist(), offsets.tolist()
        ([4, 2, 1, 2, 3], [0, 5])
    """
    return torch.ops.mt.coco_rle_encode(masks)


def coco_rle_decode(counts: Tensor, offsets: Tensor, height: int, width: int) -> Tensor:
    """RLEs to binary masks, as ``maskUtils.decode``, in parallel.

    Args:
        counts: int64 ``[S]`` runs, each in ``[0, 2**32)``.
        offsets: int64 ``[N + 1]`` (packed) or ``[N, 2]`` spans (begin, end).
        height: the masks' height.
        width: the masks' width; each RLE must cover ``height * width`` pixels.

    Returns:
        bool ``[N, height, width]``.

    Raises:
        TypeError, ValueError: wrong dtypes or shapes, bad offsets or runs,
            runs that do not cover the size.

    Example:
        >>> coco_rle_decode(torch.tensor([4, 2, 1, 2, 3]), torch.tensor([0, 5]), 3, 4).int()
        tensor([[[0, 0, 0, 0],
                 [0, 1, 1, 0],
                 [0, 1, 1, 0]]], dtype=torch.int32)
    """
    return torch.ops.mt.coco_rle_decode(counts, offsets, height, width)


def coco_rle_area_bbox(counts: Tensor, offsets: Tensor, sizes: Tensor) -> tuple[Tensor, Tensor]:
    """Each RLE's area and box, as ``maskUtils.area`` and ``maskUtils.toBbox``.

    Args:
        counts: int64 ``[S]`` runs, each in ``[0, 2**32)``.
        offsets: int64 ``[N + 1]``, from 0 to ``S``.
        sizes: int64 ``[N, 2]`` (height, width); each RLE's runs must cover
            exactly height x width pixels.

    Returns:
        ``(areas, boxes)``: float64 ``[N]`` pixel counts, float64 ``[N, 4]``
        ``(x, y, w, h)`` (all 0 for an empty mask).

    Raises:
        TypeError, ValueError: wrong dtypes or shapes, bad offsets or runs,
            runs that do not cover the size.

    Example:
        >>> areas, boxes = coco_rle_area_bbox(
        ...     torch.tensor([11, 7, 3, 7, 3, 7, 3, 7, 3, 7, 3, 7, 3, 7, 22]),
        ...     torch.tensor([0, 15]), torch.tensor([[10, 10]]))
        >>> areas.tolist(), boxes.tolist()
        ([49.0], [[1.0, 1.0, 7.0, 7.0]])
    """
    return torch.ops.mt.coco_rle_area_bbox(counts, offsets, sizes)


def coco_mask_iou(
    dt_counts: Tensor,
    dt_offsets: Tensor,
    gt_counts: Tensor,
    gt_offsets: Tensor,
    gt_crowd: Tensor,
    pair_dt: Tensor,
    pair_gt: Tensor,
) -> Tensor:
    """Mask IoU of listed (detection, ground truth) pairs, as ``maskUtils.iou``:
    intersection over union, over the detection's area for a crowd, 0 without
    overlap. The two masks of a pair have the same size (their runs cover the
    same number of pixels).

    Args:
        dt_counts: int64 ``[S]``, packed detection RLEs.
        dt_offsets: int64 ``[D + 1]``.
        gt_counts: int64 ``[T]``, packed ground-truth RLEs.
        gt_offsets: int64 ``[G + 1]``.
        gt_crowd: bool ``[G]``.
        pair_dt: int64 ``[P]`` detection indices.
        pair_gt: int64 ``[P]`` ground-truth indices.

    Returns:
        float64 ``[P]``.

    Raises:
        TypeError, ValueError: wrong dtypes or shapes, bad offsets, runs or
            indices.

    Example:
        >>> square = torch.tensor([11, 7, 3, 7, 3, 7, 3, 7, 3, 7, 3, 7, 3, 7, 22])
        >>> shifted = torch.tensor([21, 7, 3, 7, 3, 7, 3, 7, 3, 7, 3, 7, 3, 7, 12])
        >>> coco_mask_iou(square, torch.tensor([0, 15]), shifted, torch.tensor([0, 15]),
        ...               torch.tensor([False]), torch.tensor([0]), torch.tensor([0])).tolist()
        [0.75]
    """
    return torch.ops.mt.coco_mask_iou(
        dt_counts, dt_offsets, gt_counts, gt_offsets, gt_crowd, pair_dt, pair_gt
    )
