"""coco_evaluate(iou_type="segm") against pycocotools 2.0.11: bitwise equal
precision, recall, scores and stats, and the same summary, on hypothesis-drawn
sets with polygons (repeated vertices among them), compressed and
uncompressed RLEs, crowds, and results as RLEs, as boxes with RLEs or
polygons, or as boxes alone; and the RLE operators against maskUtils."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from coco_reference import assert_equal_to_pycocotools, pycocotools_run
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils

import torch_mt


def _polygon(rng, x, y, w, h, integer):
    points = []
    for _ in range(rng.randint(3, 8)):
        if integer:
            points += [rng.randint(x - 2, x + w + 2), rng.randint(y - 2, y + h + 2)]
        else:
            points += [rng.uniform(x - 2, x + w + 2), rng.uniform(y - 2, y + h + 2)]
    if rng.random() < 0.2:
        points[2:4] = points[0:2]  # a repeated vertex: rleFrPoly divides 0 by 0
    return points


def _mask(rng, height, width, near=None):
    mask = np.zeros((height, width), dtype=np.uint8)
    for _ in range(rng.randint(1, 3)):
        if near is not None and rng.random() < 0.7:
            x, y, w, h = near
            x0, y0 = int(x) + rng.randint(-3, 3), int(y) + rng.randint(-3, 3)
            x1, y1 = (
                x0 + max(1, int(w) + rng.randint(-3, 3)),
                y0 + max(1, int(h) + rng.randint(-3, 3)),
            )
        else:
            x0, y0 = rng.randint(0, width - 1), rng.randint(0, height - 1)
            x1, y1 = x0 + rng.randint(1, 20), y0 + rng.randint(1, 20)
        mask[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = 1
    if not mask.any():
        mask[rng.randrange(height), rng.randrange(width)] = 1
    return mask


def _truth_mask(segmentation, height, width):
    """The ground truth's mask as pycocotools' annToMask makes it."""
    if isinstance(segmentation, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    elif isinstance(segmentation["counts"], list):
        rle = mask_utils.frPyObjects(segmentation, height, width)
    else:
        rle = segmentation
    return mask_utils.decode(rle)


def _rle(mask, compressed=True):
    rle = mask_utils.encode(np.asfortranarray(mask))
    if compressed:
        return {"size": rle["size"], "counts": rle["counts"].decode()}
    flat = mask.flatten(order="F")
    changes = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    counts = np.diff(np.concatenate([[0], changes])).tolist()
    return {"size": list(mask.shape), "counts": counts}


@st.composite
def segm_sets(draw):
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    integer = draw(st.booleans())
    result_form = draw(st.sampled_from(["rle", "box+rle", "box+polygon", "box"]))
    images = [
        {"id": i, "height": rng.randint(8, 48), "width": rng.randint(8, 48)}
        for i in rng.sample(range(1, 300), draw(st.integers(1, 4)))
    ]
    category_ids = rng.sample(range(1, 30), draw(st.integers(1, 3)))
    annotations, results = [], []
    for image in images:
        height, width = image["height"], image["width"]
        for _ in range(rng.randint(0, 4)):
            x, y = rng.randint(0, width - 4), rng.randint(0, height - 4)
            w, h = rng.randint(2, width - x), rng.randint(2, height - y)
            form = rng.choice(["polygon", "polygons", "rle", "uncompressed"])
            if form in ("polygon", "polygons"):
                parts = 1 if form == "polygon" else 2
                segmentation = [_polygon(rng, x, y, w, h, integer) for _ in range(parts)]
            else:
                segmentation = _rle(_mask(rng, height, width, (x, y, w, h)), form == "rle")
            crowd = int(rng.random() < 0.15)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image["id"],
                    "category_id": rng.choice(category_ids),
                    "segmentation": segmentation,
                    "bbox": [x, y, w, h],
                    "area": float(w * h) * rng.choice([1, 0.5]),
                    "iscrowd": crowd,
                }
            )
        own = [a for a in annotations if a["image_id"] == image["id"]]
        for _ in range(rng.randint(0, 8)):
            category = rng.choice(category_ids)
            if own and rng.random() < 0.7:  # the ground truth's mask, shifted a little
                truth = rng.choice(own)
                category = truth["category_id"] if rng.random() < 0.8 else category
                mask = _truth_mask(truth["segmentation"], height, width)
                mask = np.roll(mask, (rng.randint(-1, 1), rng.randint(-1, 1)), (0, 1))
                if not mask.any():
                    mask = _mask(rng, height, width)
            else:
                mask = _mask(rng, height, width)
            result = {
                "image_id": image["id"],
                "category_id": category,
                "score": rng.choice([0.5, 0.9, rng.random()]),
            }
            ys, xs = np.nonzero(mask)
            box = [
                int(xs.min()),
                int(ys.min()),
                int(xs.max() - xs.min() + 1),
                int(ys.max() - ys.min() + 1),
            ]
            if result_form != "rle":
                result["bbox"] = box
            if result_form in ("rle", "box+rle"):
                result["segmentation"] = _rle(mask)
            elif result_form == "box+polygon":
                result["segmentation"] = [_polygon(rng, *box, integer)]
            results.append(result)
    gt = {
        "images": images,
        "categories": [{"id": c} for c in category_ids],
        "annotations": annotations,
    }
    return gt, results


@settings(max_examples=40)
@given(data=segm_sets(), threads=st.sampled_from([1, 2, 3]), use_categories=st.booleans())
def test_segm_equals_pycocotools(data, threads, use_categories):
    gt, results = data
    if not results:  # pycocotools' loadRes cannot take an empty list
        return
    with torch_mt.num_threads(threads):
        ours = torch_mt.coco_evaluate(gt, results, "segm", use_categories=use_categories)
    expected = pycocotools_run(gt, results, "segm", useCats=int(use_categories))
    assert_equal_to_pycocotools(ours, *expected)


@settings(max_examples=40)
@given(seed=st.integers(0, 2**32 - 1), crowd=st.booleans())
def test_rle_operators_equal_mask_utils(seed, crowd):
    """Rasterised polygons, decoded strings, area, box and IoU, each against
    maskUtils on the same input."""
    rng = random.Random(seed)
    height, width = rng.randint(1, 40), rng.randint(1, 40)
    polygons = [_polygon(rng, 0, 0, width, height, rng.random() < 0.5) for _ in range(2)]
    expected = mask_utils.merge(mask_utils.frPyObjects(polygons, height, width))
    coordinates = torch.tensor([v for p in polygons for v in p], dtype=torch.float64)
    runs, offsets = torch.ops.mt.coco_rle_from_polygons(
        coordinates,
        torch.tensor([0, len(polygons[0]), len(coordinates)]),
        torch.tensor([0, 2]),
        torch.tensor([[height, width]]),
    )
    mask = np.zeros(height * width, dtype=np.uint8)
    ends = np.cumsum(runs.numpy())
    for r in range(1, len(ends), 2):
        mask[ends[r - 1] : ends[r]] = 1
    assert np.array_equal(mask.reshape(width, height).T, mask_utils.decode(expected))
    other = mask_utils.encode(np.asfortranarray(_mask(rng, height, width)))
    strings = [expected["counts"], other["counts"]]
    chars = torch.frombuffer(bytearray(b"".join(strings)), dtype=torch.uint8)
    char_offsets = torch.tensor([0, len(strings[0]), len(chars)])
    counts, lengths = torch.ops.mt.coco_rle_from_strings(chars, char_offsets)
    decoded = [counts[char_offsets[i] : char_offsets[i] + lengths[i]] for i in range(2)]
    packed = torch.cat(decoded)
    packed_offsets = torch.tensor([0, len(decoded[0]), len(packed)])
    areas, boxes = torch.ops.mt.coco_rle_area_bbox(
        packed, packed_offsets, torch.tensor([[height, width]] * 2)
    )
    assert areas.tolist() == mask_utils.area([expected, other]).tolist()
    assert np.array_equal(boxes.numpy(), mask_utils.toBbox([expected, other]))
    ious = torch.ops.mt.coco_mask_iou(
        packed, packed_offsets, packed, packed_offsets, torch.tensor([crowd, False]),
        torch.tensor([0, 1, 1]), torch.tensor([1, 0, 1]),
    )  # fmt: skip
    reference = mask_utils.iou([expected, other], [expected, other], [int(crowd), 0])
    assert ious.tolist() == [reference[0, 1], reference[1, 0], reference[1, 1]]


GT = {
    "images": [{"id": 1, "height": 10, "width": 10}],
    "categories": [{"id": 1}],
    "annotations": [
        {
            "id": 1,
            "image_id": 1,
            "category_id": 1,
            "segmentation": [[1, 1, 8, 1, 8, 8, 1, 8]],
            "bbox": [1, 1, 7, 7],
            "area": 49,
            "iscrowd": 0,
        }
    ],
}
RLE = {"size": [10, 10], "counts": ";7300000000000c0"}
DT = {"image_id": 1, "category_id": 1, "segmentation": RLE, "score": 0.9}


def _with(**fields):
    return {**DT, **fields}


def _rle_of(size, counts):
    return _with(segmentation={"size": size, "counts": counts})


BOXED = {"bbox": [0, 0, 3, 3]}


@pytest.mark.parametrize(
    "dt, match",
    [
        (
            [_rle_of([9, 10], RLE["counts"])],
            r"dt\[0\]\['segmentation'\] has size \[9, 10\], but its image is \[10, 10\]",
        ),
        ([DT, _rle_of([10, 10], "e1~4")], r"coco_rle_from_strings: item 1 is not a COCO RLE"),
        (
            [_rle_of([10, 10], [3, 4])],
            r"dt\[0\]\['segmentation'\] has runs that cover 7 pixels, but its image has 100",
        ),
        ([_rle_of([10, 10], [3, -4])], r"dt\[0\]\['segmentation'\] has a count that is not"),
        ([_with(segmentation={"size": [10, 10]})], r"dt\[0\]\['segmentation'\] has no 'counts'"),
        (
            [_with(**BOXED, segmentation=[[1, 2]])],
            r"dt\[0\]\['segmentation'\] starts with a polygon of 2 numbers",
        ),
        (
            [_with(**BOXED, segmentation=[[1, 2, 3, 4], [1, 2, 3, 4, 5, 6]])],
            r"starts with a polygon of 4 numbers",
        ),
    ],
)
def test_bad_segmentations_name_the_result_and_the_field(dt, match):
    with pytest.raises(ValueError, match=match):
        torch_mt.coco_evaluate(GT, dt, "segm")


def test_images_need_their_size_for_polygons():
    gt = {**GT, "images": [{"id": 1}]}
    with pytest.raises(ValueError, match=r"gt\['images'\]\[0\] has no 'height'"):
        torch_mt.coco_evaluate(gt, [DT], "segm")


#: Segmentations the C pass (torch_mt._records.rle_strings) must refuse,
#: leaving them to the record-by-record path: each differs from a regular
#: compressed RLE of a 4 x 5 image in one way.
_IRREGULAR = [
    {"size": [4.0, 5], "counts": "0Y1"},  # a float height (Python compares it equal)
    {"size": [True, 5], "counts": "0Y1"},
    {"size": (4, 5), "counts": "0Y1"},
    {"size": [4, 5, 1], "counts": "0Y1"},
    {"size": [4, 6], "counts": "0Y1"},
    {"size": [3, 5], "counts": "0Y1"},
    {"size": [4, 5], "counts": b"0Y1"},
    {"size": [4, 5], "counts": "0Y1\u00e9"},  # not ASCII
    {"size": [4, 5], "counts": [0, 20]},
    {"size": [4, 5]},
    {"counts": "0Y1"},
    [[0, 0, 1, 1, 2, 0]],
]


@pytest.mark.parametrize("irregular", [None, *range(len(_IRREGULAR) + 2)])
@settings(max_examples=8, deadline=None)
@given(
    texts=st.lists(st.text(alphabet="0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[", max_size=12)),
    picks=st.data(),
    threads=st.sampled_from([1, 2, 3]),
)
def test_the_rle_string_pass_reads_what_python_reads(irregular, texts, picks, threads):
    """rle_strings gives the picked records' counts one after another (any
    order, repeats), or None where one is not a compressed RLE dict of its
    size, a record is not a dict, or has no 'segmentation'."""
    from torch_mt import _records

    records = [{"segmentation": {"size": [4, 5], "counts": text}, "score": 1} for text in texts]
    if irregular is not None and records:
        where = picks.draw(st.integers(0, len(records) - 1))
        if irregular < len(_IRREGULAR):
            records[where]["segmentation"] = _IRREGULAR[irregular]
        elif irregular == len(_IRREGULAR):
            records[where] = ["not", "a", "dict"]
        else:
            del records[where]["segmentation"]
    index = st.integers(0, max(len(records) - 1, 0))
    positions = picks.draw(st.lists(index, max_size=20)) if records else []
    if irregular is not None and records:  # the odd record is always read
        positions.insert(picks.draw(st.integers(0, len(positions))), where)
    order = torch.tensor(positions, dtype=torch.int64)
    sizes = torch.tensor([[4, 5]] * len(positions), dtype=torch.int64).reshape(-1, 2)
    torch_mt.set_num_threads(threads)
    try:
        found = _records.rle_strings(records, order.numpy(), sizes.numpy())
    finally:
        torch_mt.reset_num_threads()

    def regular(record):
        segmentation = record.get("segmentation") if isinstance(record, dict) else None
        return (
            isinstance(segmentation, dict)
            and type(segmentation.get("size")) is list
            and [type(v) for v in segmentation["size"]] == [int, int]
            and segmentation["size"] == [4, 5]
            and type(segmentation.get("counts")) is str
            and segmentation["counts"].isascii()
        )

    if not all(regular(records[p]) for p in positions):
        assert found is None
        return
    chars, offsets = found
    expected = [records[p]["segmentation"]["counts"].encode() for p in positions]
    assert bytes(chars) == b"".join(expected)
    assert (
        np.frombuffer(offsets, dtype=np.int64).tolist()
        == np.cumsum([0] + [len(text) for text in expected]).tolist()
    )
