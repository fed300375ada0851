"""Segmentations to packed RLEs for ``coco_evaluate(iou_type="segm")``, as
pycocotools' ``annToRLE`` reads them: a compressed RLE (``counts`` a
string), an uncompressed one (``counts`` a list) or polygons, which are
rasterised at the image's size and merged (``frPyObjects`` + ``merge``).
The decoding, rasterising and IoU run on the pool
(ops/detection/coco_rle_decode.cpp, coco_mask_iou.cpp); Python only sorts the annotations by form.

RLEs: ``runs`` int64 ``[S]`` and ``spans`` int64 ``[N, 2]`` (begin, end).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from .offsets import offsets_of


def _fail(what: str, position: int, message: str) -> ValueError:
    return ValueError(f"torch_mt.coco_evaluate: {what}[{position}]['segmentation'] {message}")


def _numbers(values: list, what: str, position: int, message: str) -> list:
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise _fail(what, position, message)
    return values


def segmentation_runs(
    records: list,
    order: Tensor,
    what: str,
    image_sizes: Tensor,
    image_index: Tensor,
    boxes: Optional[Tensor] = None,
) -> tuple[Tensor, Tensor]:
    """The RLE of ``records[i]`` for each ``i`` in ``order``: ``(runs,
    spans [N, 2])``, item ``k``'s runs at ``runs[spans[k, 0]:spans[k, 1]]``
    (the operators read them in place, with no packing copy).
    ``image_sizes`` int64 ``[I, 2]`` (height, width) by image index,
    ``image_index`` each record's image. A compressed or uncompressed RLE
    must have its image's size (pycocotools would silently give IoU -1).
    ``boxes`` ``[N, 4]``: results that ``loadRes`` read as boxes; one
    without a segmentation gets its box's polygon, as ``loadRes`` gives it."""
    positions = order.tolist()
    sizes = image_sizes[image_index[order]] if len(positions) else image_sizes[:0]
    fast = _all_strings(records, positions, sizes)
    if fast is not None:  # every one a compressed RLE of its image's size
        return _string_runs(fast, sizes)
    size_list = sizes.tolist()
    strings, string_items = [], []
    lists, list_items = [], []
    polygons, polygon_items, polygon_counts = [], [], []
    for item, (position, size) in enumerate(zip(positions, size_list)):
        record = records[position]
        if "segmentation" in record:
            segmentation = record["segmentation"]
        elif boxes is not None:
            x1, y1, w, h = boxes[position].tolist()
            x2, y2 = x1 + w, y1 + h
            segmentation = [[x1, y1, x1, y2, x2, y2, x2, y1]]
        else:
            raise ValueError(f"torch_mt.coco_evaluate: {what}[{position}] has no 'segmentation'")
        if isinstance(segmentation, dict):
            counts, rle_size = segmentation.get("counts"), segmentation.get("size")
            if not isinstance(rle_size, (list, tuple)) or list(rle_size) != size:
                raise _fail(
                    what,
                    position,
                    f"has size {rle_size!r}, but its image is {size} (height, width)",
                )
            if isinstance(counts, (str, bytes)):
                strings.append(counts.encode() if isinstance(counts, str) else counts)
                string_items.append(item)
            elif isinstance(counts, list):
                lists.append(_numbers(counts, what, position, "has 'counts' that are not numbers"))
                list_items.append(item)
            else:
                raise _fail(what, position, "has no 'counts' string or list")
        elif isinstance(segmentation, list):
            parts = _polygons(segmentation, what, position)
            polygons.extend(parts)
            polygon_items.append(item)
            polygon_counts.append(len(parts))
        else:
            raise _fail(what, position, "must be a polygon list or an RLE dict")
    count = len(positions)
    starts = torch.zeros(count, dtype=torch.int64)
    lengths = torch.zeros(count, dtype=torch.int64)
    pieces = []
    base = 0
    if strings:
        char_offsets, counts, run_lengths = _decoded(strings)
        index = torch.tensor(string_items, dtype=torch.int64)
        starts[index], lengths[index] = char_offsets[:-1] + base, run_lengths
        pieces.append(counts)
        base += len(counts)
    if lists:
        run_lengths = torch.tensor(list(map(len, lists)), dtype=torch.int64)
        index = torch.tensor(list_items, dtype=torch.int64)
        starts[index] = offsets_of(run_lengths)[:-1]
        starts[index] += base
        lengths[index] = run_lengths
        flat = [value for counts in lists for value in counts]
        if not all(isinstance(v, int) or float(v).is_integer() for v in flat):
            raise _fail(what, positions[list_items[0]], "has 'counts' that are not integers")
        pieces.append(torch.tensor(flat, dtype=torch.float64).to(torch.int64))
        base += len(flat)
    if polygons:
        index = torch.tensor(polygon_items, dtype=torch.int64)
        coordinates = torch.tensor([v for part in polygons for v in part], dtype=torch.float64)
        polygon_offsets = offsets_of([len(part) for part in polygons])
        item_offsets = offsets_of(polygon_counts)
        counts, offsets = torch.ops.mt.coco_rle_from_polygons(
            coordinates, polygon_offsets, item_offsets, sizes[index]
        )
        starts[index], lengths[index] = offsets[:-1] + base, offsets.diff()
        pieces.append(counts)
    runs = torch.cat(pieces) if pieces else torch.zeros(0, dtype=torch.int64)
    spans = torch.stack([starts, starts + lengths], 1)
    # Every run list must cover its image (the IoU walk assumes it).
    torch.ops.mt.coco_rle_area_bbox(runs, spans, sizes)
    return runs, spans


def _all_strings(records: list, positions: list, sizes: Tensor) -> Optional[list]:
    """The compressed counts of the records, as bytes, by C-level passes,
    when every one is a compressed RLE of its image's size (what detectors
    write); else None (the per-record path names any problem)."""
    try:
        segmentations = [records[i]["segmentation"] for i in positions]
        counts = [segmentation["counts"] for segmentation in segmentations]
        given_sizes = [segmentation["size"] for segmentation in segmentations]
    except (KeyError, TypeError, IndexError):
        return None
    try:  # 1-D lists: a [N, 2] tensor's tolist() costs 1 us a row
        heights = [size[0] for size in given_sizes]
        widths = [size[1] for size in given_sizes]
    except (KeyError, TypeError, IndexError):
        return None
    if not all(isinstance(size, list) and len(size) == 2 for size in given_sizes):
        return None
    if heights != sizes[:, 0].tolist() or widths != sizes[:, 1].tolist():
        return None
    if not all(isinstance(c, str) for c in counts):
        return None
    return [text.encode() for text in counts]


def _decoded(strings: list) -> tuple[Tensor, Tensor, Tensor]:
    """``(char_offsets, counts, lengths)``: the strings (bytes) one after
    another, decoded by ``mt::coco_rle_from_strings`` (runs in place of
    their characters)."""
    char_lengths = torch.tensor(list(map(len, strings)), dtype=torch.int64)
    char_offsets = offsets_of(char_lengths)
    text = b"".join(strings)
    chars = (
        torch.frombuffer(bytearray(text), dtype=torch.uint8)
        if text
        else torch.zeros(0, dtype=torch.uint8)
    )
    return char_offsets, *torch.ops.mt.coco_rle_from_strings(chars, char_offsets)


def _string_runs(strings: list, sizes: Tensor) -> tuple[Tensor, Tensor]:
    """Decoded compressed RLEs, read in place (spans), each checked to cover
    its size."""
    char_offsets, counts, lengths = _decoded(strings)
    spans = torch.stack([char_offsets[:-1], char_offsets[:-1] + lengths], 1)
    torch.ops.mt.coco_rle_area_bbox(counts, spans, sizes)
    return counts, spans


def _polygons(segmentation: list, what: str, position: int) -> list:
    """The polygons of a list segmentation. pycocotools' ``frPyObjects``
    needs a first polygon of more than 4 numbers (one of 4 it takes for a
    box and then fails on the list), so that is refused here too."""
    if not segmentation or not all(isinstance(part, list) for part in segmentation):
        raise _fail(what, position, "must be a non-empty list of polygons (lists of numbers)")
    first = len(segmentation[0])
    if first <= 4:
        raise _fail(
            what, position, f"starts with a polygon of {first} numbers (pycocotools needs > 4)"
        )
    return [
        _numbers(part, what, position, "has a polygon that is not numbers") for part in segmentation
    ]


def rle_areas_and_boxes(
    records: list, what: str, image_sizes: Tensor, image_index: Tensor
) -> tuple[Tensor, Tensor]:
    """``loadRes``' area and box of segmentation results: each RLE's pixel
    count (``maskUtils.area``) and ``maskUtils.toBbox``."""
    order = torch.arange(len(records))
    runs, offsets = segmentation_runs(records, order, what, image_sizes, image_index)
    return torch.ops.mt.coco_rle_area_bbox(runs, offsets, image_sizes[image_index])
