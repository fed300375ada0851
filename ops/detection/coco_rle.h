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

#include <algorithm>
#include <cstdint>
#include <vector>

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

// CPU: offsets from 0 to the run count, or spans inside the counts.
inline RunSpans check_spans(const char* op, int64_t runs, const at::Tensor& where, int64_t items,
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
  return spans;
}

inline void check_run_length(const char* op, const int64_t* counts, int64_t r,
                             const char* counts_name) {
  TORCH_CHECK_VALUE(counts[r] >= 0 && counts[r] <= UINT32_MAX, op, ": ", counts_name, "[", r,
                    "] = ", counts[r], " is not a run length (0 to 2^32 - 1)");
}

// CPU: check_spans, and every run in [0, 2^32) (COCO's counts).
inline RunSpans check_runs(const char* op, const int64_t* counts, int64_t runs,
                           const at::Tensor& where, int64_t items, const char* counts_name,
                           const char* offsets_name) {
  const RunSpans spans = check_spans(op, runs, where, items, offsets_name);
  for (int64_t r = 0; r < runs; ++r) {
    check_run_length(op, counts, r, counts_name);
  }
  return spans;
}

// What one pass over an RLE's runs finds: the pixels they cover, its ones,
// where they lie, [first_one, end_of_ones) (empty when it has none), and
// whether it is regular: no empty run but perhaps the first (as every
// encoder writes them; rleIou's walk then cannot stop early on it).
struct RunExtent {
  int64_t pixels = 0;
  int64_t ones = 0;
  int64_t first_one = 0;
  int64_t end_of_ones = 0;
  bool regular = false;
};

// Each RLE's extent, read on the pool; on the way every run read is checked
// to be a COCO run length (0 to 2^32 - 1), and the error names the lowest bad
// RLE's first bad run for any thread count. Runs outside every span (the
// gaps of coco_rle_from_strings' output), and RLEs not `wanted`, are not read.
inline std::vector<RunExtent> run_extents(const char* op, const int64_t* counts, int64_t runs,
                                          const RunSpans& spans, int64_t items,
                                          const char* counts_name,
                                          const std::vector<bool>& wanted) {
  std::vector<RunExtent> extents(static_cast<size_t>(items));
  const int64_t typical = runs / std::max<int64_t>(1, items);
  ItemErrors errors;
  parallel_for(0, items, grain_for(typical + 10), [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) {
      if (!wanted[i]) {
        continue;
      }
      errors.run(i, [&] {
        const int64_t begin = spans.begin(i), end = spans.end(i);
        int64_t zeros = 0, ones = 0, empty_runs = 0;
        uint64_t high_bits = 0;  // a negative run or one of 2^32 sets some
        int64_t r = begin;
        for (; r + 1 < end; r += 2) {  // a run of zeros and one of ones; no branch
          const int64_t zero_run = counts[r], one_run = counts[r + 1];
          zeros += zero_run;
          ones += one_run;
          empty_runs += static_cast<int64_t>(zero_run == 0) + static_cast<int64_t>(one_run == 0);
          high_bits |= static_cast<uint64_t>(zero_run | one_run) >> 32;
        }
        if (r < end) {  // a last run of zeros
          zeros += counts[r];
          empty_runs += static_cast<int64_t>(counts[r] == 0);
          high_bits |= static_cast<uint64_t>(counts[r]) >> 32;
        }
        const int64_t pixels = zeros + ones;
        for (int64_t r = begin; high_bits != 0 && r < end; ++r) {
          check_run_length(op, counts, r, counts_name);
        }
        RunExtent& extent = extents[i];
        extent.pixels = pixels;
        extent.ones = ones;
        extent.regular = empty_runs == (begin < end && counts[begin] == 0 ? 1 : 0);
        int64_t k = 0, first_one = 0;  // runs alternate from zeros: odd k are ones
        for (; begin + k < end && (k % 2 == 0 || counts[begin + k] == 0); ++k) {
          first_one += counts[begin + k];
        }
        if (begin + k == end) {
          return;  // no ones: an empty extent
        }
        int64_t end_of_ones = pixels;
        for (k = end - begin - 1; k % 2 == 0 || counts[begin + k] == 0; --k) {
          end_of_ones -= counts[begin + k];
        }
        extent.first_one = first_one;
        extent.end_of_ones = end_of_ones;
      });
    }
  });
  errors.rethrow();
  return extents;
}

}  // namespace coco_rle
}  // namespace mt::detection
