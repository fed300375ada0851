"""Shape functions of the edit-distance operators whose output size or
input form C++ Meta kernels cannot express: the join (its pair count depends
on the data) and the ``str[]`` forms (no tensor input to dispatch on).
Imported by the family's ``__init__`` (registration is the import).

Each calls its op's check op (``mt::_edit_distance_join_checks``,
``mt::_edit_distance_text_checks``: the C++ checks) and adds only the size,
so compiled and eager errors are the same ones, written once.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor


@torch.library.register_fake("mt::edit_distance_join")
def _edit_distance_join_fake(
    a: Tensor,
    b: Tensor,
    max_distance: int,
    a_lengths: Optional[Tensor] = None,
    b_lengths: Optional[Tensor] = None,
    diagonal: Optional[int] = None,
) -> tuple[Tensor, Tensor, Tensor]:
    torch.ops.mt._edit_distance_join_checks(a, b, max_distance, a_lengths, b_lengths, diagonal)
    # A side's batch: the rows of a padded side, the lengths of a packed one.
    rows = a.shape[0] if a.dim() == 2 else a_lengths.shape[0]
    cols = b.shape[0] if b.dim() == 2 else b_lengths.shape[0]
    cells = rows * cols
    ctx = torch.library.get_ctx()
    if isinstance(cells, int):  # a static grid bounds the pair count
        pairs = 0 if cells == 0 else ctx.new_dynamic_size(max=cells)
    else:
        pairs = ctx.new_dynamic_size()
    return tuple(a.new_empty((pairs,), dtype=torch.int64) for _ in range(3))


@torch.library.register_fake("mt::edit_distance_text")
def _edit_distance_text_fake(
    a: list[str], b: list[str], max_distance: Optional[int] = None
) -> Tensor:
    torch.ops.mt._edit_distance_text_checks(a, b, max_distance, False)
    return torch.empty((len(a),), dtype=torch.int64)


@torch.library.register_fake("mt::edit_distance_pairwise_text")
def _edit_distance_pairwise_text_fake(
    a: list[str], b: list[str], max_distance: Optional[int] = None
) -> Tensor:
    torch.ops.mt._edit_distance_text_checks(a, b, max_distance, True)
    return torch.empty((len(a), len(b)), dtype=torch.int64)
