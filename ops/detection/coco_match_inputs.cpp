// coco_match's arguments, checked and read (coco_evaluation.h): the checks
// every kernel taking them runs (coco_match, _coco_match_accumulate), shapes
// and dtypes first (also on Meta), then on the CPU the data, on contiguous
// copies.
#include <ATen/ATen.h>

#include <cmath>
#include <optional>

#include <torch_mt/parallel.h>
#include "coco_checks.h"
#include "coco_evaluation.h"

namespace mt::detection {
namespace {

// ---- checks ---------------------------------------------------------------

void check_boxes(const char* op, const at::Tensor& boxes, const char* name) {
  check_dim(op, boxes, name, 2, "[N, 4]");
  check_dtype(op, boxes, name, at::kDouble);
  check_size(op, boxes, name, 1, 4, "(x, y, width, height) boxes need");
}

// `values` [size] of one per annotation named by `what` ("'dt_boxes' has").
void check_per_annotation(const char* op, const at::Tensor& values, const char* name,
                          const at::Tensor& annotations, const char* what) {
  check_size(op, values, name, 0, annotations.sym_size(0), what);
}

}  // namespace

void check_match_arguments(const char* op, Kernel kernel, const at::Tensor& dt_boxes,
                           const at::Tensor& dt_areas, const at::Tensor& dt_offsets,
                           const at::Tensor& gt_boxes, const at::Tensor& gt_areas,
                           const at::Tensor& gt_crowd, const at::Tensor& gt_ignore,
                           const at::Tensor& gt_ids, const at::Tensor& gt_offsets,
                           const at::Tensor& area_ranges, const at::Tensor& iou_thresholds,
                           const std::optional<at::Tensor>& ious) {
  check_devices(op, kernel,
                {{&dt_boxes, "dt_boxes"},
                 {&dt_areas, "dt_areas"},
                 {&dt_offsets, "dt_offsets"},
                 {&gt_boxes, "gt_boxes"},
                 {&gt_areas, "gt_areas"},
                 {&gt_crowd, "gt_crowd"},
                 {&gt_ignore, "gt_ignore"},
                 {&gt_ids, "gt_ids"},
                 {&gt_offsets, "gt_offsets"},
                 {&area_ranges, "area_ranges"},
                 {&iou_thresholds, "iou_thresholds"},
                 {if_present(ious), "ious"}});
  if (ious.has_value()) {
    check_vector(op, *ious, "ious", at::kDouble);
  }
  check_boxes(op, dt_boxes, "dt_boxes");
  check_boxes(op, gt_boxes, "gt_boxes");
  check_vector(op, dt_areas, "dt_areas", at::kDouble);
  check_vector(op, gt_areas, "gt_areas", at::kDouble);
  check_vector(op, gt_crowd, "gt_crowd", at::kBool);
  check_vector(op, gt_ignore, "gt_ignore", at::kBool);
  check_vector(op, gt_ids, "gt_ids", at::kLong);
  check_vector(op, dt_offsets, "dt_offsets", at::kLong);
  check_vector(op, gt_offsets, "gt_offsets", at::kLong);
  check_vector(op, iou_thresholds, "iou_thresholds", at::kDouble);
  check_per_annotation(op, dt_areas, "dt_areas", dt_boxes, "'dt_boxes' has");
  for (const auto& [values, name] : {std::pair{&gt_areas, "gt_areas"},
                                     {&gt_crowd, "gt_crowd"},
                                     {&gt_ignore, "gt_ignore"},
                                     {&gt_ids, "gt_ids"}}) {
    check_per_annotation(op, *values, name, gt_boxes, "'gt_boxes' has");
  }
  TORCH_CHECK_VALUE(dt_offsets.sym_size(0) >= 1, op,
                    ": argument 'dt_offsets' must hold C + 1 >= 1 offsets, got none");
  check_size(op, gt_offsets, "gt_offsets", 0, dt_offsets.sym_size(0),
             "the size of 'dt_offsets' is");
  check_dim(op, area_ranges, "area_ranges", 2, "[A, 2]");
  check_dtype(op, area_ranges, "area_ranges", at::kDouble);
  check_size(op, area_ranges, "area_ranges", 1, 2, "(lowest, highest) ranges need");
}

namespace {

// CPU: finite boxes, areas and thresholds (NaN would make every comparison
// false), checked on the pool; ItemErrors keeps the lowest failing chunk's
// error, which names the first bad value whatever the thread count.
void check_finite(const char* op, const double* values, int64_t count, int64_t per_item,
                  const char* name) {
  ItemErrors errors;
  parallel_for(0, count * per_item, grain_for(1), [&](int64_t first, int64_t last) {
    errors.run(first, [&] {
      for (int64_t i = first; i < last; ++i) {
        TORCH_CHECK_VALUE(std::isfinite(values[i]), op, ": ", name, "[", i / per_item,
                          "] is NaN or infinite");
      }
    });
  });
  errors.rethrow();
}

}  // namespace

PreparedMatch prepare_match(const char* op, const at::Tensor& dt_boxes, const at::Tensor& dt_areas,
                            const at::Tensor& dt_offsets, const at::Tensor& gt_boxes,
                            const at::Tensor& gt_areas, const at::Tensor& gt_crowd,
                            const at::Tensor& gt_ignore, const at::Tensor& gt_ids,
                            const at::Tensor& gt_offsets, const at::Tensor& area_ranges,
                            const at::Tensor& iou_thresholds,
                            const std::optional<at::Tensor>& ious) {
  check_match_arguments(op, Kernel::kCpu, dt_boxes, dt_areas, dt_offsets, gt_boxes, gt_areas,
                        gt_crowd, gt_ignore, gt_ids, gt_offsets, area_ranges, iou_thresholds, ious);
  // Read once, contiguous, before the fan-out (contiguous_on_pool: torch_mt's pool).
  const auto read = [&](const at::Tensor& t, const char* name) {
    return contiguous_on_pool(t, op, name);
  };
  PreparedMatch prepared;
  auto& kept = prepared.tensors;
  kept = {read(dt_boxes, "dt_boxes"),
          read(dt_areas, "dt_areas"),
          read(dt_offsets, "dt_offsets"),
          read(gt_boxes, "gt_boxes"),
          read(gt_areas, "gt_areas"),
          read(gt_crowd, "gt_crowd"),
          read(gt_ignore, "gt_ignore"),
          read(gt_ids, "gt_ids"),
          read(gt_offsets, "gt_offsets"),
          read(area_ranges, "area_ranges"),
          read(iou_thresholds, "iou_thresholds"),
          ious.has_value() ? read(*ious, "ious") : at::Tensor()};
  const at::Tensor &db = kept[0], &da = kept[1], &dof = kept[2], &gb = kept[3], &ga = kept[4],
                   &gc = kept[5], &gi = kept[6], &gid = kept[7], &gof = kept[8], &ar = kept[9],
                   &th = kept[10], &given = kept[11];
  const int64_t cells = dof.size(0) - 1;
  check_offsets(op, dof.const_data_ptr<int64_t>(), cells, "dt_offsets", db.size(0), "detections");
  check_offsets(op, gof.const_data_ptr<int64_t>(), cells, "gt_offsets", gb.size(0),
                "ground-truth boxes");
  if (given.defined()) {
    prepared.pair_offsets = cell_pair_offsets(op, dof.const_data_ptr<int64_t>(),
                                              gof.const_data_ptr<int64_t>(), cells, given.size(0));
    const double* values = given.const_data_ptr<double>();
    for (int64_t p = 0; p < given.size(0); ++p) {
      TORCH_CHECK_VALUE(!std::isnan(values[p]), op, ": ious[", p, "] is NaN");
    }
  }
  prepared.in = MatchInputs{db.const_data_ptr<double>(),
                            da.const_data_ptr<double>(),
                            gb.const_data_ptr<double>(),
                            ga.const_data_ptr<double>(),
                            ar.const_data_ptr<double>(),
                            th.const_data_ptr<double>(),
                            given.defined() ? given.const_data_ptr<double>() : nullptr,
                            prepared.pair_offsets.data(),
                            gc.const_data_ptr<bool>(),
                            gi.const_data_ptr<bool>(),
                            gid.const_data_ptr<int64_t>(),
                            dof.const_data_ptr<int64_t>(),
                            gof.const_data_ptr<int64_t>(),
                            db.size(0),
                            cells,
                            ar.size(0),
                            th.size(0)};
  const MatchInputs& in = prepared.in;
  check_finite(op, in.dt_boxes, db.size(0), 4, "dt_boxes");
  check_finite(op, in.gt_boxes, gb.size(0), 4, "gt_boxes");
  check_finite(op, in.dt_areas, db.size(0), 1, "dt_areas");
  check_finite(op, in.gt_areas, gb.size(0), 1, "gt_areas");
  check_finite(op, in.thresholds, th.size(0), 1, "iou_thresholds");
  for (int64_t a = 0; a < in.ranges; ++a) {
    TORCH_CHECK_VALUE(!std::isnan(in.area_ranges[2 * a]) && !std::isnan(in.area_ranges[2 * a + 1]),
                      op, ": area_ranges[", a, "] is NaN");
  }
  return prepared;
}

}  // namespace mt::detection
