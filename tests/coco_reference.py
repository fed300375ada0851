"""pycocotools 2.0.11 itself (the test extra pins it: never skipped), run as
users run it, and the bitwise comparison of torch_mt.coco_evaluate with it."""

from __future__ import annotations

import contextlib
import copy
import io

import numpy as np
import pycocotools.coco as pycocotools_coco
import pycocotools.cocoeval as pycocotools_eval


def pycocotools_run(gt, results, iou_type="bbox", **params):
    """COCOeval on copies (loadRes writes into its input), quietly."""
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        coco = pycocotools_coco.COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        evaluation = pycocotools_eval.COCOeval(coco, coco.loadRes(copy.deepcopy(results)), iou_type)
        for name, value in params.items():
            setattr(evaluation.params, name, value)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    lines = [line for line in printed.getvalue().splitlines() if line.startswith(" Average")]
    return evaluation, lines


def assert_equal_to_pycocotools(ours, evaluation, lines):
    for name in ("precision", "recall", "scores"):
        expected = evaluation.eval[name]
        actual = getattr(ours, name).numpy()
        assert actual.shape == expected.shape, name
        assert np.array_equal(actual, expected), f"{name} differs"
    assert np.array_equal(ours.stats.numpy(), np.asarray(evaluation.stats))
    assert ours.summary().splitlines() == lines
