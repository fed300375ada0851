// What the COCO mask operators (coco_rle_decode.cpp, coco_mask_iou.cpp,
// coco_rle_masks.cpp) share: the layout of run-length masks and its checks.
//
// An RLE is a column-major binary mask of height h and width w, as run
// lengths alternating from zeros: counts [c0, c1, c2, ...] means c0 zeros,
// c1 ones, c2 zeros, ... (COCO's counts are 32-bit unsigned). RLEs are
// packed as counts int64 [S] with offsets [N + 1] (one after another) or
// spans [N, 2] (begin, end: anywhere, gaps and any order allowed), and
// sizes int64 [N, 2] (h, w).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

#include <torch_mt/parallel.h>
#include "coco_checks.h"

namespace mt::detection {
namespace coco_rle {

inline void check_sizes(const char* op, const at::Tensor& sizes, const c10::SymInt& items,
                        const char* what) {
  check_dim(op, sizes, "sizes", 2, "[N, 2]");
  check_dtype(op, sizes, "sizes", at::kLong);
  check_size(op, sizes, "sizes", 1, 2, "(height, width) pairs need");
  check_size(op, sizes, "sizes", 0, items, what);
}

// CPU: every (h, w) >= 0, and h * w fits maskApi's int pixel indices.
inline void check_size_values(const char* op, const int64_t* sizes, int64_t items) {
  for (int64_t i = 0; i < items; ++i) {
    const int64_t h = sizes[2 * i], w = sizes[2 * i + 1];
    TORCH_CHECK_VALUE(h >= 0 && w >= 0 && h <= INT32_MAX && w <= INT32_MAX && h * w <= INT32_MAX,
                      op, ": sizes[", i, "] = (", h, ", ", w,
                      ") must be >= 0 with at most 2^31 - 1 pixels");
  }
}

// Where each RLE's runs are: offsets [N + 1] (packed one after another) or
// spans [N, 2] (begin, end) anywhere in the counts, gaps and any order
// allowed (coco_rle_from_strings' output, or a selection, read in place).
inline void check_rle_arguments(const char* op, Kernel kernel, const at::Tensor& counts,
                                const at::Tensor& offsets, const char* counts_name,
                                const char* offsets_name) {
  check_devices(op, kernel, {{&counts, counts_name}, {&offsets, offsets_name}});
  check_vector(op, counts, counts_name, at::kLong);
  check_dtype(op, offsets, offsets_name, at::kLong);
  TORCH_CHECK_VALUE(offsets.dim() == 1 || (offsets.dim() == 2 && offsets.sym_size(1) == 2), op,
                    ": argument '", offsets_name, "' must be offsets [N + 1] or spans [N, 2], got ",
                    offsets.dim(), " dimensions");
  TORCH_CHECK_VALUE(offsets.dim() == 2 || offsets.sym_size(0) >= 1, op, ": argument '",
                    offsets_name, "' must hold N + 1 >= 1 offsets, got none");
}

inline c10::SymInt rle_count(const at::Tensor& offsets) {
  return offsets.dim() == 2 ? offsets.sym_size(0) : offsets.sym_size(0) - 1;
}

struct RunSpans {
  const int64_t* data;
  bool pairs;
  int64_t begin(int64_t i) const { return pairs ? data[2 * i] : data[i]; }
  int64_t end(int64_t i) const { return pairs ? data[2 * i + 1] : data[i + 1]; }
  int64_t size(int64_t i) const { return end(i) - begin(i); }
};

// CPU: runs in [0, 2^32) (COCO's counts); offsets from 0 to the run count,
// or spans inside the counts.
inline RunSpans check_runs(const char* op, const int64_t* counts, int64_t runs,
                           const at::Tensor& where, int64_t items, const char* counts_name,
                           const char* offsets_name) {
  const RunSpans spans{where.const_data_ptr<int64_t>(), where.dim() == 2};
  if (!spans.pairs) {
    check_offsets(op, spans.data, items, offsets_name, runs, "runs");
  }
  for (int64_t i = 0; spans.pairs && i < items; ++i) {
    TORCH_CHECK_VALUE(0 <= spans.begin(i) && spans.begin(i) <= spans.end(i) && spans.end(i) <= runs,
                      op, ": ", offsets_name, "[", i, "] = (", spans.begin(i), ", ", spans.end(i),
                      ") is not a span of the ", runs, " runs");
  }
  for (int64_t r = 0; r < runs; ++r) {
    TORCH_CHECK_VALUE(counts[r] >= 0 && counts[r] <= UINT32_MAX, op, ": ", counts_name, "[", r,
                      "] = ", counts[r], " is not a run length (0 to 2^32 - 1)");
  }
  return spans;
}

}  // namespace coco_rle
}  // namespace mt::detection
