"""Shape function of ``mt::coco_rle_from_polygons``, whose run count depends
on the coordinates: the fake calls the op's check op
(``mt::_coco_rle_from_polygons_checks``, the C++ checks) and returns a fresh
unbacked size, so torch.compile(fullgraph=True) keeps the call in its graph
and fails exactly as an eager call. Imported by the family's ``__init__``."""

from __future__ import annotations

import torch
from torch import Tensor


@torch.library.register_fake("mt::coco_rle_from_polygons")
def _coco_rle_from_polygons_fake(
    coordinates: Tensor, polygon_offsets: Tensor, annotation_offsets: Tensor, sizes: Tensor
) -> tuple[Tensor, Tensor]:
    torch.ops.mt._coco_rle_from_polygons_checks(
        coordinates, polygon_offsets, annotation_offsets, sizes
    )
    runs = torch.library.get_ctx().new_dynamic_size()
    return (
        annotation_offsets.new_empty((runs,)),
        annotation_offsets.new_empty(annotation_offsets.shape),
    )
