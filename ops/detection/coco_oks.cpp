// Object keypoint similarity (OKS) for COCO keypoint evaluation, as
// pycocotools 2.0.11's COCOeval.computeOks, on listed (detection, ground
// truth) pairs, in parallel over the pairs.
//
//   coco_oks_exponents(dt_keypoints [D, K, 3], gt_keypoints [G, K, 3], gt_boxes [G, 4],
//                      gt_areas [G], pair_dt [P] int64, pair_gt [P] int64, sigmas [K])
//       -> (exponents [P, K] float64, counted [P] int64)
//
// For pair p, row p holds computeOks' e for the keypoints it counts, in
// keypoint order, then +inf: a ground truth with a visible keypoint (v > 0)
// counts its visible ones, measured from the detection's keypoint; one with
// none counts all K, measured to its box grown by its own width and height
// on each side. counted[p] says how many. OKS = mean(exp(-e)) over those.
//
// Why the exponential is not taken here: pycocotools takes it with NumPy,
// whose float64 exp on AVX-512 CPUs is its own SIMD code and differs from
// the C library's in the last bit for about one argument in twenty. The
// caller (torch_mt.coco_evaluate) takes np.exp and the mean in NumPy's
// order, so OKS equals pycocotools' to the last bit on every CPU.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <cfloat>
#include <cmath>
#include <limits>
#include <tuple>

#include <torch_mt/parallel.h>
#include "coco_checks.h"

namespace mt::detection {
namespace {

constexpr const char* kOks = "mt::coco_oks_exponents";

void check_keypoints(const char* op, const at::Tensor& keypoints, const char* name) {
  check_dim(op, keypoints, name, 3, "[N, K, 3]");
  check_dtype(op, keypoints, name, at::kDouble);
  check_size(op, keypoints, name, 2, 3, "(x, y, visibility) triples need");
}

void check_oks_arguments(Kernel kernel, const at::Tensor& dt_keypoints,
                         const at::Tensor& gt_keypoints, const at::Tensor& gt_boxes,
                         const at::Tensor& gt_areas, const at::Tensor& pair_dt,
                         const at::Tensor& pair_gt, const at::Tensor& sigmas) {
  const char* op = kOks;
  check_devices(op, kernel,
                {{&dt_keypoints, "dt_keypoints"},
                 {&gt_keypoints, "gt_keypoints"},
                 {&gt_boxes, "gt_boxes"},
                 {&gt_areas, "gt_areas"},
                 {&pair_dt, "pair_dt"},
                 {&pair_gt, "pair_gt"},
                 {&sigmas, "sigmas"}});
  check_keypoints(op, dt_keypoints, "dt_keypoints");
  check_keypoints(op, gt_keypoints, "gt_keypoints");
  check_dim(op, sigmas, "sigmas", 1, "[K]");
  check_dtype(op, sigmas, "sigmas", at::kDouble);
  check_size(op, dt_keypoints, "dt_keypoints", 1, sigmas.sym_size(0), "the size of 'sigmas' is");
  check_size(op, gt_keypoints, "gt_keypoints", 1, sigmas.sym_size(0), "the size of 'sigmas' is");
  check_dim(op, gt_boxes, "gt_boxes", 2, "[G, 4]");
  check_dtype(op, gt_boxes, "gt_boxes", at::kDouble);
  check_size(op, gt_boxes, "gt_boxes", 1, 4, "(x, y, width, height) boxes need");
  check_size(op, gt_boxes, "gt_boxes", 0, gt_keypoints.sym_size(0),
             "the size of 'gt_keypoints' is");
  check_dim(op, gt_areas, "gt_areas", 1, "[G]");
  check_dtype(op, gt_areas, "gt_areas", at::kDouble);
  check_size(op, gt_areas, "gt_areas", 0, gt_keypoints.sym_size(0),
             "the size of 'gt_keypoints' is");
  check_dim(op, pair_dt, "pair_dt", 1, "[P]");
  check_dtype(op, pair_dt, "pair_dt", at::kLong);
  check_dim(op, pair_gt, "pair_gt", 1, "[P]");
  check_dtype(op, pair_gt, "pair_gt", at::kLong);
  check_size(op, pair_gt, "pair_gt", 0, pair_dt.sym_size(0), "the size of 'pair_dt' is");
}

std::tuple<at::Tensor, at::Tensor> oks_outputs(const at::Tensor& pair_dt,
                                               const at::Tensor& sigmas) {
  const auto options = sigmas.options();
  return {at::empty_symint({pair_dt.sym_size(0), sigmas.sym_size(0)}, options),
          at::empty_symint({pair_dt.sym_size(0)}, options.dtype(at::kLong))};
}

std::tuple<at::Tensor, at::Tensor> coco_oks_exponents_meta(
    const at::Tensor& dt_keypoints, const at::Tensor& gt_keypoints, const at::Tensor& gt_boxes,
    const at::Tensor& gt_areas, const at::Tensor& pair_dt, const at::Tensor& pair_gt,
    const at::Tensor& sigmas) {
  check_oks_arguments(Kernel::kMeta, dt_keypoints, gt_keypoints, gt_boxes, gt_areas, pair_dt,
                      pair_gt, sigmas);
  return oks_outputs(pair_dt, sigmas);
}

// CPU: every real finite.
void check_finite(const double* values, int64_t count, int64_t per_item, const char* name) {
  for (int64_t i = 0; i < count * per_item; ++i) {
    TORCH_CHECK_VALUE(std::isfinite(values[i]), kOks, ": ", name, "[", i / per_item,
                      "] has a NaN or infinite number");
  }
}

// One pair's row, in computeOks' order of operations: e = (dx^2 + dy^2) /
// variance / (area + eps) / 2, variance = (2 sigma)^2.
int64_t oks_row(const double* d, const double* g, const double* box, double area,
                const double* sigmas, int64_t keypoints, double* row) {
  int64_t visible = 0;
  for (int64_t k = 0; k < keypoints; ++k) {
    visible += g[3 * k + 2] > 0 ? 1 : 0;
  }
  const double scale = area + DBL_EPSILON;  // np.spacing(1)
  const double x0 = box[0] - box[2], x1 = box[0] + box[2] * 2;
  const double y0 = box[1] - box[3], y1 = box[1] + box[3] * 2;
  int64_t counted = 0;
  for (int64_t k = 0; k < keypoints; ++k) {
    double dx, dy;
    if (visible > 0) {
      if (!(g[3 * k + 2] > 0)) {
        continue;
      }
      dx = d[3 * k] - g[3 * k];
      dy = d[3 * k + 1] - g[3 * k + 1];
    } else {  // distance to the grown box, 0 inside it
      dx = std::fmax(0.0, x0 - d[3 * k]) + std::fmax(0.0, d[3 * k] - x1);
      dy = std::fmax(0.0, y0 - d[3 * k + 1]) + std::fmax(0.0, d[3 * k + 1] - y1);
    }
    const double twice_sigma = sigmas[k] * 2;
    row[counted++] = (dx * dx + dy * dy) / (twice_sigma * twice_sigma) / scale / 2;
  }
  for (int64_t k = counted; k < keypoints; ++k) {
    row[k] = std::numeric_limits<double>::infinity();
  }
  return counted;
}

// A pair costs about this much per keypoint.
constexpr int64_t kKeypointNs = 3;

std::tuple<at::Tensor, at::Tensor> coco_oks_exponents_cpu(
    const at::Tensor& dt_keypoints, const at::Tensor& gt_keypoints, const at::Tensor& gt_boxes,
    const at::Tensor& gt_areas, const at::Tensor& pair_dt, const at::Tensor& pair_gt,
    const at::Tensor& sigmas) {
  const char* op = kOks;
  check_oks_arguments(Kernel::kCpu, dt_keypoints, gt_keypoints, gt_boxes, gt_areas, pair_dt,
                      pair_gt, sigmas);
  const auto read = [&](const at::Tensor& t, const char* name) {
    return contiguous_on_pool(t, op, name);
  };
  const at::Tensor dk = read(dt_keypoints, "dt_keypoints"), gk = read(gt_keypoints, "gt_keypoints"),
                   gb = read(gt_boxes, "gt_boxes"), ga = read(gt_areas, "gt_areas"),
                   pd = read(pair_dt, "pair_dt"), pg = read(pair_gt, "pair_gt"),
                   sg = read(sigmas, "sigmas");
  const int64_t keypoints = sg.size(0), pairs = pd.size(0);
  check_indices(op, pd.const_data_ptr<int64_t>(), pairs, "pair_dt", dk.size(0), "dt_keypoints");
  check_indices(op, pg.const_data_ptr<int64_t>(), pairs, "pair_gt", gk.size(0), "gt_keypoints");
  check_finite(dk.const_data_ptr<double>(), dk.size(0), 3 * keypoints, "dt_keypoints");
  check_finite(gk.const_data_ptr<double>(), gk.size(0), 3 * keypoints, "gt_keypoints");
  check_finite(gb.const_data_ptr<double>(), gb.size(0), 4, "gt_boxes");
  check_finite(ga.const_data_ptr<double>(), ga.size(0), 1, "gt_areas");
  check_finite(sg.const_data_ptr<double>(), keypoints, 1, "sigmas");
  auto [exponents, counted] = oks_outputs(pair_dt, sigmas);
  advise_huge_pages(exponents.data_ptr(), exponents.nbytes());
  const double *d = dk.const_data_ptr<double>(), *g = gk.const_data_ptr<double>(),
               *boxes = gb.const_data_ptr<double>(), *areas = ga.const_data_ptr<double>(),
               *sigma = sg.const_data_ptr<double>();
  const int64_t *dt_index = pd.const_data_ptr<int64_t>(), *gt_index = pg.const_data_ptr<int64_t>();
  double* rows = exponents.data_ptr<double>();
  int64_t* counts = counted.data_ptr<int64_t>();
  parallel_for(0, pairs, grain_for(kKeypointNs * (keypoints + 1)),
               [&](int64_t first, int64_t last) {
                 for (int64_t p = first; p < last; ++p) {
                   const int64_t i = dt_index[p], j = gt_index[p];
                   counts[p] = oks_row(d + 3 * keypoints * i, g + 3 * keypoints * j, boxes + 4 * j,
                                       areas[j], sigma, keypoints, rows + keypoints * p);
                 }
               });
  return {exponents, counted};
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def(
      "coco_oks_exponents(Tensor dt_keypoints, Tensor gt_keypoints, Tensor gt_boxes, "
      "Tensor gt_areas, Tensor pair_dt, Tensor pair_gt, Tensor sigmas) -> (Tensor exponents, "
      "Tensor counted)");
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("coco_oks_exponents", &coco_oks_exponents_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) { m.impl("coco_oks_exponents", &coco_oks_exponents_meta); }

}  // namespace mt::detection
