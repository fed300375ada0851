"""Segmentations to packed RLEs for ``coco_evaluate(iou_type="segm")``, as
pycocotools' ``annToRLE`` reads them: a compressed RLE (``counts`` a
string), an uncompressed one (``counts`` a list) or polygons, which are
rasterised at the image's size and merged (``frPyObjects`` + ``merge``).
The decoding, rasterising and IoU run on the pool
(ops/detection/coco_rle_decode.cpp, coco_mask_iou.cpp). Records that are
all compressed RLEs of their image's size (what detectors write) are read
by one C pass (``torch_mt._records.rle_strings``); any other set is sorted
by form here, record by record, which also names a bad one.

RLEs: ``runs`` int64 ``[S]`` and ``spans`` int64 ``[N, 2]`` (begin, end).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from torch_mt import _records  # ops/detection/python_records.cpp

from .json_records import JsonColumns
from .offsets import offsets_of


def _fail(what: str, position: int, message: str) -> ValueError:
    return ValueError(f"torch_mt.coco_evaluate: {what}[{position}]['segmentation'] {message}")


_PLAIN_NUMBERS = {int, float}


def _numbers(values: list, what: str, position: int, message: str) -> list:
    # The types first, by a C-level pass: a generator of isinstance calls
    # took 40 ms of a 500-image polygon set; subclasses (NumPy's float64)
    # take the slow check.
    if set(map(type, values)) <= _PLAIN_NUMBERS:
        return values
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
    if isinstance(records, JsonColumns):  # read from a file: tensors, no Python object
        return _runs_of_columns(records, order, what, image_sizes, image_index, boxes)
    sizes = image_sizes[image_index[order]] if len(order) else image_sizes[:0]
    fast = _records.rle_strings(records, order.contiguous().numpy(), sizes.contiguous().numpy())
    if fast is not None:  # every one a compressed RLE of its image's size
        chars, char_offsets = (_bytes_tensor(data, dtype) for data, dtype in zip(fast, _CHARS))
        return _string_runs(chars, char_offsets, sizes, what, order)
    positions = order.tolist()
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
    pixels = sizes[:, 0] * sizes[:, 1]  # what polygons cover; RLEs are checked
    pieces = []
    base = 0
    if strings:
        char_offsets = offsets_of(torch.tensor(list(map(len, strings)), dtype=torch.int64))
        chars = _bytes_tensor(bytearray(b"".join(strings)), torch.uint8)
        counts, run_lengths, covered = torch.ops.mt._coco_rle_from_strings_pixels(
            chars, char_offsets
        )
        index = torch.tensor(string_items, dtype=torch.int64)
        starts[index], lengths[index] = char_offsets[:-1] + base, run_lengths
        pixels[index] = covered
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
        values = torch.tensor(flat, dtype=torch.float64)
        pixels[index] = _list_pixels(values, run_lengths, what, [positions[i] for i in list_items])
        pieces.append(values.to(torch.int64))
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
    _check_cover(pixels, sizes, what, positions)
    return _joined(pieces), torch.stack([starts, starts + lengths], 1)


def _joined(pieces: list) -> Tensor:
    """The pieces' runs one after another (one piece as it is: no copy)."""
    if len(pieces) == 1:
        return pieces[0]
    return torch.cat(pieces) if pieces else torch.zeros(0, dtype=torch.int64)


def _check_cover(pixels: Tensor, sizes: Tensor, what: str, positions: list) -> None:
    """Every RLE's runs must cover its image (the IoU walk assumes it):
    ``pixels[k]`` against ``sizes[k]``, record ``positions[k]``."""
    wrong = pixels != sizes[:, 0] * sizes[:, 1]
    if bool(wrong.any()):
        item = int(wrong.nonzero()[0])
        height, width = sizes[item].tolist()
        raise _fail(
            what,
            int(positions[item]),
            f"has runs that cover {int(pixels[item])} pixels, but its image has "
            f"{height * width} ({height} x {width})",
        )


def _list_pixels(values: Tensor, run_lengths: Tensor, what: str, positions: list) -> Tensor:
    """The pixels uncompressed RLEs (``counts`` lists of integers, one after
    another) cover; each count must be a run length, as in a compressed one."""
    bad = (values < 0) | (values > 2**32 - 1)
    offsets = offsets_of(run_lengths)
    if bool(bad.any()):
        owner = int(torch.searchsorted(offsets, bad.nonzero()[0], right=True)) - 1
        message = "has a count that is not a run length (0 to 2^32 - 1)"
        raise _fail(what, int(positions[owner]), message)
    running = torch.zeros(len(values) + 1, dtype=torch.int64)
    torch.cumsum(values.to(torch.int64), 0, out=running[1:])
    return running[offsets].diff()


#: The dtypes of ``_records.rle_strings``' two bytearrays.
_CHARS = (torch.uint8, torch.int64)


def _bytes_tensor(data: bytearray, dtype: torch.dtype) -> Tensor:
    """A bytearray's bytes as a tensor, not copied (frombuffer refuses an empty one)."""
    return torch.frombuffer(data, dtype=dtype) if data else torch.zeros(0, dtype=dtype)


def _string_runs(
    chars: Tensor, char_offsets: Tensor, sizes: Tensor, what: str, positions: Tensor
) -> tuple[Tensor, Tensor]:
    """Compressed RLEs (their strings one after another) decoded and read in
    place (spans), each checked to cover its size."""
    counts, lengths, pixels = torch.ops.mt._coco_rle_from_strings_pixels(chars, char_offsets)
    _check_cover(pixels, sizes, what, positions)
    return counts, torch.stack([char_offsets[:-1], char_offsets[:-1] + lengths], 1)


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


#: What coco_json_segmentation.cpp's forms above kPolygons say of a segmentation.
_FORM_MESSAGES = {
    4: "must be a polygon list or an RLE dict",
    5: "has no 'counts' string or list",
    6: "must be a non-empty list of polygons (lists of numbers)",
    7: "has a polygon that is not numbers",
    8: "has 'counts' that are not numbers",
}
_TEXT, _LIST, _POLYGONS = 1, 2, 3


def _segments(values: Tensor, starts: Tensor, lengths: Tensor) -> Tensor:
    """``values[starts[k]:starts[k] + lengths[k]]`` for each ``k``, one after another."""
    total = int(lengths.sum()) if len(lengths) else 0
    if total == 0:
        return values[:0]
    shift = torch.repeat_interleave(starts - offsets_of(lengths)[:-1], lengths)
    return values[torch.arange(total) + shift]


def _runs_of_columns(
    records: JsonColumns,
    order: Tensor,
    what: str,
    image_sizes: Tensor,
    image_index: Tensor,
    boxes: Optional[Tensor],
) -> tuple[Tensor, Tensor]:
    """:func:`segmentation_runs` of segmentations json_records read: each
    record's row (form, height, width, characters, numbers, polygons) and
    the texts, numbers and polygon lengths, grouped by form with tensor
    operations; the same checks and messages as the dict path."""
    rows = records.columns["segmentation"]
    text = records.columns["segmentation.text"]
    numbers = records.columns["segmentation.numbers"]
    parts = records.columns["segmentation.parts"]
    char_start, number_start, part_start = (offsets_of(rows[:, j])[:-1] for j in (3, 4, 5))
    picked = rows[order]
    forms = picked[:, 0]
    sizes = image_sizes[image_index[order]] if len(order) else image_sizes[:0]
    missing = forms == 0
    rle = (forms == _TEXT) | (forms == _LIST)
    polygons = forms == _POLYGONS
    first_part = torch.zeros_like(forms)
    if len(parts):
        first_part[polygons] = parts[part_start[order[polygons]]]
    # An RLE dict's size is checked first, then its counts (the dict path's order).
    from_dict = rle | (forms == 5) | (forms == 8)
    wrong_size = from_dict & (picked[:, 1:3] != sizes).any(1)
    bad = wrong_size | (forms > _POLYGONS) | (polygons & (first_part <= 4))
    bad |= missing & (boxes is None)
    if bool(bad.any()):
        item = int(bad.nonzero()[0])
        position, form = int(order[item]), int(forms[item])
        if form == 0:
            raise ValueError(f"torch_mt.coco_evaluate: {what}[{position}] has no 'segmentation'")
        if form in _FORM_MESSAGES and not bool(wrong_size[item]):
            raise _fail(what, position, _FORM_MESSAGES[form])
        if form == _POLYGONS:
            raise _fail(
                what,
                position,
                f"starts with a polygon of {int(first_part[item])} numbers (pycocotools needs > 4)",
            )
        given = picked[item, 1:3].tolist()
        raise _fail(
            what,
            position,
            f"has size {given if min(given) >= 0 else 'that is not [height, width]'}, but its "
            f"image is {sizes[item].tolist()} (height, width)",
        )
    count = len(order)
    starts = torch.zeros(count, dtype=torch.int64)
    lengths = torch.zeros(count, dtype=torch.int64)
    pixels = sizes[:, 0] * sizes[:, 1]  # what polygons cover; RLEs are checked
    pieces = []
    base = 0

    def place(items: Tensor, counts: Tensor, offsets: Tensor) -> None:
        nonlocal base
        starts[items], lengths[items] = offsets[:-1] + base, offsets.diff()
        pieces.append(counts)
        base += len(counts)

    items = (forms == _TEXT).nonzero().flatten()
    if len(items):  # compressed: every record's decoded in place of its characters,
        # in the file's order (no copy of the text); the chosen ones' spans
        counts, run_lengths, covered = torch.ops.mt._coco_rle_from_strings_pixels(
            text, offsets_of(rows[:, 3])
        )
        chosen = order[items]
        starts[items], lengths[items] = char_start[chosen] + base, run_lengths[chosen]
        pixels[items] = covered[chosen]
        pieces.append(counts)
        base += len(counts)
    items = (forms == _LIST).nonzero().flatten()
    if len(items):
        chosen = order[items]
        values = _segments(numbers, number_start[chosen], rows[chosen, 4])
        if not bool((values == values.floor()).all()):
            raise _fail(what, int(chosen[0]), "has 'counts' that are not integers")
        pixels[items] = _list_pixels(values, rows[chosen, 4], what, chosen.tolist())
        place(items, values.to(torch.int64), offsets_of(rows[chosen, 4]))
    items = polygons.nonzero().flatten()
    if len(items):  # frPyObjects + merge, rasterised at each image's size
        chosen = order[items]
        coordinates = _segments(numbers, number_start[chosen], rows[chosen, 4])
        lengths_of = _segments(parts, part_start[chosen], rows[chosen, 5])
        place(
            items,
            *torch.ops.mt.coco_rle_from_polygons(
                coordinates, offsets_of(lengths_of), offsets_of(rows[chosen, 5]), sizes[items]
            ),
        )
    items = missing.nonzero().flatten()
    if len(items):  # loadRes' polygon of a result's box
        x1, y1, w, h = boxes[order[items]].unbind(1)
        x2, y2 = x1 + w, y1 + h
        coordinates = torch.stack([x1, y1, x1, y2, x2, y2, x2, y1], 1).flatten()
        eights = torch.full((len(items),), 8, dtype=torch.int64)
        place(
            items,
            *torch.ops.mt.coco_rle_from_polygons(
                coordinates, offsets_of(eights), offsets_of(torch.ones_like(eights)), sizes[items]
            ),
        )
    _check_cover(pixels, sizes, what, order)
    return _joined(pieces), torch.stack([starts, starts + lengths], 1)
