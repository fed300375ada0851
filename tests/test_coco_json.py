"""coco_evaluate from JSON files and bytes, read natively
(ops/detection/coco_json.cpp): the same bits as from the dicts Python's
json gives, for any layout of the text, any thread count and any chunk
size (the reader cuts large lists on the pool); bad files get a
ValueError naming the record, the file and the byte, and nothing is
evaluated."""

from __future__ import annotations

import json
import random

import numpy as np
import pycocotools.mask as pycocotools_mask
import pytest
import torch
from coco_reference import assert_equal_to_pycocotools, pycocotools_run
from hypothesis import given, settings
from hypothesis import strategies as st
from test_coco import GOOD_DT, GOOD_GT, coco_sets
from test_coco_keypoints import KP_DT, KP_GT, SIGMAS, keypoint_sets
from test_coco_segm import DT as SEGM_DT
from test_coco_segm import GT as SEGM_GT
from test_coco_segm import segm_sets

import torch_mt
from torch_mt.detection.coco import json_records, peers

#: How a file's text may be laid out: json.dump's default (", " between
#: records: the reader brackets chunks in place), compact (no room: it
#: parses a bracketed copy), and indented (newlines).
LAYOUTS = [{}, {"separators": (",", ":")}, {"indent": 1}]

#: Extra fields a record may carry, which the reader must skip: strings and
#: nested values that hold what looks like a record boundary, and an escape.
DECOYS = [
    {"note": "}, {"},
    {"note": '"}, {"image_id": 7, "bbox": [1, 2, 3]}'},
    {"attributes": [{"a": 1}, {"b": [2, {"c": "}, {"}]}]},
    {"caption": "caf\u00e9 \\ \u2028 \U0001f600"},
    {"meta": {"bbox": "not this one", "score": None}},
]


def _evaluate_both(gt, results, iou_type="bbox", **options):
    return torch_mt.coco_evaluate(gt, results, iou_type, **options)


def _assert_same(a, b):
    for name in ("stats", "precision", "recall", "scores"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert a.summary() == b.summary()


def _decorated(records: list, rng: random.Random) -> list:
    """The records with decoy fields here and there (and, in some, the
    fields in another order), which leave the evaluation unchanged."""
    out = []
    for record in records:
        record = dict(record)
        if rng.random() < 0.3:
            record.update(rng.choice(DECOYS))
        if rng.random() < 0.3:
            record = dict(reversed(list(record.items())))
        out.append(record)
    return out


def _write(tmp_path, name: str, value, layout: dict, form: str):
    text = json.dumps(value, **layout)
    if form == "bytes":
        return text.encode()
    path = tmp_path / name
    path.write_text(text)
    return str(path) if form == "str" else path


@pytest.fixture(autouse=True)
def _small_chunks(monkeypatch):
    """Every test may set json_records.CHUNK_BYTES; it is put back after."""
    monkeypatch.setattr(json_records, "CHUNK_BYTES", json_records.CHUNK_BYTES)


@settings(max_examples=40)
@given(
    data=coco_sets(),
    layout=st.sampled_from(LAYOUTS),
    form=st.sampled_from(["path", "str", "bytes"]),
    threads=st.sampled_from([1, 2, 3]),
    chunk_bytes=st.sampled_from([1, 64, 300, 1 << 20]),
    seed=st.integers(0, 2**32 - 1),
)
def test_bbox_from_files_equals_from_dicts(
    tmp_path_factory, data, layout, form, threads, chunk_bytes, seed
):
    gt, results = data
    rng = random.Random(seed)
    folder = tmp_path_factory.mktemp("coco")
    gt_file = dict(gt, annotations=_decorated(gt["annotations"], rng), info={"year": 2026})
    gt_source = _write(folder, "gt.json", gt_file, layout, form)
    dt_source = _write(folder, "dt.json", _decorated(results, rng), layout, form)
    json_records.CHUNK_BYTES = chunk_bytes
    with torch_mt.num_threads(threads):
        from_files = torch_mt.coco_evaluate(gt_source, dt_source)
    _assert_same(from_files, torch_mt.coco_evaluate(gt, results))


@settings(max_examples=20)
@given(
    data=keypoint_sets(),
    layout=st.sampled_from(LAYOUTS),
    threads=st.sampled_from([1, 2]),
    chunk_bytes=st.sampled_from([1, 200, 1 << 20]),
)
def test_keypoints_from_files_equal_from_dicts(
    tmp_path_factory, data, layout, threads, chunk_bytes
):
    gt, results, sigmas = data
    folder = tmp_path_factory.mktemp("coco")
    gt_path = _write(folder, "gt.json", gt, layout, "path")
    dt_path = _write(folder, "dt.json", results, layout, "path")
    json_records.CHUNK_BYTES = chunk_bytes
    with torch_mt.num_threads(threads):
        from_files = torch_mt.coco_evaluate(gt_path, dt_path, "keypoints", keypoint_sigmas=sigmas)
    from_dicts = torch_mt.coco_evaluate(gt, results, "keypoints", keypoint_sigmas=sigmas)
    _assert_same(from_files, from_dicts)


@settings(max_examples=10)
@given(data=coco_sets())
def test_bbox_from_files_equals_pycocotools(tmp_path_factory, data):
    gt, results = data
    if not results:  # pycocotools' loadRes cannot take an empty list
        return
    folder = tmp_path_factory.mktemp("coco")
    gt_path = _write(folder, "gt.json", gt, {}, "path")
    dt_path = _write(folder, "dt.json", results, {}, "path")
    assert_equal_to_pycocotools(
        torch_mt.coco_evaluate(gt_path, dt_path), *pycocotools_run(gt, results)
    )


def test_json_forms_python_reads_alike(tmp_path):
    """Numbers as ints or floats, exponents, bools (Python's bool is an
    int), iscrowd as any JSON value (its truth), escapes in keys, a key
    twice (the last one wins), as json.load gives them."""
    gt_text = (
        '{"images": [{"id": 1}, {"id": 2}], "categories": [{"id": 5}], "annotations": ['
        '{"id": 1, "image_id": 1, "category_id": 5, "bbox": [0, 0, 1e1, 10.0], '
        '"area": 100, "iscrowd": false},'
        '{"id": 2, "image_id": 2, "category_id": 5, "bbox": [0, 0, 10, 10], '
        '"area": 1.0e2, "iscrowd": []},'
        '{"id": 3, "image_id": 2, "category_id": 5, "bbox": [20, 20, 5, 5], '
        '"area": 25, "iscrowd": "yes"}]}'
    )
    dt_text = (
        '[{"image_id": 1, "category_id": 5, "b\\u0062ox": [1, 0, 10, 10], "score": 0.5},'
        '{"image_id": 2, "category_id": 5, "bbox": [9, 9, 9, 9], "bbox": [0, 0, 10, 10], '
        '"score": true},'
        '{"image_id": 2, "category_id": 5, "bbox": [20, 20, 5, 5.5], "score": 2.5e-1}]'
    )
    (tmp_path / "gt.json").write_text(gt_text)
    (tmp_path / "dt.json").write_text(dt_text)
    ours = torch_mt.coco_evaluate(tmp_path / "gt.json", tmp_path / "dt.json")
    _assert_same(ours, torch_mt.coco_evaluate(json.loads(gt_text), json.loads(dt_text)))


BAD_DT = [
    ('[{"image_id": 1, "category_id": 1, "score": 0.5}]', r"dt\[0\] has no 'bbox'"),
    (
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2], "score": 0.5},'
        ' {"image_id": 1, "category_id": 1, "bbox": [0, 0, 2], "score": 0.5}]',
        r"dt\[1\]\['bbox'\] must hold 4 numbers, got 3",
    ),
    (
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2], "score": NaN}]',
        r"dt\[0\]\['score'\] is NaN or Infinity, which is not JSON",
    ),
    (
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, -Infinity, 2], "score": 1}]',
        r"dt\[0\]\['bbox'\] is NaN or Infinity",
    ),
    (
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1e999, 2], "score": 1}]',
        r"dt\[0\]\['bbox'\] is a number past the double range",
    ),
    (
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2], "score": -2E+400}]',
        r"dt\[0\]\['score'\] is a number past the double range",
    ),
    # A vertical tab is not JSON's whitespace (std::isspace's is wider).
    ("\v[]", "not valid JSON|starts with"),
    (
        '[{"image_id": 1.0, "category_id": 1, "bbox": [0, 0, 2, 2], "score": 1}]',
        r"dt\[0\]\['image_id'\] must be an int, got float",
    ),
    (
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2], "score": "high"}]',
        r"dt\[0\]\['score'\] is not a number",
    ),
    (
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2], "score": 1}, 7]',
        r"dt\[1\] is a int",
    ),
    ('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2], "score": 1}', "not valid JSON"),
    ('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2] "score": 1}]', "not valid JSON"),
    ('[{"image_id": 9, "category_id": 1, "bbox": [0, 0, 2, 2], "score": 1}]', "not in gt"),
    ('{"annotations": []}', r"must hold a list of result dicts, but its JSON starts with '\{'"),
    ("", "starts with nothing"),
    ("3", "starts with '3'"),
]


@pytest.mark.parametrize("text, match", BAD_DT)
@pytest.mark.parametrize("threads", [1, 2])
def test_bad_results_files_name_the_record_and_the_file(tmp_path, text, match, threads):
    gt_path, dt_path = tmp_path / "gt.json", tmp_path / "dt.json"
    gt_path.write_text(json.dumps(GOOD_GT))
    dt_path.write_text(text)
    json_records.CHUNK_BYTES = 16
    with torch_mt.num_threads(threads), pytest.raises(ValueError, match=match) as error:
        torch_mt.coco_evaluate(gt_path, dt_path)
    assert str(dt_path) in str(error.value)


BAD_GT = [
    ('{"categories": [], "annotations": []}', "'gt' has no 'images' list"),
    ('[{"id": 1}]', "must hold a COCO dataset dict, but its JSON starts with '\\['"),
    ('{"images": {"id": 1}}', r"gt\['images'\] must be a list, got dict"),
    ('{"images": [{"id": 1}], "annotations": [{"id": 1, "image_id": 1}]}', r"has no 'category_id'"),
    ('{"images": [{"id": 1}], "annotations": [3]}', r"gt\['annotations'\]\[0\] is a int"),
    ('{"images": [{"id": 1}]', "not valid JSON"),
    ('{"images": [{"id": 1}]} []', "not valid JSON"),
    ('{"images": [{"id": "one"}]}', r"gt\['images'\]\[0\]\['id'\] must be an int"),
]


@pytest.mark.parametrize("text, match", BAD_GT)
def test_bad_dataset_files_name_the_record_and_the_file(tmp_path, text, match):
    gt_path, dt_path = tmp_path / "gt.json", tmp_path / "dt.json"
    gt_path.write_text(text)
    dt_path.write_text(json.dumps([GOOD_DT]))
    with pytest.raises(ValueError, match=match) as error:
        torch_mt.coco_evaluate(gt_path, dt_path)
    assert str(gt_path) in str(error.value)


@settings(max_examples=25)
@given(
    count=st.integers(1, 60),
    data=st.data(),
    threads=st.sampled_from([1, 2, 3]),
    chunk_bytes=st.sampled_from([1, 50, 400]),
    layout=st.sampled_from(LAYOUTS),
)
def test_the_first_bad_record_is_named_for_any_threads_and_chunks(
    tmp_path_factory, count, data, threads, chunk_bytes, layout
):
    records = [dict(GOOD_DT, score=i / count) for i in range(count)]
    bad = sorted(data.draw(st.sets(st.integers(0, count - 1), min_size=1, max_size=3)))
    for position in bad:
        del records[position]["bbox"]
    folder = tmp_path_factory.mktemp("coco")
    dt_path = _write(folder, "dt.json", records, layout, "path")
    records[bad[0]]["bbox"] = [0, 0, 1, 1]  # the first record decides the kind
    json_records.CHUNK_BYTES = chunk_bytes
    with torch_mt.num_threads(threads), pytest.raises(ValueError) as error:
        torch_mt.coco_evaluate(GOOD_GT, dt_path)
    if bad[0] == 0:  # no bbox in the first: loadRes' bbox path still names it missing
        assert "dt[0] has no 'bbox'" in str(error.value)
    else:
        assert f"dt[{bad[0]}] has no 'bbox'" in str(error.value)


@settings(max_examples=25)
@given(data=coco_sets(), cut=st.floats(0, 1, exclude_max=True), threads=st.sampled_from([1, 2]))
def test_a_truncated_file_is_refused(tmp_path_factory, data, cut, threads):
    gt, results = data
    text = json.dumps(results)
    text = text[: int(len(text) * cut)]
    folder = tmp_path_factory.mktemp("coco")
    dt_path = _write(folder, "dt.json", text, {}, "path")
    dt_path.write_text(text)
    json_records.CHUNK_BYTES = 64
    with torch_mt.num_threads(threads), pytest.raises(ValueError, match=str(dt_path)):
        torch_mt.coco_evaluate(gt, dt_path)


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        torch_mt.coco_evaluate(tmp_path / "none.json", [GOOD_DT])


def test_keypoint_files_name_a_short_list(tmp_path):
    (tmp_path / "gt.json").write_text(json.dumps(KP_GT))
    (tmp_path / "dt.json").write_text(json.dumps([dict(KP_DT, keypoints=[1, 2, 2])]))
    with pytest.raises(ValueError, match=r"dt\[0\]\['keypoints'\] must hold 9 numbers, got 3"):
        torch_mt.coco_evaluate(
            tmp_path / "gt.json", tmp_path / "dt.json", "keypoints", keypoint_sigmas=SIGMAS
        )


def test_segmentation_results_files_read_for_bbox_take_python_json(tmp_path):
    """For bbox (and keypoints), results that loadRes reads as segmentations
    go through Python's json (their areas and boxes come from the RLEs), and
    give what the dicts give; for segm they are read natively."""
    gt = dict(GOOD_GT, images=[{"id": 1, "height": 4, "width": 4}])
    gt["annotations"] = [dict(gt["annotations"][0], segmentation=[[0, 0, 0, 2, 2, 2, 2, 0]])]
    mask = np.zeros((4, 4), dtype=np.uint8, order="F")
    mask[1:3, 0:3] = 1
    rle = pycocotools_mask.encode(mask)
    dt = [{"image_id": 1, "category_id": 1, "score": 0.5,
           "segmentation": {"size": [4, 4], "counts": rle["counts"].decode()}}]  # fmt: skip
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dt.json").write_text(json.dumps(dt))
    for iou_type in ("segm", "bbox"):
        _assert_same(
            torch_mt.coco_evaluate(tmp_path / "gt.json", tmp_path / "dt.json", iou_type),
            torch_mt.coco_evaluate(gt, dt, iou_type),
        )


@settings(max_examples=25)
@given(
    data=segm_sets(),
    layout=st.sampled_from(LAYOUTS),
    threads=st.sampled_from([1, 2, 3]),
    chunk_bytes=st.sampled_from([1, 300, 1 << 20]),
    use_categories=st.booleans(),
)
def test_segm_from_files_equals_from_dicts(
    tmp_path_factory, data, layout, threads, chunk_bytes, use_categories
):
    """Compressed RLEs (strings with escapes), uncompressed ones (crowds) and
    polygons, read natively: the dicts' bits."""
    gt, results = data
    folder = tmp_path_factory.mktemp("coco")
    gt_path = _write(folder, "gt.json", peers.as_text(gt), layout, "path")
    dt_path = _write(folder, "dt.json", peers.as_text(results), layout, "path")
    json_records.CHUNK_BYTES = chunk_bytes
    with torch_mt.num_threads(threads):
        from_files = torch_mt.coco_evaluate(gt_path, dt_path, "segm", use_categories=use_categories)
    from_dicts = torch_mt.coco_evaluate(gt, results, "segm", use_categories=use_categories)
    _assert_same(from_files, from_dicts)


SEGM_GOOD_DT = peers.as_text(SEGM_DT)
BAD_SEGMENTATIONS = [
    (dict(SEGM_GOOD_DT, segmentation=dict(SEGM_GOOD_DT["segmentation"], size=[9, 10])),
     r"dt\[1\]\['segmentation'\] has size \[9, 10\], but its image is \[10, 10\]"),
    (dict(SEGM_GOOD_DT, segmentation={"size": [10, 10]}),
     r"dt\[1\]\['segmentation'\] has no 'counts'"),
    (dict(SEGM_GOOD_DT, segmentation={"size": [10, 10], "counts": [3, "x"]}),
     r"has 'counts' that are not numbers"),
    (dict(SEGM_GOOD_DT, segmentation={"size": [10, 10], "counts": [50.5, 49.5]}),
     r"has 'counts' that are not integers"),
    (dict(SEGM_GOOD_DT, segmentation=[[1, 2]]), r"starts with a polygon of 2 numbers"),
    (dict(SEGM_GOOD_DT, segmentation=[[1, 2, 3, 4, 5, True]]),
     r"has a polygon that is not numbers"),
    (dict(SEGM_GOOD_DT, segmentation=[]), r"must be a non-empty list of polygons"),
    (dict(SEGM_GOOD_DT, segmentation=[5]), r"must be a non-empty list of polygons"),
    (dict(SEGM_GOOD_DT, segmentation="abc"), r"must be a polygon list or an RLE dict"),
    ({k: v for k, v in SEGM_GOOD_DT.items() if k != "segmentation"},
     r"dt\[1\] has no 'segmentation'"),
]  # fmt: skip


@pytest.mark.parametrize("bad, match", BAD_SEGMENTATIONS)
def test_bad_segmentations_in_files_are_named_as_from_dicts(tmp_path, bad, match):
    (tmp_path / "gt.json").write_text(json.dumps(SEGM_GT))
    (tmp_path / "dt.json").write_text(json.dumps([SEGM_GOOD_DT, bad]))
    with pytest.raises(ValueError, match=match):
        torch_mt.coco_evaluate(tmp_path / "gt.json", tmp_path / "dt.json", "segm")
    with pytest.raises(ValueError, match=match):  # the dict path says the same
        torch_mt.coco_evaluate(SEGM_GT, [SEGM_GOOD_DT, bad], "segm")


def test_a_first_result_with_an_empty_bbox_takes_loadres_other_branches(tmp_path):
    """``'bbox': []`` is no box to loadRes: the results are read as keypoints
    (here) as from the dicts."""
    dt = [dict(KP_DT, bbox=[]), dict(KP_DT, bbox=[], score=0.5)]
    (tmp_path / "gt.json").write_text(json.dumps(KP_GT))
    (tmp_path / "dt.json").write_text(json.dumps(dt))
    _assert_same(
        torch_mt.coco_evaluate(
            tmp_path / "gt.json", tmp_path / "dt.json", "keypoints", keypoint_sigmas=SIGMAS
        ),
        torch_mt.coco_evaluate(KP_GT, dt, "keypoints", keypoint_sigmas=SIGMAS),
    )


def test_image_sizes_are_read_where_segmentation_results_need_them(tmp_path):
    gt = dict(GOOD_GT, images=[{"id": 1, "height": 4.5, "width": 4}])
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    dt = [{"image_id": 1, "category_id": 1, "score": 0.5, "segmentation": [[0, 0, 1, 1, 2, 0]]}]
    with pytest.raises(ValueError, match=r"gt\['images'\]\[0\]\['height'\] must be an int"):
        torch_mt.coco_evaluate(tmp_path / "gt.json", dt, "bbox")


def test_a_bad_segmentation_in_the_dataset_file_names_the_file(tmp_path):
    gt = dict(SEGM_GT)
    gt["annotations"] = [dict(gt["annotations"][0], segmentation="abc")]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    with pytest.raises(ValueError, match="must be a polygon list or an RLE dict") as error:
        torch_mt.coco_evaluate(tmp_path / "gt.json", [SEGM_GOOD_DT], "segm")
    assert str(tmp_path / "gt.json") in str(error.value)
