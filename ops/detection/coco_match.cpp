// COCO detection evaluation, bit for bit as pycocotools 2.0.11's COCOeval,
// on packed tensors, in parallel: here evaluateImg (the greedy matching),
// in coco_accumulate.cpp accumulate (precision and recall).
// torch_mt.coco_evaluate (torch_mt/detection/coco/evaluate.py) turns the COCO dicts
// into these tensors.
//
// A "cell" is one (category, image) pair, category-major: cell c = k * I + i
// for category index k and image index i (images and categories in sorted id
// order). Annotations are packed cell after cell, `*_offsets` [C + 1] giving
// each cell's range. Within a cell the ground truth keeps the dataset's
// order and the detections are sorted by score, descending, ties in the
// results' order (a stable sort), and cut to the largest max-detections
// value: pycocotools' order, on which its ties depend.
//
//   coco_match(dt_boxes [D, 4], dt_areas [D], dt_offsets [C + 1], gt_boxes [G, 4],
//              gt_areas [G], gt_crowd [G] bool, gt_ignore [G] bool, gt_ids [G] int64,
//              gt_offsets [C + 1], area_ranges [A, 2], iou_thresholds [T],
//              ious [P]? = None)
//       -> (matched [A, T, D] bool, ignored [A, T, D] bool, regular [A, C] int64)
//   coco_accumulate(dt_scores [D], matched, ignored, dt_offsets, regular,
//                   num_categories, recall_thresholds [R], max_detections [M])
//       -> (precision [T, R, K, A, M], recall [T, K, A, M], scores [T, R, K, A, M])
//
// Boxes are COCO's (x, y, width, height), float64 like every real here. The
// optional `ious` replace the box IoU with similarities computed elsewhere
// (mask IoU for segm, OKS for keypoints: coco_mask_iou.cpp, coco_oks.cpp): each
// cell's [detections x ground truth] matrix, row-major, cell after cell
// (P = the sum over cells of their products).
// Cells fan out in coco_match, (category, area range) tasks in
// coco_accumulate; each is computed alone, so any thread count gives the
// same bits. Between the two the flags are bit words per detection
// (coco_evaluation.h); coco_match unpacks them into its [A, T, D] outputs.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <tuple>
#include <vector>

#include <torch_mt/parallel.h>
#include "coco_checks.h"
#include "coco_evaluation.h"

namespace mt::detection {
namespace {

constexpr const char* kMatch = "mt::coco_match";

// ---- matching: COCOeval.evaluateImg ----------------------------------------

// maskUtils.iou on boxes (maskApi.c's bbIou), in its order of operations:
// intersection over union, or over the detection's area for a crowd.
double box_iou(const double* d, const double* g, bool crowd) {
  const double w = std::fmin(d[2] + d[0], g[2] + g[0]) - std::fmax(d[0], g[0]);
  if (w <= 0) {
    return 0;
  }
  const double h = std::fmin(d[3] + d[1], g[3] + g[1]) - std::fmax(d[1], g[1]);
  if (h <= 0) {
    return 0;
  }
  const double intersection = w * h;
  const double dt_area = d[2] * d[3];
  const double union_area = crowd ? dt_area : dt_area + g[2] * g[3] - intersection;
  return intersection / union_area;
}

struct MatchOutputs {
  uint64_t *matched, *ignored;  // [D][W] flag words (coco_evaluation.h)
  int64_t words;                // W
  const uint64_t* range_bits;   // [A][W]: the bits of range a, at every threshold
  double lowest_threshold;      // the least threshold as matching compares (+inf: none)
  int64_t* regular;             // [A, C]
};

// Scratch of one cell, reused cell after cell.
struct CellScratch {
  std::vector<double> ious;       // [D][G]
  std::vector<double> best_iou;   // [D]: the highest over the cell's ground truth
  std::vector<char> gt_ignored;   // this range's ignore flags
  std::vector<int64_t> gt_order;  // regular first, then ignored, each in order
  std::vector<char> gt_taken;     // matched at this threshold
  std::vector<int64_t> live;      // the detections whose best IoU reaches some threshold
};

// The flags of detections d0..d1 where nothing matches them: not matched;
// ignored in the ranges their area is outside of (at every threshold). A
// cell without ground truth keeps them; a cell with some changes only the
// (detection, threshold) pairs whose IoU reaches the threshold.
void write_unmatched(const MatchInputs& in, const MatchOutputs& out, int64_t d0, int64_t d1) {
  const int64_t W = out.words;
  for (int64_t d = d0; d < d1; ++d) {
    const double area = in.dt_areas[d];
    for (int64_t w = 0; w < W; ++w) {
      uint64_t ignored = 0;
      for (int64_t a = 0; a < in.ranges; ++a) {
        const bool outside = area < in.area_ranges[2 * a] || area > in.area_ranges[2 * a + 1];
        ignored |= outside ? out.range_bits[a * W + w] : 0;
      }
      out.matched[d * W + w] = 0;
      out.ignored[d * W + w] = ignored;
    }
  }
}

void match_cell(const MatchInputs& in, const MatchOutputs& out, int64_t c, CellScratch& scratch) {
  const int64_t d0 = in.dt_offsets[c], dn = in.dt_offsets[c + 1] - d0;
  const int64_t g0 = in.gt_offsets[c], gn = in.gt_offsets[c + 1] - g0;
  write_unmatched(in, out, d0, d0 + dn);
  if (gn == 0) {  // most cells of a large set: detections on images without that category
    for (int64_t a = 0; a < in.ranges; ++a) {
      out.regular[a * in.cells + c] = 0;
    }
    return;
  }
  const double* ious = in.given_ious != nullptr ? in.given_ious + in.pair_offsets[c] : nullptr;
  if (ious == nullptr) {
    scratch.ious.resize(static_cast<size_t>(dn * gn));
    for (int64_t d = 0; d < dn; ++d) {
      for (int64_t g = 0; g < gn; ++g) {
        scratch.ious[d * gn + g] =
            box_iou(in.dt_boxes + 4 * (d0 + d), in.gt_boxes + 4 * (g0 + g), in.gt_crowd[g0 + g]);
      }
    }
    ious = scratch.ious.data();
  }
  // A detection whose best IoU is under a threshold matches nothing there,
  // whatever earlier detections took: its search is skipped.
  // The detections that reach the lowest threshold are the only ones
  // visited below (in most cells a detection overlaps no ground truth).
  auto& best_iou = scratch.best_iou;
  best_iou.resize(static_cast<size_t>(dn));
  auto& live = scratch.live;
  live.clear();
  for (int64_t d = 0; d < dn; ++d) {
    double best = -std::numeric_limits<double>::infinity();
    for (int64_t g = 0; g < gn; ++g) {
      best = std::fmax(best, ious[d * gn + g]);
    }
    best_iou[d] = best;
    if (best >= out.lowest_threshold) {
      live.push_back(d);
    }
  }
  // This cell's flag words (a few cache lines), as write_unmatched left them.
  const int64_t W = out.words;
  uint64_t* matched_words = out.matched + d0 * W;
  uint64_t* ignored_words = out.ignored + d0 * W;
  for (int64_t a = 0; a < in.ranges; ++a) {
    const double lowest = in.area_ranges[2 * a], highest = in.area_ranges[2 * a + 1];
    auto& ignored_gt = scratch.gt_ignored;
    ignored_gt.resize(static_cast<size_t>(gn));
    auto& order = scratch.gt_order;  // np.argsort(ignore, kind="mergesort")
    order.clear();
    for (int64_t g = 0; g < gn; ++g) {
      const double area = in.gt_areas[g0 + g];
      ignored_gt[g] = in.gt_ignore[g0 + g] || area < lowest || area > highest;
      if (!ignored_gt[g]) {
        order.push_back(g);
      }
    }
    const auto regular = static_cast<int64_t>(order.size());
    out.regular[a * in.cells + c] = regular;
    for (int64_t g = 0; g < gn; ++g) {
      if (ignored_gt[g]) {
        order.push_back(g);
      }
    }
    for (int64_t t = 0; t < in.num_thresholds; ++t) {
      const int64_t bit = a * in.num_thresholds + t;
      const int64_t word = bit / 64, shift = bit % 64;
      auto& taken = scratch.gt_taken;
      taken.assign(static_cast<size_t>(gn), 0);
      const double threshold = std::min(in.thresholds[t], 1 - 1e-10);
      for (const int64_t d : live) {
        if (best_iou[d] < threshold) {  // no match: write_unmatched's flags hold
          continue;
        }
        double best = threshold;
        int64_t m = -1;
        for (size_t o = 0; o < order.size(); ++o) {
          const int64_t g = order[o];
          if (taken[g] && !in.gt_crowd[g0 + g]) {  // matched, and not a crowd
            continue;
          }
          if (m > -1 && !ignored_gt[m] && ignored_gt[g]) {  // a regular match beats the rest
            break;
          }
          if (ious[d * gn + g] < best) {
            continue;
          }
          best = ious[d * gn + g];
          m = g;
        }
        // pycocotools keeps the matched ground truth's id and tests it for
        // truth: a match with id 0 counts as no match (tp, area) there, so here.
        const bool has_match = m > -1 && in.gt_ids[g0 + m] != 0;
        const double area = in.dt_areas[d0 + d];
        const bool ignored =
            (m > -1 && ignored_gt[m]) || (!has_match && (area < lowest || area > highest));
        const uint64_t bit_mask = uint64_t{1} << shift;
        matched_words[d * W + word] =
            (matched_words[d * W + word] & ~bit_mask) | (uint64_t{has_match} << shift);
        ignored_words[d * W + word] =
            (ignored_words[d * W + word] & ~bit_mask) | (uint64_t{ignored} << shift);
        if (m > -1) {
          taken[m] = 1;
        }
      }
    }
  }
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> match_outputs(const at::Tensor& dt_boxes,
                                                             const at::Tensor& dt_offsets,
                                                             const at::Tensor& area_ranges,
                                                             const at::Tensor& iou_thresholds) {
  const auto options = dt_boxes.options();
  const c10::SymInt ranges = area_ranges.sym_size(0), thresholds = iou_thresholds.sym_size(0);
  const c10::SymInt cells = dt_offsets.sym_size(0) - 1;
  return {at::empty_symint({ranges, thresholds, dt_boxes.sym_size(0)}, options.dtype(at::kBool)),
          at::empty_symint({ranges, thresholds, dt_boxes.sym_size(0)}, options.dtype(at::kBool)),
          at::empty_symint({ranges, cells}, options.dtype(at::kLong))};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> coco_match_meta(
    const at::Tensor& dt_boxes, const at::Tensor& dt_areas, const at::Tensor& dt_offsets,
    const at::Tensor& gt_boxes, const at::Tensor& gt_areas, const at::Tensor& gt_crowd,
    const at::Tensor& gt_ignore, const at::Tensor& gt_ids, const at::Tensor& gt_offsets,
    const at::Tensor& area_ranges, const at::Tensor& iou_thresholds,
    const std::optional<at::Tensor>& ious) {
  check_match_arguments(kMatch, Kernel::kMeta, dt_boxes, dt_areas, dt_offsets, gt_boxes, gt_areas,
                        gt_crowd, gt_ignore, gt_ids, gt_offsets, area_ranges, iou_thresholds, ious);
  return match_outputs(dt_boxes, dt_offsets, area_ranges, iou_thresholds);
}

// One cell's matching costs about this much per (detection, ground truth) pair
// and threshold; a cell with neither still costs a little.
constexpr int64_t kPairNs = 4;

}  // namespace

void match_cells(const MatchInputs& in, uint64_t* matched, uint64_t* ignored, int64_t* regular) {
  const int64_t W = flag_words(in.ranges, in.num_thresholds);
  std::vector<uint64_t> range_bits(static_cast<size_t>(in.ranges * W), 0);
  for (int64_t a = 0; a < in.ranges; ++a) {
    for (int64_t t = 0; t < in.num_thresholds; ++t) {
      const int64_t bit = a * in.num_thresholds + t;
      range_bits[a * W + bit / 64] |= uint64_t{1} << (bit % 64);
    }
  }
  double lowest = std::numeric_limits<double>::infinity();
  for (int64_t t = 0; t < in.num_thresholds; ++t) {
    lowest = std::min(lowest, std::min(in.thresholds[t], 1 - 1e-10));
  }
  const MatchOutputs out{matched, ignored, W, range_bits.data(), lowest, regular};
  // Cells are uneven (most hold nothing): chunk by a typical cell's cost.
  const int64_t typical = std::max<int64_t>(
      1, (in.detections + in.gt_offsets[in.cells]) / std::max<int64_t>(1, in.cells));
  parallel_for(0, in.cells, grain_for(kPairNs * typical * typical * (in.num_thresholds + 1) + 50),
               [&](int64_t first, int64_t last) {
                 CellScratch scratch;
                 for (int64_t c = first; c < last; ++c) {
                   match_cell(in, out, c, scratch);
                 }
               });
}

namespace {

std::tuple<at::Tensor, at::Tensor, at::Tensor> coco_match_cpu(
    const at::Tensor& dt_boxes, const at::Tensor& dt_areas, const at::Tensor& dt_offsets,
    const at::Tensor& gt_boxes, const at::Tensor& gt_areas, const at::Tensor& gt_crowd,
    const at::Tensor& gt_ignore, const at::Tensor& gt_ids, const at::Tensor& gt_offsets,
    const at::Tensor& area_ranges, const at::Tensor& iou_thresholds,
    const std::optional<at::Tensor>& ious) {
  const PreparedMatch prepared =
      prepare_match(kMatch, dt_boxes, dt_areas, dt_offsets, gt_boxes, gt_areas, gt_crowd, gt_ignore,
                    gt_ids, gt_offsets, area_ranges, iou_thresholds, ious);
  const MatchInputs& in = prepared.in;
  auto [matched, ignored, regular] =
      match_outputs(dt_boxes, dt_offsets, area_ranges, iou_thresholds);
  const int64_t D = in.detections, W = flag_words(in.ranges, in.num_thresholds);
  const auto matched_words = uninitialized_words(D * W);
  const auto ignored_words = uninitialized_words(D * W);
  match_cells(in, matched_words.get(), ignored_words.get(), regular.data_ptr<int64_t>());
  unpack_flags(matched_words.get(), in.ranges * in.num_thresholds, D, matched.data_ptr<bool>());
  unpack_flags(ignored_words.get(), in.ranges * in.num_thresholds, D, ignored.data_ptr<bool>());
  return {matched, ignored, regular};
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def(
      "coco_match(Tensor dt_boxes, Tensor dt_areas, Tensor dt_offsets, Tensor gt_boxes, "
      "Tensor gt_areas, Tensor gt_crowd, Tensor gt_ignore, Tensor gt_ids, Tensor gt_offsets, "
      "Tensor area_ranges, Tensor iou_thresholds, Tensor? ious=None) -> (Tensor matched, "
      "Tensor ignored, Tensor regular)");
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) { m.impl("coco_match", &coco_match_cpu); }

TORCH_LIBRARY_IMPL(mt, Meta, m) { m.impl("coco_match", &coco_match_meta); }

}  // namespace mt::detection
