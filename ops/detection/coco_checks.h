// What the COCO operators (coco_match.cpp, coco_accumulate.cpp, coco_oks.cpp,
// the mask operators) check and lay out alike.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include <torch_mt/parallel.h>

namespace mt::detection {

// One value per item: 1-D, of `dtype`.
inline void check_vector(const char* op, const at::Tensor& tensor, const char* name,
                         at::ScalarType dtype) {
  check_dim(op, tensor, name, 1, "[N]");
  check_dtype(op, tensor, name, dtype);
}

// CPU: the offsets run from 0 to the annotation count without decreasing.
inline void check_offsets(const char* op, const int64_t* offsets, int64_t cells, const char* name,
                          int64_t count, const char* counted) {
  TORCH_CHECK_VALUE(offsets[0] == 0, op, ": ", name, "[0] must be 0, got ", offsets[0]);
  for (int64_t c = 0; c < cells; ++c) {
    TORCH_CHECK_VALUE(offsets[c + 1] >= offsets[c], op, ": ", name, " must not decrease, but ",
                      name, "[", c + 1, "] = ", offsets[c + 1], " < ", name, "[", c,
                      "] = ", offsets[c]);
  }
  TORCH_CHECK_VALUE(offsets[cells] == count, op, ": ", name, "[-1] must be the number of ", counted,
                    ", ", count, ", got ", offsets[cells]);
}

// CPU: every index of a pair list in [0, limit); `what` names what it indexes.
inline void check_indices(const char* op, const int64_t* indices, int64_t count, const char* name,
                          int64_t limit, const char* what) {
  for (int64_t p = 0; p < count; ++p) {
    TORCH_CHECK_VALUE(indices[p] >= 0 && indices[p] < limit, op, ": ", name, "[", p,
                      "] = ", indices[p], " is not an index of ", what, " (", limit, ")");
  }
}

// Where each cell's [detections x ground truth] matrix starts in a packed
// array of pair values (offsets already checked); the total must be `pairs`
// when `pairs` >= 0. Serial: one add a cell.
inline std::vector<int64_t> cell_pair_offsets(const char* op, const int64_t* dt_offsets,
                                              const int64_t* gt_offsets, int64_t cells,
                                              int64_t pairs) {
  std::vector<int64_t> starts(static_cast<size_t>(cells) + 1, 0);
  for (int64_t c = 0; c < cells; ++c) {
    starts[c + 1] =
        starts[c] + (dt_offsets[c + 1] - dt_offsets[c]) * (gt_offsets[c + 1] - gt_offsets[c]);
  }
  TORCH_CHECK_VALUE(pairs < 0 || starts[cells] == pairs, op, ": argument 'ious' must hold ",
                    starts[cells], " values (each cell's detections times its ground truth), got ",
                    pairs);
  return starts;
}

}  // namespace mt::detection
