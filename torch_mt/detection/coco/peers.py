"""The COCO evaluators torch_mt's COCO rows are measured against, each called
as its users call it, from the ground-truth dict and the results list or from
the paths of their JSON files (vernier: JSON bytes), and returning the 12
summary stats (all of them equal pycocotools 2.0.11's on the
bench's sets: the bench checks every arm against the first before timing).

- pycocotools: the reference; Python over NumPy, serial.
- faster-coco-eval: C++, serial.
- hotcoco, ultrafast-pycocotools, vernier (2026): Rust. vernier reads the
  ground truth as JSON bytes only, and needs categories with names
  (``parity_mode="strict"`` is pycocotools' behaviour; its default is not).
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

from ...bench.workload import peer


def _summary_stats(evaluation: Any) -> list:
    """evaluate, accumulate and summarize a COCOeval-like object (its prints
    kept out of the report): its 12 stats."""
    with contextlib.redirect_stdout(io.StringIO()):
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return list(evaluation.stats)


def _pycocotools_like(module: str, gt: Any, results: Any, iou_type: str) -> list:
    """A package with pycocotools' API: COCO(path), or COCO() with the dict as
    its dataset and createIndex; then loadRes (of a list or a path)."""
    coco_module = peer(f"{module}.coco")
    with contextlib.redirect_stdout(io.StringIO()):
        if isinstance(gt, str):
            coco = coco_module.COCO(gt)
        else:
            coco = coco_module.COCO()
            coco.dataset = gt
            coco.createIndex()
        detections = coco.loadRes(results)
    return _summary_stats(peer(f"{module}.cocoeval").COCOeval(coco, detections, iou_type))


def pycocotools(gt: Any, results: Any, iou_type: str = "bbox") -> list:
    """What users run: COCO, loadRes, evaluate, accumulate, summarize (quiet)."""
    return _pycocotools_like("pycocotools", gt, results, iou_type)


def ultrafast_pycocotools(gt: Any, results: Any, iou_type: str = "bbox") -> list:
    """ultrafast-pycocotools, the drop-in: pycocotools' calls, Rust inside."""
    return _pycocotools_like("ultrafast_pycocotools", gt, results, iou_type)


def faster_coco_eval(gt: Any, results: Any, iou_type: str = "bbox") -> list:
    module = peer("faster_coco_eval")
    coco = module.COCO(gt, print_function=lambda *_: None)
    evaluation = module.COCOeval_faster(
        coco, coco.loadRes(results), iou_type, print_function=lambda *_: None
    )
    return _summary_stats(evaluation)


def hotcoco(gt: Any, results: Any, iou_type: str = "bbox") -> list:
    """hotcoco from dicts; RLE counts must be text (as_text), in both."""
    module = peer("hotcoco")
    coco = module.COCO(gt)
    return _summary_stats(module.COCOeval(coco, coco.load_res(results), iou_type))


def as_text(value: Any) -> Any:
    """A COCO dict as a COCO file holds it: compressed RLE counts as text, not
    the bytes pycocotools' mask.encode gives. hotcoco and vernier take only
    that form (they go through JSON)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, dict):
        return {key: as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_text(item) for item in value]
    return value


def vernier(gt_json: bytes, results: Any, iou_type: str, threads: int) -> list:
    """vernier's strict (pycocotools) mode on ``threads`` threads; the results
    as a list of dicts or as JSON bytes."""
    instance = peer("vernier.instance")
    iou = {"bbox": instance.Bbox, "segm": instance.Segm, "keypoints": instance.Keypoints}
    evaluator = instance.Evaluator(iou=iou[iou_type](), parity_mode="strict")
    return list(evaluator.evaluate(gt_json, results, num_threads=threads).stats)
