// COCOeval.evaluate then accumulate in one operator, for
// torch_mt.coco_evaluate: coco_match's matching and coco_accumulate's
// accumulation (coco_match.cpp, coco_accumulate.cpp) with the flags kept
// as bit words between them (coco_evaluation.h says why), not as the
// [A, T, D] tensors of the two operators' schemas.
//
//   _coco_match_accumulate(<coco_match's arguments>, dt_scores [D],
//                          num_categories, recall_thresholds [R], max_detections [M])
//       -> (precision [T, R, K, A, M], recall [T, K, A, M], scores [T, R, K, A, M])
//
// The same bits as coco_accumulate(dt_scores, *coco_match(...)[:2],
// dt_offsets, coco_match(...)[2], ...) for any thread count; the tests hold
// it to that.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <memory>
#include <optional>
#include <tuple>
#include <vector>

#include <torch_mt/parallel.h>
#include "coco_evaluation.h"

namespace mt::detection {
namespace {

constexpr const char* kMatchAccumulate = "mt::_coco_match_accumulate";

void check_arguments(Kernel kernel, const at::Tensor& dt_boxes, const at::Tensor& dt_areas,
                     const at::Tensor& dt_offsets, const at::Tensor& gt_boxes,
                     const at::Tensor& gt_areas, const at::Tensor& gt_crowd,
                     const at::Tensor& gt_ignore, const at::Tensor& gt_ids,
                     const at::Tensor& gt_offsets, const at::Tensor& area_ranges,
                     const at::Tensor& iou_thresholds, const std::optional<at::Tensor>& ious,
                     const at::Tensor& dt_scores, int64_t num_categories,
                     const at::Tensor& recall_thresholds, at::IntArrayRef max_detections) {
  const char* op = kMatchAccumulate;
  check_match_arguments(op, kernel, dt_boxes, dt_areas, dt_offsets, gt_boxes, gt_areas, gt_crowd,
                        gt_ignore, gt_ids, gt_offsets, area_ranges, iou_thresholds, ious);
  check_devices(op, kernel,
                {{&dt_boxes, "dt_boxes"},
                 {&dt_scores, "dt_scores"},
                 {&recall_thresholds, "recall_thresholds"}});
  check_accumulate_settings(op, dt_scores, dt_offsets.sym_size(0) - 1, num_categories,
                            recall_thresholds, max_detections);
  check_size(op, dt_scores, "dt_scores", 0, dt_boxes.sym_size(0), "the size of 'dt_boxes' is");
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> coco_match_accumulate_meta(
    const at::Tensor& dt_boxes, const at::Tensor& dt_areas, const at::Tensor& dt_offsets,
    const at::Tensor& gt_boxes, const at::Tensor& gt_areas, const at::Tensor& gt_crowd,
    const at::Tensor& gt_ignore, const at::Tensor& gt_ids, const at::Tensor& gt_offsets,
    const at::Tensor& area_ranges, const at::Tensor& iou_thresholds,
    const std::optional<at::Tensor>& ious, const at::Tensor& dt_scores, int64_t num_categories,
    const at::Tensor& recall_thresholds, at::IntArrayRef max_detections) {
  check_arguments(Kernel::kMeta, dt_boxes, dt_areas, dt_offsets, gt_boxes, gt_areas, gt_crowd,
                  gt_ignore, gt_ids, gt_offsets, area_ranges, iou_thresholds, ious, dt_scores,
                  num_categories, recall_thresholds, max_detections);
  return accumulate_outputs(dt_scores.options(), area_ranges.sym_size(0),
                            iou_thresholds.sym_size(0), num_categories, recall_thresholds,
                            max_detections);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> coco_match_accumulate_cpu(
    const at::Tensor& dt_boxes, const at::Tensor& dt_areas, const at::Tensor& dt_offsets,
    const at::Tensor& gt_boxes, const at::Tensor& gt_areas, const at::Tensor& gt_crowd,
    const at::Tensor& gt_ignore, const at::Tensor& gt_ids, const at::Tensor& gt_offsets,
    const at::Tensor& area_ranges, const at::Tensor& iou_thresholds,
    const std::optional<at::Tensor>& ious, const at::Tensor& dt_scores, int64_t num_categories,
    const at::Tensor& recall_thresholds, at::IntArrayRef max_detections) {
  const char* op = kMatchAccumulate;
  check_arguments(Kernel::kCpu, dt_boxes, dt_areas, dt_offsets, gt_boxes, gt_areas, gt_crowd,
                  gt_ignore, gt_ids, gt_offsets, area_ranges, iou_thresholds, ious, dt_scores,
                  num_categories, recall_thresholds, max_detections);
  const PreparedMatch prepared =
      prepare_match(op, dt_boxes, dt_areas, dt_offsets, gt_boxes, gt_areas, gt_crowd, gt_ignore,
                    gt_ids, gt_offsets, area_ranges, iou_thresholds, ious);
  const MatchInputs& match = prepared.in;
  const at::Tensor scores = contiguous_on_pool(dt_scores, op, "dt_scores");
  const at::Tensor points = contiguous_on_pool(recall_thresholds, op, "recall_thresholds");
  check_accumulate_data(op, match.dt_offsets, match.cells, scores.const_data_ptr<double>(),
                        points.const_data_ptr<double>(), points.size(0));
  const int64_t A = match.ranges, T = match.num_thresholds, D = match.detections;
  const int64_t W = flag_words(A, T);
  const auto matched = uninitialized_words(D * W), ignored = uninitialized_words(D * W);
  const auto regular =
      std::make_unique_for_overwrite<int64_t[]>(static_cast<size_t>(A * match.cells));
  match_cells(match, matched.get(), ignored.get(), regular.get());
  auto [precision, recall, score_out] = accumulate_outputs(
      dt_scores.options(), A, T, num_categories, recall_thresholds, max_detections);
  const AccumulateInputs in{scores.const_data_ptr<double>(),
                            points.const_data_ptr<double>(),
                            matched.get(),
                            ignored.get(),
                            match.dt_offsets,
                            regular.get(),
                            D,
                            T,
                            points.size(0),
                            num_categories,
                            match.cells / num_categories,
                            A,
                            max_detections.data(),
                            static_cast<int64_t>(max_detections.size())};
  accumulate_cells(in, AccumulateOutputs{precision.data_ptr<double>(), recall.data_ptr<double>(),
                                         score_out.data_ptr<double>()});
  return {precision, recall, score_out};
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def(
      "_coco_match_accumulate(Tensor dt_boxes, Tensor dt_areas, Tensor dt_offsets, "
      "Tensor gt_boxes, Tensor gt_areas, Tensor gt_crowd, Tensor gt_ignore, Tensor gt_ids, "
      "Tensor gt_offsets, Tensor area_ranges, Tensor iou_thresholds, Tensor? ious, "
      "Tensor dt_scores, int num_categories, Tensor recall_thresholds, int[] max_detections) -> "
      "(Tensor precision, Tensor recall, Tensor scores)");
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("_coco_match_accumulate", &coco_match_accumulate_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) { m.impl("_coco_match_accumulate", &coco_match_accumulate_meta); }

}  // namespace mt::detection
