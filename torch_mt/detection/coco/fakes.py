"""Shape functions of ``mt::coco_rle_from_polygons`` and ``mt::coco_rle_encode``,
whose run counts depend on the data: each fake calls its op's check op
(``mt::_coco_rle_from_polygons_checks``, ``mt::_coco_rle_encode_checks``: the
C++ checks) and returns a fresh unbacked size, so torch.compile(fullgraph=True)
keeps the call in its graph and fails exactly as an eager call. Imported by
the family's ``__init__``."""

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


@torch.library.register_fake("mt::coco_rle_encode")
def _coco_rle_encode_fake(masks: Tensor) -> tuple[Tensor, Tensor]:
    torch.ops.mt._coco_rle_encode_checks(masks)
    runs = torch.library.get_ctx().new_dynamic_size()
    return (
        masks.new_empty((runs,), dtype=torch.int64),
        masks.new_empty((masks.shape[0] + 1,), dtype=torch.int64),
    )
