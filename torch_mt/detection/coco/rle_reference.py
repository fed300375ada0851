"""References of the COCO mask operators (ops/detection/coco_rle_decode.cpp, coco_mask_iou.cpp):
pycocotools' maskUtils itself where it takes the same input (polygons,
uncompressed RLEs), and a plain Python decoder of COCO's RLE strings.
pycocotools is a test dependency (pinned in the test extra): imported here,
by the specs, only."""

from __future__ import annotations

import numpy as np
import torch
from pycocotools import mask as mask_utils
from torch import Tensor


def canonical_runs(mask: np.ndarray) -> list:
    """The runs of a 2-D mask, column-major, from zeros, with no zero-length
    run but possibly the first (the form coco_rle_from_polygons gives)."""
    flat = mask.flatten(order="F").astype(np.int64)
    if len(flat) == 0:
        return [0]
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [len(flat)]])
    runs = np.diff(bounds).tolist()
    return ([0] + runs) if flat[0] == 1 else runs


def _uncompressed(runs: list, height: int, width: int) -> dict:
    return mask_utils.frPyObjects({"size": [height, width], "counts": runs}, height, width)


def coco_rle_from_strings_loop(chars: Tensor, char_offsets: Tensor) -> tuple[Tensor, Tensor]:
    """rleFrString restated in Python: 5 bits a character from '0', bit 5
    continues, bit 4 of the last one is the sign; from the fourth run on a
    difference to the run two before."""
    text, offsets = bytes(chars.tolist()), char_offsets.tolist()
    counts, lengths = [0] * len(text), []
    for start, end in zip(offsets, offsets[1:]):
        runs, p = [], start
        while p < end:
            value, shift, more = 0, 0, True
            while more:
                c = text[p] - 48
                value |= (c & 0x1F) << shift
                more = bool(c & 0x20)
                p, shift = p + 1, shift + 5
                if not more and c & 0x10:
                    value |= -1 << shift
            if len(runs) > 2:
                value += runs[-2]
            runs.append(value)
        counts[start : start + len(runs)] = runs
        lengths.append(len(runs))
    return torch.tensor(counts, dtype=torch.int64), torch.tensor(lengths, dtype=torch.int64)


def coco_rle_from_polygons_loop(
    coordinates: Tensor, polygon_offsets: Tensor, annotation_offsets: Tensor, sizes: Tensor
) -> tuple[Tensor, Tensor]:
    """maskUtils.frPyObjects + merge per annotation, decoded and run-length
    encoded again in canonical form."""
    xy, polygon_at = coordinates.tolist(), polygon_offsets.tolist()
    item_at, size = annotation_offsets.tolist(), sizes.tolist()
    counts, offsets = [], [0]
    for i, (height, width) in enumerate(size):
        polygons = [
            xy[polygon_at[q] : polygon_at[q + 1]] for q in range(item_at[i], item_at[i + 1])
        ]
        if polygons:
            rle = mask_utils.merge(mask_utils.frPyObjects(polygons, height, width))
            mask = mask_utils.decode(rle)
        else:
            mask = np.zeros((height, width), dtype=np.uint8)
        counts += canonical_runs(mask)
        offsets.append(len(counts))
    return torch.tensor(counts, dtype=torch.int64), torch.tensor(offsets, dtype=torch.int64)


def _spans(offsets: Tensor) -> list:
    """(begin, end) of each RLE, from offsets [N + 1] or spans [N, 2]."""
    if offsets.dim() == 2:
        return [tuple(span) for span in offsets.tolist()]
    at = offsets.tolist()
    return list(zip(at, at[1:]))


def coco_rle_area_bbox_loop(
    counts: Tensor, offsets: Tensor, sizes: Tensor
) -> tuple[Tensor, Tensor]:
    """maskUtils.area and maskUtils.toBbox of each RLE."""
    runs, size = counts.tolist(), sizes.tolist()
    rles = [_uncompressed(runs[b:e], h, w) for (b, e), (h, w) in zip(_spans(offsets), size)]
    if not rles:
        return torch.zeros(0, dtype=torch.float64), torch.zeros(0, 4, dtype=torch.float64)
    # One at a time: maskUtils.area sizes an array by the list's length in
    # uint8, which overflows past 255 RLEs under NumPy 2.
    areas = torch.tensor([float(mask_utils.area([rle])[0]) for rle in rles], dtype=torch.float64)
    boxes = torch.from_numpy(np.asarray(mask_utils.toBbox(rles), dtype=np.float64).reshape(-1, 4))
    return areas, boxes


def coco_mask_iou_loop(
    dt_counts: Tensor,
    dt_offsets: Tensor,
    gt_counts: Tensor,
    gt_offsets: Tensor,
    gt_crowd: Tensor,
    pair_dt: Tensor,
    pair_gt: Tensor,
) -> Tensor:
    """maskUtils.iou of each listed pair (masks as ``h x w``: every RLE's
    runs cover the same pixels; a 1 x pixels mask is as good as any)."""

    def rles(counts: Tensor, offsets: Tensor) -> list:
        runs = counts.tolist()
        return [runs[begin:end] for begin, end in _spans(offsets)]

    detections, truths = rles(dt_counts, dt_offsets), rles(gt_counts, gt_offsets)
    crowd = gt_crowd.tolist()
    out = []
    for i, j in zip(pair_dt.tolist(), pair_gt.tolist()):
        pixels = sum(truths[j])
        d, g = _uncompressed(detections[i], 1, pixels), _uncompressed(truths[j], 1, pixels)
        out.append(float(mask_utils.iou([d], [g], [int(crowd[j])])[0][0]))
    return torch.tensor(out, dtype=torch.float64)


def coco_rle_encode_loop(masks: Tensor) -> tuple[Tensor, Tensor]:
    """maskUtils.encode of each mask, its string read back into runs by the
    plain decoder above."""
    counts, offsets = [], [0]
    for mask in masks.numpy():
        text = mask_utils.encode(np.asfortranarray((mask != 0).astype(np.uint8)))["counts"]
        chars = torch.tensor(list(text), dtype=torch.uint8)
        runs, lengths = coco_rle_from_strings_loop(chars, torch.tensor([0, len(text)]))
        counts += runs[: int(lengths[0])].tolist()
        offsets.append(len(counts))
    return torch.tensor(counts, dtype=torch.int64), torch.tensor(offsets, dtype=torch.int64)


def coco_rle_decode_loop(counts: Tensor, offsets: Tensor, height: int, width: int) -> Tensor:
    """maskUtils.decode of each RLE."""
    runs = counts.tolist()
    masks = [
        mask_utils.decode(_uncompressed(runs[begin:end], height, width)).astype(bool)
        for begin, end in _spans(offsets)
    ]
    if not masks:
        return torch.zeros(0, height, width, dtype=torch.bool)
    return torch.from_numpy(np.stack(masks))
