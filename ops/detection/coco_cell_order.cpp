// mt::_coco_cell_order: the order in which coco_match reads a COCO list
// (cells: coco_match.cpp), and where each cell starts in it.
//
// Internal to coco_evaluate (torch_mt/detection/coco/records.py). The kept
// items by cell; within a cell by score descending (detections; none for
// ground truth), then by a secondary key ascending (the category, when
// categories are pooled), then by index: the order pycocotools' stable
// sorts give. A cell keeps its first `keep_first` items (the largest
// max-detections value; -1 keeps all).
//
// Why C++: two stable torch.sort passes over half a million detections, a
// searchsorted for the ranks, a bincount and a cumsum took ~45 ms of a bbox
// evaluation's ~0.3 s. Here: one counting sort by cell (serial: a histogram,
// its prefix sum and one scatter), then each cell's few items sorted on the
// pool. Integers only, and each cell alone: the same order for any thread
// count.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <tuple>
#include <vector>

#include <torch_mt/parallel.h>

namespace mt::detection {
namespace {

constexpr const char* kCellOrder = "mt::_coco_cell_order";

// Sorting a cell's items costs about this much per item.
constexpr int64_t kItemNs = 20;

// Sorts one cell's few items: insertion sort for the usual handful (a
// std::sort call costs more than the work), std::sort beyond.
template <class Before>
void sort_cell(int64_t* first, int64_t* last, const Before& before) {
  if (last - first > 16) {
    std::sort(first, last, before);
    return;
  }
  for (int64_t* item = first + 1; item < last; ++item) {
    const int64_t moving = *item;
    int64_t* hole = item;
    for (; hole > first && before(moving, hole[-1]); --hole) {
      *hole = hole[-1];
    }
    *hole = moving;
  }
}

// Moves each cell's first offset[c + 1] - offset[c] items to offset[c]
// (offset[c] <= starts[c]: left, in order, so a forward copy is safe).
void keep_first_of_each_cell(int64_t* items, const int64_t* starts, const int64_t* offset,
                             int64_t num_cells) {
  for (int64_t c = 0; c < num_cells; ++c) {
    std::copy(items + starts[c], items + starts[c] + (offset[c + 1] - offset[c]),
              items + offset[c]);
  }
}

std::tuple<at::Tensor, at::Tensor> coco_cell_order(const at::Tensor& cells, int64_t num_cells,
                                                   const at::Tensor& kept,
                                                   const std::optional<at::Tensor>& scores,
                                                   const std::optional<at::Tensor>& secondary,
                                                   int64_t keep_first) {
  const char* op = kCellOrder;
  check_dim(op, cells, "cells", 1, "[N]");
  check_dtype(op, cells, "cells", at::kLong);
  check_dim(op, kept, "kept", 1, "[N]");
  check_dtype(op, kept, "kept", at::kBool);
  check_size(op, kept, "kept", 0, cells.sym_size(0), "the size of 'cells' is");
  TORCH_CHECK_VALUE(num_cells >= 0, op, ": num_cells must be >= 0, got ", num_cells);
  const int64_t n = cells.size(0);
  const at::Tensor cell_c = contiguous_on_pool(cells, op, "cells");
  const at::Tensor kept_c = contiguous_on_pool(kept, op, "kept");
  at::Tensor score_c, secondary_c;
  if (scores) {
    check_dim(op, *scores, "scores", 1, "[N]");
    check_dtype(op, *scores, "scores", at::kDouble);
    check_size(op, *scores, "scores", 0, cells.sym_size(0), "the size of 'cells' is");
    score_c = contiguous_on_pool(*scores, op, "scores");
  }
  if (secondary) {
    check_dim(op, *secondary, "secondary", 1, "[N]");
    check_dtype(op, *secondary, "secondary", at::kLong);
    check_size(op, *secondary, "secondary", 0, cells.sym_size(0), "the size of 'cells' is");
    secondary_c = contiguous_on_pool(*secondary, op, "secondary");
  }
  const int64_t* cell = cell_c.const_data_ptr<int64_t>();
  const bool* keep = kept_c.const_data_ptr<bool>();
  const double* score = scores ? score_c.const_data_ptr<double>() : nullptr;
  const int64_t* key = secondary ? secondary_c.const_data_ptr<int64_t>() : nullptr;
  // Counting sort of the kept items by cell: the index order within a cell.
  std::vector<int64_t> starts(static_cast<size_t>(num_cells) + 1, 0);
  for (int64_t i = 0; i < n; ++i) {
    if (keep[i]) {
      TORCH_CHECK_VALUE(cell[i] >= 0 && cell[i] < num_cells, op, ": cells[", i, "] = ", cell[i],
                        " is not a cell index (", num_cells, ")");
      TORCH_CHECK_VALUE(score == nullptr || !std::isnan(score[i]), op, ": scores[", i, "] is NaN");
      ++starts[cell[i] + 1];
    }
  }
  for (int64_t c = 0; c < num_cells; ++c) {
    starts[c + 1] += starts[c];
  }
  // The kept items by cell, written straight into the output: no cell is
  // cut in the common case (max-detections above every cell's count).
  at::Tensor order = at::empty({starts[num_cells]}, cells.options());
  int64_t* sorted = order.data_ptr<int64_t>();
  {
    std::vector<int64_t> next(starts.begin(), starts.end() - 1);
    for (int64_t i = 0; i < n; ++i) {
      if (keep[i]) {
        sorted[next[cell[i]]++] = i;
      }
    }
  }
  // Within each cell: score descending, then the secondary key, then index.
  const auto before = [&](int64_t x, int64_t y) {
    if (score != nullptr && score[x] != score[y]) {
      return score[x] > score[y];
    }
    if (key != nullptr && key[x] != key[y]) {
      return key[x] < key[y];
    }
    return x < y;
  };
  const int64_t typical = std::max<int64_t>(1, n / std::max<int64_t>(1, num_cells));
  if (score != nullptr || key != nullptr) {
    parallel_for(0, num_cells, grain_for(kItemNs * typical + 5), [&](int64_t first, int64_t last) {
      for (int64_t c = first; c < last; ++c) {
        sort_cell(sorted + starts[c], sorted + starts[c + 1], before);
      }
    });
  }
  // The first keep_first of each cell, packed.
  at::Tensor offsets = at::empty({num_cells + 1}, cells.options());
  int64_t* offset = offsets.data_ptr<int64_t>();
  offset[0] = 0;
  for (int64_t c = 0; c < num_cells; ++c) {
    const int64_t count = starts[c + 1] - starts[c];
    offset[c + 1] = offset[c] + (keep_first < 0 ? count : std::min(count, keep_first));
  }
  if (offset[num_cells] < starts[num_cells]) {  // some cell is cut: compact in place
    keep_first_of_each_cell(sorted, starts.data(), offset, num_cells);
    order = order.narrow(0, 0, offset[num_cells]).clone();
  }
  return {order, offsets};
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  // Internal (coco_evaluate's packing): see the top of this file. Returns
  // (order [kept, cut], offsets [num_cells + 1]) of the items by cell.
  m.def(
      "_coco_cell_order(Tensor cells, int num_cells, Tensor kept, Tensor? scores=None, "
      "Tensor? secondary=None, int keep_first=-1) -> (Tensor order, Tensor offsets)");
}

TORCH_LIBRARY_IMPL(mt, CPU, m) { m.impl("_coco_cell_order", &coco_cell_order); }

}  // namespace mt::detection
