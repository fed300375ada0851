// COCOeval.evaluate then accumulate in one operator, for
// torch_mt.coco_evaluate: coco_match's matching and coco_accumulate's
// accumulation (coco_match.cpp, coco_accumulate.cpp) with the flags kept
// as bit words between them (coco_evaluation.h says why), not as the
// [A, T, D] tensors of the two operators' schemas.
//
//   _coco_match_accumulate(dt_boxes [N, 4], dt_areas [N], dt_scores [N], dt_order [D],
//                          dt_offsets [C + 1], gt_boxes [H, 4], gt_areas [H], gt_crowd [H],
//                          gt_ignore [H], gt_ids [H], gt_order [G], gt_offsets [C + 1],
//                          area_ranges [A, 2], iou_thresholds [T], ious [P]?,
//                          num_categories, recall_thresholds [R], max_detections [M])
//       -> (precision [T, R, K, A, M], recall [T, K, A, M], scores [T, R, K, A, M])
//
// The columns come in the records' order, with the packed order beside them:
// packed detection i is row dt_order[i] (ground truth alike). The rows are
// gathered here, on the pool: in Python the gathers were a serial pass as
// long as the matching. Then the same bits as coco_match on the gathered
// columns and coco_accumulate on its output, for any thread count; the tests
// hold it to that.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <tuple>
#include <vector>

#include <torch_mt/parallel.h>
#include "coco_checks.h"
#include "coco_evaluation.h"

namespace mt::detection {
namespace {

constexpr const char* kMatchAccumulate = "mt::_coco_match_accumulate";

void check_arguments(Kernel kernel, const at::Tensor& dt_boxes, const at::Tensor& dt_areas,
                     const at::Tensor& dt_scores, const at::Tensor& dt_order,
                     const at::Tensor& dt_offsets, const at::Tensor& gt_boxes,
                     const at::Tensor& gt_areas, const at::Tensor& gt_crowd,
                     const at::Tensor& gt_ignore, const at::Tensor& gt_ids,
                     const at::Tensor& gt_order, const at::Tensor& gt_offsets,
                     const at::Tensor& area_ranges, const at::Tensor& iou_thresholds,
                     const std::optional<at::Tensor>& ious, int64_t num_categories,
                     const at::Tensor& recall_thresholds, at::IntArrayRef max_detections) {
  const char* op = kMatchAccumulate;
  // coco_match's checks, on the columns (each annotation's values alike in
  // length); the orders' lengths are checked against the offsets on the CPU.
  check_match_arguments(op, kernel, dt_boxes, dt_areas, dt_offsets, gt_boxes, gt_areas, gt_crowd,
                        gt_ignore, gt_ids, gt_offsets, area_ranges, iou_thresholds, ious);
  check_devices(op, kernel,
                {{&dt_boxes, "dt_boxes"},
                 {&dt_scores, "dt_scores"},
                 {&dt_order, "dt_order"},
                 {&gt_order, "gt_order"},
                 {&recall_thresholds, "recall_thresholds"}});
  check_accumulate_settings(op, dt_scores, dt_offsets.sym_size(0) - 1, num_categories,
                            recall_thresholds, max_detections);
  check_size(op, dt_scores, "dt_scores", 0, dt_boxes.sym_size(0), "the size of 'dt_boxes' is");
  check_dim(op, dt_order, "dt_order", 1, "[D]");
  check_dtype(op, dt_order, "dt_order", at::kLong);
  check_dim(op, gt_order, "gt_order", 1, "[G]");
  check_dtype(op, gt_order, "gt_order", at::kLong);
}

// A row's copy costs about this much.
constexpr int64_t kGatherNs = 10;

// A packed order, contiguous, its indices checked once: each a row of `rows`.
at::Tensor checked_order(const at::Tensor& order, const char* order_name, const at::Tensor& rows,
                         const char* rows_name) {
  const char* op = kMatchAccumulate;
  at::Tensor indices = contiguous_on_pool(order, op, order_name);
  check_indices(op, indices.const_data_ptr<int64_t>(), indices.size(0), order_name, rows.size(0),
                rows_name);
  return indices;
}

// Rows index[0..count) of `from`, kBytes each, into `to`, on the pool. The
// size is a constant, so each row is copied inline: a memcpy of a size known
// only at run time is a libc call per row.
template <size_t kBytes>
void copy_rows(const char* from, const int64_t* index, int64_t count, char* to) {
  parallel_for(0, count, grain_for(kGatherNs), [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) {
      std::memcpy(to + i * kBytes, from + index[i] * kBytes, kBytes);
    }
  });
}

// Rows order[i] of `values` (a checked_order of its rows). The columns'
// rows are 1 (bool), 8 (one number) or 32 bytes (a box): coco_match's
// argument checks fix their shapes and dtypes.
at::Tensor gather_rows(const at::Tensor& values, const at::Tensor& order, const char* name) {
  const at::Tensor source = contiguous_on_pool(values, kMatchAccumulate, name);
  std::vector<int64_t> shape = source.sizes().vec();
  shape[0] = order.size(0);
  at::Tensor out = at::empty(shape, source.options());
  advise_huge_pages(out.data_ptr(), out.nbytes());
  const int64_t row_bytes = c10::multiply_integers(source.sizes().slice(1)) * source.element_size();
  const auto* from = static_cast<const char*>(source.const_data_ptr());
  const int64_t* index = order.const_data_ptr<int64_t>();
  auto* to = static_cast<char*>(out.data_ptr());
  switch (row_bytes) {
    case 1: copy_rows<1>(from, index, order.size(0), to); break;
    case 8: copy_rows<8>(from, index, order.size(0), to); break;
    case 32: copy_rows<32>(from, index, order.size(0), to); break;
    default: TORCH_INTERNAL_ASSERT(false, name, ": rows of ", row_bytes, " bytes");
  }
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> coco_match_accumulate_meta(
    const at::Tensor& dt_boxes, const at::Tensor& dt_areas, const at::Tensor& dt_scores,
    const at::Tensor& dt_order, const at::Tensor& dt_offsets, const at::Tensor& gt_boxes,
    const at::Tensor& gt_areas, const at::Tensor& gt_crowd, const at::Tensor& gt_ignore,
    const at::Tensor& gt_ids, const at::Tensor& gt_order, const at::Tensor& gt_offsets,
    const at::Tensor& area_ranges, const at::Tensor& iou_thresholds,
    const std::optional<at::Tensor>& ious, int64_t num_categories,
    const at::Tensor& recall_thresholds, at::IntArrayRef max_detections) {
  check_arguments(Kernel::kMeta, dt_boxes, dt_areas, dt_scores, dt_order, dt_offsets, gt_boxes,
                  gt_areas, gt_crowd, gt_ignore, gt_ids, gt_order, gt_offsets, area_ranges,
                  iou_thresholds, ious, num_categories, recall_thresholds, max_detections);
  return accumulate_outputs(dt_scores.options(), area_ranges.sym_size(0),
                            iou_thresholds.sym_size(0), num_categories, recall_thresholds,
                            max_detections);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> coco_match_accumulate_cpu(
    const at::Tensor& dt_boxes, const at::Tensor& dt_areas, const at::Tensor& dt_scores,
    const at::Tensor& dt_order, const at::Tensor& dt_offsets, const at::Tensor& gt_boxes,
    const at::Tensor& gt_areas, const at::Tensor& gt_crowd, const at::Tensor& gt_ignore,
    const at::Tensor& gt_ids, const at::Tensor& gt_order, const at::Tensor& gt_offsets,
    const at::Tensor& area_ranges, const at::Tensor& iou_thresholds,
    const std::optional<at::Tensor>& ious, int64_t num_categories,
    const at::Tensor& recall_thresholds, at::IntArrayRef max_detections) {
  const char* op = kMatchAccumulate;
  check_arguments(Kernel::kCpu, dt_boxes, dt_areas, dt_scores, dt_order, dt_offsets, gt_boxes,
                  gt_areas, gt_crowd, gt_ignore, gt_ids, gt_order, gt_offsets, area_ranges,
                  iou_thresholds, ious, num_categories, recall_thresholds, max_detections);
  const at::Tensor dt_rows = checked_order(dt_order, "dt_order", dt_boxes, "dt_boxes");
  const at::Tensor gt_rows = checked_order(gt_order, "gt_order", gt_boxes, "gt_boxes");
  const at::Tensor boxes = gather_rows(dt_boxes, dt_rows, "dt_boxes");
  const at::Tensor areas = gather_rows(dt_areas, dt_rows, "dt_areas");
  const at::Tensor scores = gather_rows(dt_scores, dt_rows, "dt_scores");
  const at::Tensor truth_boxes = gather_rows(gt_boxes, gt_rows, "gt_boxes");
  const at::Tensor truth_areas = gather_rows(gt_areas, gt_rows, "gt_areas");
  const at::Tensor crowd = gather_rows(gt_crowd, gt_rows, "gt_crowd");
  const at::Tensor ignore = gather_rows(gt_ignore, gt_rows, "gt_ignore");
  const at::Tensor ids = gather_rows(gt_ids, gt_rows, "gt_ids");
  const PreparedMatch prepared =
      prepare_match(op, boxes, areas, dt_offsets, truth_boxes, truth_areas, crowd, ignore, ids,
                    gt_offsets, area_ranges, iou_thresholds, ious);
  const MatchInputs& match = prepared.in;
  const at::Tensor points = contiguous_on_pool(recall_thresholds, op, "recall_thresholds");
  check_accumulate_data(op, match.dt_offsets, match.cells, scores.const_data_ptr<double>(),
                        points.const_data_ptr<double>(), points.size(0));
  const int64_t A = match.ranges, T = match.num_thresholds, D = match.detections;
  const int64_t W = flag_words(A, T);
  const auto matched = uninitialized_words(D * W), ignored = uninitialized_words(D * W);
  const auto regular =
      std::make_unique_for_overwrite<int64_t[]>(static_cast<size_t>(A * match.cells));
  match_cells(match, matched.get(), ignored.get(), regular.get());
  return accumulate_flags(scores, points, matched.get(), ignored.get(), match.dt_offsets,
                          match.cells, regular.get(), A, T, num_categories, max_detections);
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def(
      "_coco_match_accumulate(Tensor dt_boxes, Tensor dt_areas, Tensor dt_scores, "
      "Tensor dt_order, Tensor dt_offsets, Tensor gt_boxes, Tensor gt_areas, Tensor gt_crowd, "
      "Tensor gt_ignore, Tensor gt_ids, Tensor gt_order, Tensor gt_offsets, "
      "Tensor area_ranges, Tensor iou_thresholds, Tensor? ious, int num_categories, "
      "Tensor recall_thresholds, int[] max_detections) -> "
      "(Tensor precision, Tensor recall, Tensor scores)");
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("_coco_match_accumulate", &coco_match_accumulate_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) { m.impl("_coco_match_accumulate", &coco_match_accumulate_meta); }

}  // namespace mt::detection
