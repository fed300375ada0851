"""The end-to-end COCO evaluation rows of the benchmark: one set evaluated by
every evaluator (peers.py) and by torch_mt, from the dicts already in memory
(a training loop) and from the JSON files (an evaluation script:
``detections.json`` against ``instances_val2017.json``), reading included."""

from __future__ import annotations

import json
import os
import shutil
import tempfile

from ...bench.workload import Arm, Workload, all_threads
from . import peers
from .evaluate import coco_evaluate


class _JsonFiles:
    """The ground truth and the results as COCO JSON files (RLE counts as
    text, as a COCO file has them), written when a row first runs (a row
    that is only built writes nothing) and removed by its ``finish``."""

    def __init__(self, gt: dict, results: list):
        self._values = {"gt.json": gt, "dt.json": results}
        self._folder = None

    def paths(self) -> tuple[str, str]:
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="torch_mt_coco_")
            for name, value in self._values.items():
                with open(os.path.join(self._folder, name), "w") as file:
                    json.dump(peers.as_text(value), file)
        return os.path.join(self._folder, "gt.json"), os.path.join(self._folder, "dt.json")

    def remove(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def _agree(actual: list, expected: list) -> bool:
    # faster-coco-eval's C++ accumulates in its own order: equal to about 1e-12.
    return all(abs(a - b) <= 1e-9 for a, b in zip(actual, expected))


def _row(name: str, description: str, ops: tuple, arms: list, run, finish=None) -> Workload:
    return Workload(
        name=name,
        description=description,
        ops=ops,
        arms=arms,
        torch_mt=run,
        normalise=lambda stats: [float(value) for value in stats],
        agree=_agree,
        finish=finish,
    )


def _peer_arms(gt, results, gt_text, results_text, vernier_inputs, iou_type: str) -> list[Arm]:
    """Every evaluator on one form of the set: pycocotools (the status quo),
    faster-coco-eval, hotcoco, ultrafast-pycocotools, vernier at 1 and at all
    threads (the others take no thread count)."""
    vernier_arms = [
        Arm(
            f"vernier Evaluator (strict), num_threads={threads}",
            lambda threads=threads: peers.vernier(*vernier_inputs(), iou_type, threads),
            requires=("vernier",),
        )
        for threads in sorted({1, all_threads()})
    ]
    return [
        Arm(
            "pycocotools COCOeval",
            lambda: peers.pycocotools(gt(), results(), iou_type),
            requires=("pycocotools",),
        ),
        Arm(
            "faster-coco-eval COCOeval_faster",
            lambda: peers.faster_coco_eval(gt(), results(), iou_type),
            requires=("faster_coco_eval",),
        ),
        Arm(
            "hotcoco COCOeval",
            lambda: peers.hotcoco(gt_text(), results_text(), iou_type),
            requires=("hotcoco",),
        ),
        Arm(
            "ultrafast-pycocotools COCOeval",
            lambda: peers.ultrafast_pycocotools(gt(), results(), iou_type),
            requires=("ultrafast_pycocotools",),
        ),
        *vernier_arms,
    ]


def evaluation_rows(
    name: str, description: str, ops: tuple, gt: dict, results: list, iou_type: str
) -> list[Workload]:
    """The row from the dicts, then the row from the JSON files.

    From the dicts, hotcoco and vernier take RLE counts as text only (vernier:
    in the ground truth; hotcoco: in the results too), and vernier the ground
    truth as JSON bytes only: those forms are made once, outside their timed
    calls (in their favour). From the files every evaluator, torch_mt
    included, reads both files inside its timed call.
    """
    gt_text, results_text = peers.as_text(gt), peers.as_text(results)
    gt_json = json.dumps(gt_text).encode()
    from_dicts = _row(
        name,
        f"{description}, from the dicts (index building included)",
        ops,
        _peer_arms(
            lambda: gt,
            lambda: results,
            lambda: gt_text,
            lambda: results_text,
            lambda: (gt_json, results),
            iou_type,
        ),
        lambda: coco_evaluate(gt, results, iou_type).stats.tolist(),
    )
    files = _JsonFiles(gt, results)

    def gt_path() -> str:
        return files.paths()[0]

    def dt_path() -> str:
        return files.paths()[1]

    from_files = _row(
        f"{name}, from JSON files",
        f"{description}, from the JSON files (reading included)",
        ops,
        _peer_arms(
            gt_path,
            dt_path,
            gt_path,
            dt_path,
            lambda: (_read(gt_path()), _read(dt_path())),
            iou_type,
        ),
        lambda: coco_evaluate(gt_path(), dt_path(), iou_type).stats.tolist(),
        finish=files.remove,
    )
    return [from_dicts, from_files]
