// Area, box and IoU of COCO's run-length masks (RLE, layout in coco_rle.h),
// as pycocotools 2.0.11's maskApi computes them, in parallel:
//
//   coco_rle_area_bbox(counts [S], offsets [N + 1] or spans [N, 2], sizes [N, 2])
//       -> (areas [N], boxes [N, 4])
//   coco_mask_iou(dt_counts, dt_offsets [D + 1] or [D, 2], gt_counts, gt_offsets [G + 1] or
//                 [G, 2], gt_crowd [G], pair_dt [P], pair_gt [P]) -> ious [P] float64
//
// Both read each RLE in place, at its offsets or span (coco_rle_from_strings'
// output, or a selection, with no packing copy).
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <tuple>
#include <utility>
#include <vector>

#include <torch_mt/parallel.h>
#include "coco_checks.h"
#include "coco_rle.h"

namespace mt::detection {
namespace {

using namespace coco_rle;  // NOLINT: the family's shared mask checks

constexpr const char* kAreaBbox = "mt::coco_rle_area_bbox";
constexpr const char* kMaskIou = "mt::coco_mask_iou";

// ---- area and box: rleArea, rleToBbox ----------------------------------------

std::tuple<at::Tensor, at::Tensor> area_bbox_outputs(const at::Tensor& offsets) {
  const auto options = offsets.options().dtype(at::kDouble);
  const c10::SymInt items = rle_count(offsets);
  return {at::empty_symint({items}, options), at::empty_symint({items, 4}, options)};
}

std::tuple<at::Tensor, at::Tensor> coco_rle_area_bbox_meta(const at::Tensor& counts,
                                                           const at::Tensor& offsets,
                                                           const at::Tensor& sizes) {
  check_rle_arguments(kAreaBbox, Kernel::kMeta, counts, offsets, "counts", "offsets");
  check_sizes(kAreaBbox, sizes, rle_count(offsets), "the number of RLEs is");
  return area_bbox_outputs(offsets);
}

// maskUtils.toBbox (rleToBbox of pycocotools 2.0.11), in its unsigned
// 32-bit arithmetic: an odd last run is dropped; each non-empty run of ones
// widens the box by its first and last pixel, a run crossing a column spans
// the whole height; with no such run the width and height wrap around.
void run_box(const int64_t* runs, int64_t count, int64_t height, int64_t width, double* box) {
  const auto h = static_cast<uint32_t>(height), w = static_cast<uint32_t>(width);
  const int64_t m = (count / 2) * 2;
  if (m == 0) {
    box[0] = box[1] = box[2] = box[3] = 0;
    return;
  }
  uint32_t xs = w, ys = h, xe = 0, ye = 0, cc = 0;
  for (int64_t j = 0; j < m; ++j) {
    const uint32_t start = cc;
    cc += static_cast<uint32_t>(runs[j]);
    if (j % 2 == 0 || runs[j] == 0 || h == 0) {
      continue;
    }
    const uint32_t y_start = start % h, x_start = (start - y_start) / h;
    const uint32_t y_end = (cc - 1) % h, x_end = (cc - 1 - y_end) / h;
    xs = std::min(xs, x_start);
    xe = std::max(xe, x_end);
    if (x_start < x_end) {
      ys = 0;
      ye = h - 1;
    } else {
      ys = std::min(ys, y_start);
      ye = std::max(ye, y_end);
    }
  }
  box[0] = xs;
  box[2] = static_cast<uint32_t>(xe - xs + 1);
  box[1] = ys;
  box[3] = static_cast<uint32_t>(ye - ys + 1);
}

std::tuple<at::Tensor, at::Tensor> coco_rle_area_bbox_cpu(const at::Tensor& counts,
                                                          const at::Tensor& offsets,
                                                          const at::Tensor& sizes) {
  const char* op = kAreaBbox;
  check_rle_arguments(op, Kernel::kCpu, counts, offsets, "counts", "offsets");
  check_sizes(op, sizes, rle_count(offsets), "the number of RLEs is");
  const at::Tensor c = contiguous_on_pool(counts, op, "counts");
  const at::Tensor o = contiguous_on_pool(offsets, op, "offsets");
  const at::Tensor hw = contiguous_on_pool(sizes, op, "sizes");
  const int64_t items = rle_count(o).expect_int();
  const int64_t *runs = c.const_data_ptr<int64_t>(), *size = hw.const_data_ptr<int64_t>();
  const RunSpans at = check_runs(op, runs, c.size(0), o, items, "counts", "offsets");
  check_size_values(op, size, items);
  auto [areas, boxes] = area_bbox_outputs(offsets);
  double *area = areas.data_ptr<double>(), *box = boxes.data_ptr<double>();
  std::vector<int64_t> totals(static_cast<size_t>(items));
  const int64_t typical = std::max<int64_t>(1, c.size(0) / std::max<int64_t>(1, items));
  parallel_for(0, items, grain_for(2 * typical + 10), [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) {
      int64_t ones = 0, total = 0;
      for (int64_t r = at.begin(i); r < at.end(i); ++r) {
        ones += (r - at.begin(i)) % 2 == 1 ? runs[r] : 0;
        total += runs[r];
      }
      area[i] = static_cast<double>(ones);
      totals[i] = total;
      run_box(runs + at.begin(i), at.size(i), size[2 * i], size[2 * i + 1], box + 4 * i);
    }
  });
  for (int64_t i = 0; i < items; ++i) {
    TORCH_CHECK_VALUE(totals[i] == size[2 * i] * size[2 * i + 1], op, ": RLE ", i, "'s runs cover ",
                      totals[i], " pixels, its size (", size[2 * i], ", ", size[2 * i + 1],
                      ") has ", size[2 * i] * size[2 * i + 1]);
  }
  return {areas, boxes};
}

// ---- mask IoU: rleIou ----------------------------------------------------------

// rleIou's walk over two RLEs, in its 32-bit unsigned arithmetic: both
// lists advance one run at a time, and the walk stops when the two current
// runs are both empty, so zero-length runs in the middle of both lists end
// it early, as in pycocotools. Returns (intersection, union).
std::pair<uint32_t, uint32_t> walk(const int64_t* a, int64_t a_runs, const int64_t* b,
                                   int64_t b_runs) {
  uint32_t ca = a_runs > 0 ? static_cast<uint32_t>(a[0]) : 0;
  uint32_t cb = b_runs > 0 ? static_cast<uint32_t>(b[0]) : 0;
  bool va = false, vb = false;
  int64_t ia = 1, ib = 1;
  uint32_t shared = 0, united = 0, remaining = 1;
  while (remaining > 0) {
    const uint32_t c = std::min(ca, cb);
    if (va || vb) {
      united += c;
      shared += va && vb ? c : 0;
    }
    remaining = 0;
    ca -= c;
    if (ca == 0 && ia < a_runs) {
      ca = static_cast<uint32_t>(a[ia++]);
      va = !va;
    }
    remaining += ca;
    cb -= c;
    if (cb == 0 && ib < b_runs) {
      cb = static_cast<uint32_t>(b[ib++]);
      vb = !vb;
    }
    remaining += cb;
  }
  return {shared, united};
}

// The ones two RLEs share, counted only where both have some:
// [window_begin, window_end), their ones' extents' overlap. Equal to the
// walk's intersection when either RLE is regular (RunExtent) and neither
// passes 2^31 pixels, for then the walk never stops early or wraps; the
// union is then the two areas less it. Each list is skipped to the window
// by summing, then their runs of ones are merged, a step per run of ones.
uint32_t shared_ones(const int64_t* a, int64_t a_runs, const int64_t* b, int64_t b_runs,
                     int64_t window_begin, int64_t window_end) {
  struct Ones {  // the runs of ones of one list, in order
    const int64_t* runs;
    int64_t count;
    int64_t next = 1;              // the run after the current run of ones
    int64_t begin = 0, end = 0;    // the current run of ones
    void skip_to(int64_t pixel) {  // the first run of ones ending after `pixel`
      int64_t at = runs[0];
      while (next < count && at + runs[next] <= pixel) {
        at += runs[next] + (next + 1 < count ? runs[next + 1] : 0);
        next += 2;
      }
      begin = at;
      end = next < count ? at + runs[next] : at;
      next += 1;
    }
    void step() {  // the next run of ones (empty past the end)
      begin = end + (next < count ? runs[next] : 0);
      end = next + 1 < count ? begin + runs[next + 1] : begin;
      next += 2;
    }
    bool done() const { return next > count; }  // past the last run of ones
  };
  Ones p{a, a_runs}, q{b, b_runs};
  p.skip_to(window_begin);
  q.skip_to(window_begin);
  int64_t shared = 0;
  while (p.begin < window_end && q.begin < window_end && !p.done() && !q.done()) {
    shared += std::max<int64_t>(0, std::min(p.end, q.end) - std::max(p.begin, q.begin));
    if (p.end < q.end) {
      p.step();
    } else {
      q.step();
    }
  }
  return static_cast<uint32_t>(shared);
}

// rleArea: the ones, in 32-bit unsigned arithmetic.
uint32_t ones_of(const int64_t* runs, int64_t count) {
  uint32_t ones = 0;
  for (int64_t r = 1; r < count; r += 2) {
    ones += static_cast<uint32_t>(runs[r]);
  }
  return ones;
}

void check_iou_arguments(Kernel kernel, const at::Tensor& dt_counts, const at::Tensor& dt_offsets,
                         const at::Tensor& gt_counts, const at::Tensor& gt_offsets,
                         const at::Tensor& gt_crowd, const at::Tensor& pair_dt,
                         const at::Tensor& pair_gt) {
  const char* op = kMaskIou;
  check_rle_arguments(op, kernel, dt_counts, dt_offsets, "dt_counts", "dt_offsets");
  check_rle_arguments(op, kernel, gt_counts, gt_offsets, "gt_counts", "gt_offsets");
  check_devices(op, kernel,
                {{&dt_counts, "dt_counts"},
                 {&gt_crowd, "gt_crowd"},
                 {&pair_dt, "pair_dt"},
                 {&pair_gt, "pair_gt"}});
  check_vector(op, gt_crowd, "gt_crowd", at::kBool);
  check_size(op, gt_crowd, "gt_crowd", 0, rle_count(gt_offsets),
             "the number of ground-truth RLEs is");
  check_vector(op, pair_dt, "pair_dt", at::kLong);
  check_vector(op, pair_gt, "pair_gt", at::kLong);
  check_size(op, pair_gt, "pair_gt", 0, pair_dt.sym_size(0), "the size of 'pair_dt' is");
}

at::Tensor coco_mask_iou_meta(const at::Tensor& dt_counts, const at::Tensor& dt_offsets,
                              const at::Tensor& gt_counts, const at::Tensor& gt_offsets,
                              const at::Tensor& gt_crowd, const at::Tensor& pair_dt,
                              const at::Tensor& pair_gt) {
  check_iou_arguments(Kernel::kMeta, dt_counts, dt_offsets, gt_counts, gt_offsets, gt_crowd,
                      pair_dt, pair_gt);
  return at::empty_symint({pair_dt.sym_size(0)}, pair_dt.options().dtype(at::kDouble));
}

at::Tensor coco_mask_iou_cpu(const at::Tensor& dt_counts, const at::Tensor& dt_offsets,
                             const at::Tensor& gt_counts, const at::Tensor& gt_offsets,
                             const at::Tensor& gt_crowd, const at::Tensor& pair_dt,
                             const at::Tensor& pair_gt) {
  const char* op = kMaskIou;
  check_iou_arguments(Kernel::kCpu, dt_counts, dt_offsets, gt_counts, gt_offsets, gt_crowd, pair_dt,
                      pair_gt);
  const auto read = [&](const at::Tensor& t, const char* name) {
    return contiguous_on_pool(t, op, name);
  };
  const at::Tensor dc = read(dt_counts, "dt_counts"), dof = read(dt_offsets, "dt_offsets"),
                   gc = read(gt_counts, "gt_counts"), gof = read(gt_offsets, "gt_offsets"),
                   crowd = read(gt_crowd, "gt_crowd"), pd = read(pair_dt, "pair_dt"),
                   pg = read(pair_gt, "pair_gt");
  const int64_t detections = rle_count(dof).expect_int(), truths = rle_count(gof).expect_int();
  const int64_t pairs = pd.size(0);
  const int64_t *d_runs = dc.const_data_ptr<int64_t>(), *g_runs = gc.const_data_ptr<int64_t>(),
                *dt_index = pd.const_data_ptr<int64_t>(), *gt_index = pg.const_data_ptr<int64_t>();
  const bool* is_crowd = crowd.const_data_ptr<bool>();
  const RunSpans d_at = check_spans(op, dc.size(0), dof, detections, "dt_offsets");
  const RunSpans g_at = check_spans(op, gc.size(0), gof, truths, "gt_offsets");
  check_indices(op, dt_index, pairs, "pair_dt", detections, "the detections");
  check_indices(op, gt_index, pairs, "pair_gt", truths, "the ground-truth masks");
  // One pass over each mask a pair reads, not one per pair: its pixels,
  // where its ones lie.
  std::vector<bool> d_wanted(static_cast<size_t>(detections)),
      g_wanted(static_cast<size_t>(truths));
  for (int64_t p = 0; p < pairs; ++p) {
    d_wanted[dt_index[p]] = true;
    g_wanted[gt_index[p]] = true;
  }
  const std::vector<RunExtent> d_extent =
      run_extents(op, d_runs, dc.size(0), d_at, detections, "dt_counts", d_wanted);
  const std::vector<RunExtent> g_extent =
      run_extents(op, g_runs, gc.size(0), g_at, truths, "gt_counts", g_wanted);
  for (int64_t p = 0; p < pairs; ++p) {  // the walk needs masks of one size
    const int64_t i = dt_index[p], j = gt_index[p];
    const int64_t dt_pixels = d_extent[i].pixels, gt_pixels = g_extent[j].pixels;
    TORCH_CHECK_VALUE(dt_pixels == gt_pixels, op, ": pair ", p, " compares a mask of ", dt_pixels,
                      " pixels (detection ", i, ") with one of ", gt_pixels, " (ground truth ", j,
                      ")");
  }
  at::Tensor ious = at::empty({pairs}, pd.options().dtype(at::kDouble));
  double* out = ious.data_ptr<double>();
  const int64_t typical =
      std::max<int64_t>(1, (dc.size(0) + gc.size(0)) / std::max<int64_t>(1, detections + truths));
  parallel_for(0, pairs, grain_for(4 * typical + 20), [&](int64_t first, int64_t last) {
    for (int64_t p = first; p < last; ++p) {
      const int64_t i = dt_index[p], j = gt_index[p];
      const RunExtent &d = d_extent[i], &g = g_extent[j];
      if (std::max(d.first_one, g.first_one) >= std::min(d.end_of_ones, g.end_of_ones)) {
        out[p] = 0;  // ones apart (or none): the walk's intersection is 0, and so is rleIou
        continue;
      }
      const int64_t *a = d_runs + d_at.begin(i), *b = g_runs + g_at.begin(j);
      const int64_t a_runs = d_at.size(i), b_runs = g_at.size(j);
      uint32_t shared = 0, united = 0;
      if ((d.regular || g.regular) && d.pixels < INT32_MAX) {
        shared = shared_ones(a, a_runs, b, b_runs, std::max(d.first_one, g.first_one),
                             std::min(d.end_of_ones, g.end_of_ones));
        united = static_cast<uint32_t>(d.ones + g.ones) - shared;
      } else {
        std::tie(shared, united) = walk(a, a_runs, b, b_runs);
      }
      // rleIou: u = 1 without overlap; a crowd's union is the detection's area.
      if (shared == 0) {
        united = 1;
      } else if (is_crowd[j]) {
        united = ones_of(a, a_runs);
      }
      out[p] = static_cast<double>(shared) / static_cast<double>(united);
    }
  });
  return ious;
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def(
      "coco_rle_area_bbox(Tensor counts, Tensor offsets, Tensor sizes) -> (Tensor areas, Tensor "
      "boxes)");
  m.def(
      "coco_mask_iou(Tensor dt_counts, Tensor dt_offsets, Tensor gt_counts, Tensor gt_offsets, "
      "Tensor gt_crowd, Tensor pair_dt, Tensor pair_gt) -> Tensor");
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("coco_rle_area_bbox", &coco_rle_area_bbox_cpu);
  m.impl("coco_mask_iou", &coco_mask_iou_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) {
  m.impl("coco_rle_area_bbox", &coco_rle_area_bbox_meta);
  m.impl("coco_mask_iou", &coco_mask_iou_meta);
}

}  // namespace mt::detection
