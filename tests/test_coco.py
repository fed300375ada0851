"""coco_evaluate against pycocotools 2.0.11 itself: bitwise equal precision,
recall, scores and stats, and the same summary text, on hypothesis-drawn
datasets with pycocotools' corner cases."""

from __future__ import annotations

import copy
import json
import random

import numpy as np
import pytest
from coco_reference import assert_equal_to_pycocotools, pycocotools_run
from hypothesis import given, settings
from hypothesis import strategies as st

import torch_mt


@st.composite
def coco_sets(draw):
    """A ground-truth dict and results drawn around it: crowds, tied and
    repeated scores, integer boxes (IoU exactly at a threshold) or real ones,
    empty images, images without detections, detections in categories with
    no ground truth or not in the dataset at all, ground-truth id 0, more
    detections on an image than the largest max-detections value, the same
    box twice (in one category or two: ties the matching breaks by order)."""
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    images = draw(st.integers(1, 8))
    categories = draw(st.integers(1, 4))
    integer = draw(st.booleans())
    crowd_rate = draw(st.sampled_from([0.0, 0.15, 0.5]))
    many = draw(st.booleans())  # up to 120 detections on an image
    image_ids = rng.sample(range(0, 1000), images)
    category_ids = rng.sample(range(1, 100), categories)

    def box():
        if integer:
            return [rng.randint(0, 40), rng.randint(0, 40), rng.randint(1, 40), rng.randint(1, 40)]
        return [rng.uniform(0, 40), rng.uniform(0, 40), rng.uniform(0.5, 40), rng.uniform(0.5, 40)]

    annotations, results = [], []
    next_id = rng.choice([0, 1])  # id 0: pycocotools counts a match to it as none
    for image in image_ids:
        for _ in range(rng.choice([0, rng.randint(0, 6)])):
            bbox = box()
            if annotations and annotations[-1]["image_id"] == image and rng.random() < 0.3:
                bbox = list(annotations[-1]["bbox"])  # the same box again: tied IoUs
            annotations.append(
                {
                    "id": next_id,
                    "image_id": image,
                    "category_id": rng.choice(category_ids + [1000]),  # 1000: not a category
                    "bbox": bbox,
                    "area": bbox[2] * bbox[3] * rng.choice([1, 1, 0.5, 3]),
                    "iscrowd": int(rng.random() < crowd_rate),
                }
            )
            next_id += 1
        for _ in range(rng.randint(0, 130 if many else 12)):
            if annotations and rng.random() < 0.6:  # near a ground-truth box
                truth = rng.choice(annotations)
                bbox = [v + rng.choice([0, 0, 1, -1, 2]) for v in truth["bbox"]]
                bbox[2], bbox[3] = max(bbox[2], 1), max(bbox[3], 1)
                image_id, category = truth["image_id"], truth["category_id"]
            else:
                bbox, image_id, category = box(), image, rng.choice(category_ids)
            score = rng.choice([0.5, 0.9, 0.1, 1.0, rng.random(), rng.random()])
            results.append(
                {"image_id": image_id, "category_id": category, "bbox": bbox, "score": score}
            )
    gt = {
        "images": [{"id": i} for i in image_ids],
        "categories": [{"id": c} for c in category_ids],
        "annotations": annotations,
    }
    return gt, results


@settings(max_examples=60)
@given(data=coco_sets(), threads=st.sampled_from([1, 2, 3]))
def test_bbox_equals_pycocotools(data, threads):
    gt, results = data
    if not results:  # pycocotools' loadRes cannot take an empty list
        return
    with torch_mt.num_threads(threads):
        ours = torch_mt.coco_evaluate(gt, results)
    assert_equal_to_pycocotools(ours, *pycocotools_run(gt, results))


@settings(max_examples=30)
@given(
    data=coco_sets(),
    use_categories=st.booleans(),
    max_detections=st.sampled_from([None, [1, 10, 50], [100, 1, 5], [0, 2, 3, 100]]),
    iou_thresholds=st.sampled_from([None, [0.5], [0.3, 0.5, 0.75, 1.0]]),
    recall_thresholds=st.sampled_from([None, [0.0, 0.5, 1.0], [0.9, 0.2]]),
    area_ranges=st.sampled_from(
        [None, {"all": (0, 1e10), "small": (0, 100), "medium": (100, 400), "large": (400, 1e10)}]
    ),
)
def test_custom_parameters_equal_pycocotools(
    data, use_categories, max_detections, iou_thresholds, recall_thresholds, area_ranges
):
    gt, results = data
    if not results:
        return
    params = {"useCats": int(use_categories)}
    if max_detections is not None:
        params["maxDets"] = list(max_detections)
    if iou_thresholds is not None:
        params["iouThrs"] = np.array(iou_thresholds)
    if recall_thresholds is not None:
        params["recThrs"] = np.array(recall_thresholds)
    if area_ranges is not None:
        params["areaRng"] = [list(r) for r in area_ranges.values()]
        params["areaRngLbl"] = list(area_ranges)
    ours = torch_mt.coco_evaluate(
        gt,
        results,
        use_categories=use_categories,
        max_detections=max_detections,
        iou_thresholds=iou_thresholds,
        recall_thresholds=recall_thresholds,
        area_ranges=area_ranges,
    )
    assert_equal_to_pycocotools(ours, *pycocotools_run(gt, results, **params))


def test_paths_and_no_detections(tmp_path):
    gt = {
        "images": [{"id": 3}],
        "categories": [{"id": 1}],
        "annotations": [
            {
                "id": 1,
                "image_id": 3,
                "category_id": 1,
                "bbox": [0, 0, 4, 4],
                "area": 16,
                "iscrowd": 0,
            }
        ],
    }
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dt.json").write_text("[]")
    result = torch_mt.coco_evaluate(tmp_path / "gt.json", str(tmp_path / "dt.json"))
    # No detection: recall 0 where there is ground truth, precision 0 (not -1).
    # A 16-pixel box is "small": medium and large have no ground truth (-1).
    assert result.stats.tolist() == [0.0, 0.0, 0.0, 0.0, -1.0, -1.0, 0.0, 0.0, 0.0, 0.0, -1.0, -1.0]


GOOD_GT = {
    "images": [{"id": 1}],
    "categories": [{"id": 1}],
    "annotations": [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2], "area": 4, "iscrowd": 0}
    ],
}
GOOD_DT = {"image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2], "score": 0.5}


def with_annotation(**fields):
    gt = copy.deepcopy(GOOD_GT)
    gt["annotations"].append({**gt["annotations"][0], "id": 2, **fields})
    return gt


@pytest.mark.parametrize(
    "gt, dt, error, match",
    [
        (
            GOOD_GT,
            [GOOD_DT, {**GOOD_DT, "image_id": 9}],
            ValueError,
            r"dt\[1\] is on image_id 9, which is not in",
        ),
        (
            GOOD_GT,
            [{**GOOD_DT, "bbox": [0, 0, 2]}],
            ValueError,
            r"dt\[0\]\['bbox'\] must hold 4 numbers",
        ),
        (
            GOOD_GT,
            [GOOD_DT, {**GOOD_DT, "score": float("nan")}],
            ValueError,
            r"dt\[1\]\['score'\] is NaN",
        ),
        (
            GOOD_GT,
            [{k: v for k, v in GOOD_DT.items() if k != "score"}],
            ValueError,
            r"dt\[0\] has no 'score'",
        ),
        (
            GOOD_GT,
            [{**GOOD_DT, "bbox": [0, 0, float("inf"), 1]}],
            ValueError,
            r"dt\[0\]\['bbox'\] has a NaN",
        ),
        (
            GOOD_GT,
            [{**GOOD_DT, "score": "high"}],
            ValueError,
            r"dt\[0\]\['score'\] is not a number",
        ),
        (
            with_annotation(area=None),
            [GOOD_DT],
            ValueError,
            r"gt\['annotations'\]\[1\]\['area'\] is not a number",
        ),
        (
            with_annotation(id=1),
            [GOOD_DT],
            ValueError,
            r"gt\['annotations'\]\[1\] repeats the id 1",
        ),
        ({"categories": []}, [GOOD_DT], ValueError, r"'gt' has no 'images' list"),
        (GOOD_GT, [GOOD_DT, 3], ValueError, r"dt\[1\] is a int, not a dict"),
        (GOOD_GT, {"bbox": []}, TypeError, r"'dt' must be a list of result dicts"),
    ],
)
def test_bad_input_names_the_annotation_and_the_field(gt, dt, error, match):
    with pytest.raises(error, match=f"torch_mt.coco_evaluate: {match}"):
        torch_mt.coco_evaluate(gt, dt)


def test_fewer_than_three_max_detections_are_refused():
    # pycocotools' summarize fails with an IndexError there.
    with pytest.raises(ValueError, match=r"max_detections needs 3 values or more.*got \[1, 100\]"):
        torch_mt.coco_evaluate(GOOD_GT, [GOOD_DT], max_detections=[100, 1])


def test_unknown_iou_type_names_the_supported_ones():
    with pytest.raises(ValueError, match=r"iou_type must be one of \('bbox', .*\), got 'mask'"):
        torch_mt.coco_evaluate(GOOD_GT, [GOOD_DT], "mask")
