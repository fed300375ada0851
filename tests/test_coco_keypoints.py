"""coco_evaluate(iou_type="keypoints") against pycocotools 2.0.11: bitwise
equal precision, recall, scores and stats (OKS included), and the same
summary, on hypothesis-drawn keypoint sets."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from coco_reference import assert_equal_to_pycocotools, pycocotools_run
from hypothesis import given, settings
from hypothesis import strategies as st

import torch_mt
from torch_mt.detection.coco.similarity import COCO_KEYPOINT_SIGMAS, keypoint_similarities


@st.composite
def keypoint_sets(draw):
    """Ground truth with visible, hidden and no keypoints (OKS to the grown
    box), crowds, ``num_keypoints`` 0; results near it or anywhere, with
    integer or real coordinates, tied scores, a bbox or not (``loadRes``'s
    two area rules), more than 20 on an image."""
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    count = draw(st.sampled_from([17, 3]))
    integer = draw(st.booleans())
    with_bbox = draw(st.booleans())
    image_ids = rng.sample(range(1, 500), draw(st.integers(1, 5)))
    category_ids = rng.sample(range(1, 50), draw(st.integers(1, 2)))

    def coordinate(low, high):
        return rng.randint(low, high) if integer else rng.uniform(low, high)

    annotations, results = [], []
    for image in image_ids:
        for _ in range(rng.randint(0, 4)):
            x, y = coordinate(0, 200), coordinate(0, 200)
            w, h = coordinate(1, 120), coordinate(1, 120)
            hidden = rng.random() < 0.25  # no visible keypoint
            keypoints = []
            for _ in range(count):
                v = 0 if hidden else rng.choice([0, 1, 2, 2])
                keypoints += [coordinate(x, x + w), coordinate(y, y + h), v] if v else [0, 0, 0]
            visible = sum(1 for v in keypoints[2::3] if v > 0)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image,
                    "category_id": rng.choice(category_ids),
                    "bbox": [x, y, w, h],
                    "area": w * h * rng.choice([1, 0.6]),
                    "iscrowd": int(rng.random() < 0.1),
                    "keypoints": keypoints,
                    "num_keypoints": visible if rng.random() < 0.9 else 0,
                }
            )
        for _ in range(rng.randint(0, 25 if rng.random() < 0.3 else 6)):
            if annotations and rng.random() < 0.7:
                truth = rng.choice(annotations)
                x, y, w, h = truth["bbox"]
                keypoints = []
                for k in range(count):
                    gx, gy = truth["keypoints"][3 * k : 3 * k + 2]
                    noise = rng.choice([0, 1, 3, 10])
                    keypoints += [gx + coordinate(-noise, noise), gy + coordinate(-noise, noise)]
                    keypoints.append(1)
                image, category = truth["image_id"], truth["category_id"]
            else:
                keypoints = [v for _ in range(count) for v in (coordinate(0, 300),) * 2 + (1,)]
                image, category = rng.choice(image_ids), rng.choice(category_ids)
            result = {
                "image_id": image,
                "category_id": category,
                "keypoints": keypoints,
                "score": rng.choice([0.5, 0.9, rng.random()]),
            }
            if with_bbox:
                result["bbox"] = [coordinate(0, 100), coordinate(0, 100)] + [coordinate(1, 150)] * 2
            results.append(result)
    gt = {
        "images": [{"id": i} for i in image_ids],
        "categories": [{"id": c} for c in category_ids],
        "annotations": annotations,
    }
    sigmas = None if count == 17 else [rng.choice([0.025, 0.05, 0.1]) for _ in range(count)]
    return gt, results, sigmas


@settings(max_examples=40)
@given(data=keypoint_sets(), threads=st.sampled_from([1, 2, 3]), use_categories=st.booleans())
def test_keypoints_equal_pycocotools(data, threads, use_categories):
    gt, results, sigmas = data
    if not results:  # pycocotools' loadRes cannot take an empty list
        return
    params = {"useCats": int(use_categories)}
    if sigmas is not None:
        params["kpt_oks_sigmas"] = np.array(sigmas)
    with torch_mt.num_threads(threads):
        ours = torch_mt.coco_evaluate(
            gt, results, "keypoints", keypoint_sigmas=sigmas, use_categories=use_categories
        )
    assert ours.stats.shape == (10,)
    assert_equal_to_pycocotools(ours, *pycocotools_run(gt, results, "keypoints", **params))


@settings(max_examples=30)
@given(data=keypoint_sets())
def test_oks_equals_compute_oks_bitwise(data):
    """OKS itself, cell by cell, against the matrices computeOks leaves in
    COCOeval.ious: a last-bit difference seldom changes a match, so the
    end-to-end comparison alone would not see it."""
    gt, results, sigmas = data
    if not results:
        return
    params = {} if sigmas is None else {"kpt_oks_sigmas": np.array(sigmas)}
    evaluation, _ = pycocotools_run(gt, results, "keypoints", **params)
    sigma_tensor = torch.tensor(
        COCO_KEYPOINT_SIGMAS if sigmas is None else sigmas, dtype=torch.float64
    )
    count = len(sigma_tensor)
    compared = 0
    for (image, category), expected in evaluation.ious.items():
        if len(expected) == 0:
            continue
        truths = evaluation._gts[image, category]
        found = evaluation._dts[image, category]
        order = np.argsort([-d["score"] for d in found], kind="mergesort")[:20]
        found = [found[i] for i in order]
        pair_dt = torch.arange(len(found)).repeat_interleave(len(truths))
        pair_gt = torch.arange(len(truths)).repeat(len(found))
        ours = keypoint_similarities(
            torch.tensor([d["keypoints"] for d in found], dtype=torch.float64).reshape(
                -1, count, 3
            ),
            torch.tensor([g["keypoints"] for g in truths], dtype=torch.float64).reshape(
                -1, count, 3
            ),
            torch.tensor([g["bbox"] for g in truths], dtype=torch.float64),
            torch.tensor([float(g["area"]) for g in truths], dtype=torch.float64),
            pair_dt,
            pair_gt,
            sigma_tensor,
        )
        assert np.array_equal(ours.numpy().reshape(expected.shape), expected)
        compared += 1
    assert compared or not any(len(v) for v in evaluation.ious.values())


@settings(max_examples=15)
@given(data=keypoint_sets(), max_detections=st.sampled_from([[1, 10, 20], [5], [2, 30]]))
def test_keypoints_custom_max_detections_equal_pycocotools(data, max_detections):
    gt, results, sigmas = data
    if not results:
        return
    params = {"maxDets": max_detections}
    if sigmas is not None:
        params["kpt_oks_sigmas"] = np.array(sigmas)
    ours = torch_mt.coco_evaluate(
        gt, results, "keypoints", keypoint_sigmas=sigmas, max_detections=max_detections
    )
    assert_equal_to_pycocotools(ours, *pycocotools_run(gt, results, "keypoints", **params))


KP_GT = {
    "images": [{"id": 1}],
    "categories": [{"id": 1}],
    "annotations": [
        {
            "id": 1,
            "image_id": 1,
            "category_id": 1,
            "bbox": [0, 0, 10, 10],
            "area": 100,
            "iscrowd": 0,
            "keypoints": [1, 1, 2, 5, 5, 2, 0, 0, 0],
            "num_keypoints": 2,
        }
    ],
}
KP_DT = {"image_id": 1, "category_id": 1, "keypoints": [1, 1, 1, 5, 6, 1, 3, 3, 1], "score": 0.9}
SIGMAS = [0.05, 0.05, 0.05]


@pytest.mark.parametrize(
    "dt, match",
    [
        ([{**KP_DT, "keypoints": [1, 1, 1, 5]}], r"dt\[0\]\['keypoints'\] must hold 9 numbers"),
        (
            [KP_DT, {**KP_DT, "keypoints": [1, 1, 1, 5, 6, 1, 3, 3]}],
            r"dt\[1\]\['keypoints'\] must hold 9 numbers .*got 8 \(not a multiple of 3\)",
        ),
        (
            [KP_DT, {**KP_DT, "keypoints": [1, 1, 1, 5, 6, 1, 3, float("nan"), 1]}],
            r"dt\[1\]\['keypoints'\] has a NaN",
        ),
        ([KP_DT, {**KP_DT, "keypoints": None}], r"dt\[1\]\['keypoints'\] must hold 9 numbers"),
        ([{k: v for k, v in KP_DT.items() if k != "keypoints"}], r"dt\[0\] has no 'keypoints'"),
    ],
)
def test_bad_keypoints_name_the_result_and_the_field(dt, match):
    with pytest.raises(ValueError, match=f"torch_mt.coco_evaluate: {match}"):
        torch_mt.coco_evaluate(KP_GT, dt, "keypoints", keypoint_sigmas=SIGMAS)


def test_ground_truth_without_num_keypoints_is_named():
    gt = {**KP_GT, "annotations": [{**KP_GT["annotations"][0]}]}
    del gt["annotations"][0]["num_keypoints"]
    with pytest.raises(ValueError, match=r"gt\['annotations'\]\[0\] has no 'num_keypoints'"):
        torch_mt.coco_evaluate(gt, [KP_DT], "keypoints", keypoint_sigmas=SIGMAS)


def test_keypoints_need_one_sigma_each():
    with pytest.raises(ValueError, match=r"gt\['annotations'\]\[0\]\['keypoints'\] must hold 51"):
        torch_mt.coco_evaluate(KP_GT, [KP_DT], "keypoints")
