"""COCO evaluation, equal to pycocotools: one module per role.

- ``records``: COCO's dicts (or a JSON file) to packed columns
  (``torch_mt._records``, ops/detection/python_records.cpp, reads the dicts);
- ``masks``: segmentations (polygons, RLE strings) to runs, areas and boxes;
- ``similarity``: keypoints' OKS, pairs of a cell;
- ``evaluate``: ``coco_evaluate`` and ``COCOEvalResult``, on the operators;
- ``summary``: the 12 stats from precision and recall;
- ``ops``, ``rle_ops``: typed wrappers of the COCO operators; ``fakes``:
  the shape function of the one whose output size depends on the data;
- ``mean_ap``: torchmetrics' ``MeanAveragePrecision`` on those operators;
- ``offsets``: the one offsets-from-lengths helper of the packed columns;
- ``reference``, ``rle_reference``, ``spec``, ``rle_spec``: the operators'
  references and specs; ``bench``, ``peers``: the benchmark's rows and the
  peer evaluators they are measured against.

Lower modules never import higher ones (offsets <- masks <- records <-
evaluate <- mean_ap), so there is no import cycle.
"""

from __future__ import annotations

from . import fakes  # noqa: F401 (registers a shape function)
from .evaluate import COCOEvalResult, coco_evaluate  # noqa: F401 (the result type)
from .mean_ap import MeanAveragePrecision
from .ops import coco_accumulate, coco_match, coco_oks_exponents
from .rle_ops import (
    coco_mask_iou,
    coco_rle_area_bbox,
    coco_rle_decode,
    coco_rle_encode,
    coco_rle_from_polygons,
    coco_rle_from_strings,
)

# The functions and the metric (COCOEvalResult, the result type, is importable
# but not listed: torch_mt.__all__ holds what users call).
__all__ = [
    "MeanAveragePrecision",
    "coco_accumulate",
    "coco_evaluate",
    "coco_mask_iou",
    "coco_match",
    "coco_oks_exponents",
    "coco_rle_area_bbox",
    "coco_rle_decode",
    "coco_rle_encode",
    "coco_rle_from_polygons",
    "coco_rle_from_strings",
]
