"""COCO's dicts to packed tensors for torch_mt.coco_evaluate (evaluate.py): the
semantics of pycocotools' ``COCO`` index and ``COCO.loadRes``.

Packing (the operators' "cells", ops/detection/coco_match.cpp): cell
``k * I + i`` holds category index ``k`` and image index ``i`` (sorted ids),
or image ``i`` alone with ``use_categories=False``. Ground truth keeps the
dataset's order within a cell; detections are sorted by score, descending,
ties in the results' order, and cut to the largest max-detections value.
Every error names the annotation (its index in its list) and the field.
"""

from __future__ import annotations

import json
import os
from operator import itemgetter
from typing import Any, Optional

import torch
from torch import Tensor

from torch_mt import _records  # ops/detection/python_records.cpp

from .json_records import TRUTH_FIELDS, JsonColumns
from .masks import rle_areas_and_boxes


def load_json(source: Any) -> Any:
    """Python's json of a path or bytes (the forms json_records.py does not read)."""
    if isinstance(source, (str, os.PathLike)):
        with open(source) as file:
            return json.load(file)
    if isinstance(source, (bytes, bytearray)):
        return json.loads(source)
    return source


def sorted_ids(gt: dict, key: str) -> list:
    """``sorted(getImgIds())`` / ``sorted(getCatIds())``: unique ids, sorted."""
    if key not in gt:
        if key == "categories":
            return []
        raise ValueError(f"torch_mt.coco_evaluate: 'gt' has no '{key}' list")
    items = gt[key]
    if isinstance(items, JsonColumns):
        return torch.unique(items.columns["id"]).tolist()
    try:
        return sorted(set(map(itemgetter("id"), items)))
    except (KeyError, TypeError):
        for position, item in enumerate(items):
            if not isinstance(item, dict) or "id" not in item:
                raise ValueError(
                    f"torch_mt.coco_evaluate: gt['{key}'][{position}] has no 'id'"
                ) from None
        raise


def _column(annotations: list, key: str, what: str) -> list:
    """One field of every annotation, by a C loop (``map(itemgetter)``); on a
    missing key or a non-dict, the item and the field are named."""
    try:
        return list(map(itemgetter(key), annotations))
    except (KeyError, TypeError):
        for position, annotation in enumerate(annotations):
            if not isinstance(annotation, dict):
                raise ValueError(
                    f"torch_mt.coco_evaluate: {what}[{position}] is a "
                    f"{type(annotation).__name__}, not a dict"
                ) from None
            if key not in annotation:
                raise ValueError(
                    f"torch_mt.coco_evaluate: {what}[{position}] has no '{key}'"
                ) from None
        raise


def _numbers(values: list, key: str, what: str, width: int = 0) -> Tensor:
    """float64 tensor of a column: ``[N]`` numbers or ``[N, width]`` lists."""
    try:
        out = torch.tensor(values, dtype=torch.float64)
        if width and values and out.shape[1:] != (width,):
            raise ValueError
        if width and not values:
            out = out.reshape(0, width)
        return out
    except (TypeError, ValueError, RuntimeError):
        for position, value in enumerate(values):
            try:
                item = torch.tensor(value, dtype=torch.float64)
            except (TypeError, ValueError, RuntimeError):
                raise ValueError(
                    f"torch_mt.coco_evaluate: {what}[{position}]['{key}'] is not a number"
                    + (f" list of {width}" if width else "")
                ) from None
            if width and item.shape != (width,):
                raise ValueError(
                    f"torch_mt.coco_evaluate: {what}[{position}]['{key}'] must hold {width} "
                    "numbers, "
                    f"got {list(item.shape) or 'a scalar'}"
                ) from None
        raise


def indices(ids: Tensor, known: list) -> tuple[Tensor, Tensor]:
    """Index of each id in the sorted ``known`` ids, and whether it is there
    (an unknown id gets index 0, or the nearest: never used)."""
    known_t = torch.tensor(known, dtype=torch.int64)
    if not known:
        return torch.zeros_like(ids), torch.zeros_like(ids, dtype=torch.bool)
    low, high = known[0], known[-1]
    if low >= 0 and high < 4 * len(known) + 1024:  # COCO's ids: a table lookup (a gather)
        table = torch.full((high + 2,), -1, dtype=torch.int64)
        table[known_t] = torch.arange(len(known))
        outside = (ids < 0) | (ids > high)
        index = table[ids.masked_fill(outside, high + 1)]  # high + 1: no id there
        return index.clamp(min=0), index >= 0
    index = torch.searchsorted(known_t, ids).clamp(max=len(known) - 1)
    return index, known_t[index] == ids


#: The fields read from each record: key, kind for torch_mt._records (i int64,
#: r float64, t truth, b box), and the tensor dtype and shape of the column.
_GT_FIELDS = TRUTH_FIELDS
_KIND_DTYPES = {"i": torch.int64, "r": torch.float64, "t": torch.bool, "b": torch.float64}


def columns(records: list, fields: tuple, what: str) -> dict[str, Tensor]:
    """Each field of every record as a tensor: by one C pass
    (``torch_mt._records``) when every record is regular, else field by
    field in Python, which names the first bad record and field."""
    if isinstance(records, JsonColumns):  # read from the file already, checked
        return {key: records.column(key, what) for key, _ in fields}
    keys = tuple(key for key, _ in fields)
    kinds = "".join(kind for _, kind in fields)
    raw = _records.columns(records, keys, kinds) if isinstance(records, list) else None
    if raw is not None:
        out = {}
        for (key, kind), buffer in zip(fields, raw):
            dtype = torch.uint8 if kind == "t" else _KIND_DTYPES[kind]
            column = (
                torch.frombuffer(buffer, dtype=dtype)
                if len(buffer)
                else torch.zeros(0, dtype=dtype)
            )
            out[key] = (
                column.bool() if kind == "t" else column.reshape(-1, 4) if kind == "b" else column
            )
        return out
    out = {}
    for key, kind in fields:
        values = _column(records, key, what)
        if kind == "i":
            out[key] = _integers(values, key, what)
        elif kind == "t":
            out[key] = torch.tensor(list(map(bool, values)), dtype=torch.bool)
        else:
            out[key] = _numbers(values, key, what, width=4 if kind == "b" else 0)
    return out


def _integers(values: list, key: str, what: str) -> Tensor:
    for position, value in enumerate(values):
        if not isinstance(value, int):
            raise ValueError(
                f"torch_mt.coco_evaluate: {what}[{position}]['{key}'] must be an int, "
                f"got {type(value).__name__}"
            )
    return torch.tensor(values, dtype=torch.int64)


def _cells(
    image_index: Tensor, category_index: Tensor, images: int, use_categories: bool
) -> Tensor:
    return category_index * images + image_index if use_categories else image_index


def ground_truth(
    annotations: list,
    image_ids: list,
    category_ids: list,
    use_categories: bool,
    keypoint_count: int = 0,
) -> dict:
    """The ground truth's columns, its cells and its order within them.
    ``keypoint_count`` > 0 (keypoints) reads ``keypoints`` ``[G, K, 3]`` and
    ``num_keypoints`` too: ``ignore`` is then a crowd or no keypoint, as in
    ``COCOeval._prepare``; otherwise a crowd."""
    what = "gt['annotations']"
    fields = _GT_FIELDS + ((("num_keypoints", "i"),) if keypoint_count else ())
    read = columns(annotations, fields, what)
    ids = read["id"]
    if len(torch.unique(ids)) != len(ids):
        seen: set = set()
        for position, value in enumerate(ids.tolist()):
            if value in seen:
                raise ValueError(
                    f"torch_mt.coco_evaluate: {what}[{position}] repeats the id {value!r} "
                    "(pycocotools would silently evaluate another annotation in its place)"
                )
            seen.add(value)
    image_index, on_image = indices(read["image_id"], image_ids)
    category_index, in_category = indices(read["category_id"], category_ids)
    cell, order, cell_offsets = truth_order(
        image_index,
        category_index,
        on_image & in_category,
        len(image_ids),
        len(category_ids),
        use_categories,
    )
    packed = {
        "image": image_index,
        "boxes": read["bbox"],
        "areas": read["area"],
        "crowd": read["iscrowd"],
        "ignore": read["iscrowd"],
        "ids": ids,
        "cell": cell,
        "order": order,
        "offsets": cell_offsets,
    }
    if keypoint_count:
        packed["keypoints"] = keypoint_rows(annotations, what, keypoint_count)
        packed["ignore"] = read["iscrowd"] | (read["num_keypoints"] == 0)
    return packed


def result_kind(results: list) -> str:
    """Which of ``loadRes``'s branches the results take, by the first one:
    ``"bbox"`` (a non-empty bbox: area = w * h), ``"segmentation"`` (area
    and box from the RLE) or ``"keypoints"`` (area and box from the
    keypoints' extent)."""
    if isinstance(results, JsonColumns):
        return results.result_kind
    first = results[0] if results else {}
    if not isinstance(first, dict):
        raise ValueError(f"torch_mt.coco_evaluate: dt[0] is a {type(first).__name__}, not a dict")
    if "bbox" in first and first["bbox"] != []:
        return "bbox"
    if "segmentation" in first:
        return "segmentation"
    if "keypoints" in first:
        return "keypoints"
    return "bbox"  # no result, or none of the three: the bbox path names the missing field


def detections(
    results: list,
    image_ids: list,
    category_ids: list,
    use_categories: bool,
    max_detections: int,
    keypoint_count: int = 0,
    gt_images: Optional[list] = None,
) -> dict:
    """The results' columns as ``loadRes`` derives them (see
    :func:`result_kind`; segmentation results need ``gt_images``, the
    dataset's images, for their sizes), their cells and their order."""
    what = "dt"
    kind = result_kind(results)
    packed = {}
    if keypoint_count or kind == "keypoints":  # first: keypoint results name them missing
        count = keypoint_count or _keypoint_count(results[0], what)
        packed["keypoints"] = keypoint_rows(results, what, count)
    fields = (("image_id", "i"), ("category_id", "i"), ("score", "r"))
    fields += (("bbox", "b"),) if kind == "bbox" else ()
    read = columns(results, fields, what)
    image_index, on_image = indices(read["image_id"], image_ids)
    if not bool(on_image.all()):
        position = int((~on_image).nonzero()[0])
        raise ValueError(
            f"torch_mt.coco_evaluate: dt[{position}] is on image_id "
            f"{int(read['image_id'][position])}, which is not in gt['images']"
        )
    category_index, in_category = indices(read["category_id"], category_ids)
    scores = read["score"]
    if bool(scores.isnan().any()):
        raise ValueError(
            f"torch_mt.coco_evaluate: dt[{int(scores.isnan().nonzero()[0])}]['score'] is NaN"
        )
    packed["scores"] = scores
    if kind == "bbox":
        boxes = read["bbox"]
        _check_finite(boxes, "bbox", what)
        areas = boxes[:, 2] * boxes[:, 3]  # loadRes: w * h
    elif kind == "segmentation":  # loadRes: maskUtils.area and toBbox of the RLE
        sizes = image_sizes(gt_images, image_ids)
        areas, boxes = rle_areas_and_boxes(results, what, sizes, image_index)
    else:  # loadRes: the extent of every keypoint, visible or not
        low, high = torch.aminmax(packed["keypoints"][:, :, :2], dim=1)  # [N, 2]: x, y
        boxes = torch.cat([low, high - low], 1)
        areas = (high[:, 0] - low[:, 0]) * (high[:, 1] - low[:, 1])
    packed["boxes"], packed["areas"], packed["image"] = boxes, areas, image_index
    packed["kind"] = kind
    packed["cell"], packed["order"], packed["offsets"] = detection_order(
        image_index, category_index, in_category, scores, len(image_ids), len(category_ids),
        use_categories, max_detections,
    )  # fmt: skip
    return packed


def truth_order(
    image_index: Tensor,
    category_index: Tensor,
    kept: Tensor,
    images: int,
    categories: int,
    use_categories: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """Each annotation's cell, the kept ones' order and each cell's offsets
    in it: cell by cell, the dataset's order within a cell, pooled
    categories by category first (``mt::_coco_cell_order``)."""
    cell = _cells(image_index, category_index, images, use_categories)
    cells = images * categories if use_categories else images
    order, offsets = torch.ops.mt._coco_cell_order(
        cell, cells, kept, None, None if use_categories else category_index
    )
    return cell, order, offsets


def detection_order(
    image_index: Tensor,
    category_index: Tensor,
    kept: Tensor,
    scores: Tensor,
    images: int,
    categories: int,
    use_categories: bool,
    max_detections: int,
) -> tuple[Tensor, Tensor, Tensor]:
    """Each result's cell, the kept ones' order and each cell's offsets in
    it: cell by cell, by score descending within a cell, ties by category
    when categories are pooled, then in the results' order (the order
    pycocotools sorts from); each cell's first ``max_detections`` only."""
    cell = _cells(image_index, category_index, images, use_categories)
    cells = images * categories if use_categories else images
    order, offsets = torch.ops.mt._coco_cell_order(
        cell, cells, kept, scores, None if use_categories else category_index, max_detections
    )
    return cell, order, offsets


def _check_finite(values: Tensor, key: str, what: str) -> None:
    # One reduction, no [N, ...] bool tensor: aminmax propagates NaN.
    if not len(values):
        return
    low, high = torch.aminmax(values)
    if bool(high < float("inf")) and bool(low > -float("inf")):
        return
    finite = values.flatten(1).isfinite().all(1)
    if not bool(finite.all()):
        raise ValueError(
            f"torch_mt.coco_evaluate: {what}[{int((~finite).nonzero()[0])}]['{key}'] has a NaN "
            "or infinite number"
        )


def _keypoint_count(record: dict, what: str) -> int:
    keypoints = record.get("keypoints") if isinstance(record, dict) else None
    if not isinstance(keypoints, list) or len(keypoints) % 3:
        raise ValueError(
            f"torch_mt.coco_evaluate: {what}[0]['keypoints'] must be a list of (x, y, v) "
            "triples, a multiple of 3 numbers"
        )
    return len(keypoints) // 3


def keypoint_rows(records: list, what: str, count: int) -> Tensor:
    """float64 ``[N, count, 3]``: each record's ``keypoints``, ``3 * count``
    numbers (``count``: the sigmas' length)."""
    if isinstance(records, JsonColumns):
        # Finite already: the native reader refuses NaN, Infinity and numbers
        # past the double range (1e999) with an error naming the position.
        return records.columns["keypoints"].reshape(-1, count, 3)
    raw = _records.columns(records, ("keypoints",), "l", 3 * count) if records else None
    if raw is not None:  # the C pass: every record regular
        rows = torch.frombuffer(raw[0], dtype=torch.float64).reshape(-1, count, 3)
        _check_finite(rows, "keypoints", what)
        return rows
    values = _column(records, "keypoints", what)
    try:
        regular = set(map(len, values)) <= {3 * count}
    except TypeError:
        regular = False
    lengths = [] if regular else [len(v) if isinstance(v, list) else -1 for v in values]
    for position, length in enumerate(lengths):
        if length % 3 or length != 3 * count:
            raise ValueError(
                f"torch_mt.coco_evaluate: {what}[{position}]['keypoints'] must hold "
                f"{3 * count} numbers ({count} (x, y, v) triples, one per sigma), got "
                + (f"{length}" if length >= 0 else f"a {type(values[position]).__name__}")
                + (" (not a multiple of 3)" if length % 3 and length >= 0 else "")
            )
    rows = _numbers(values, "keypoints", what, width=3 * count).reshape(-1, count, 3)
    _check_finite(rows, "keypoints", what)
    return rows


def image_sizes(images: Optional[list], image_ids: list) -> Tensor:
    """int64 ``[I, 2]``: (height, width) of each image, by sorted id."""
    what = "gt['images']"
    read = columns(images or [], (("id", "i"), ("height", "i"), ("width", "i")), what)
    index, _ = indices(read["id"], image_ids)
    sizes = torch.zeros(len(image_ids), 2, dtype=torch.int64)
    sizes[index] = torch.stack([read["height"], read["width"]], 1)
    return sizes
