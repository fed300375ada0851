// COCOeval.accumulate of pycocotools 2.0.11, bit for bit, on coco_match's
// output (cells and packing: coco_match.cpp). Each category's detections:
// the images' first max-detections detections concatenated in image order,
// mergesorted by score (stable, so ties keep that order); then per (category,
// area range) task and IoU threshold the cumulative true and false
// positives, recall = tp / npig, precision = tp / (fp + tp + eps) made
// non-increasing from the right, sampled at the recall thresholds with
// searchsorted(side="left"); points above the highest recall stay 0.
// Absent categories (no regular ground truth) stay -1.
//
// The flags arrive as bit words per detection (coco_evaluation.h; the
// operator's [A, T, D] bools are packed first) and are turned, 64
// detections at a time, into bit sets in score order that every task of
// the category reads: sorting, bit sets and tasks each fan out on the pool.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>
#include <tuple>
#include <vector>

#include <torch_mt/parallel.h>
#include "coco_checks.h"
#include "coco_evaluation.h"

namespace mt::detection {
namespace {

constexpr const char* kAccumulate = "mt::coco_accumulate";

}  // namespace

void check_accumulate_settings(const char* op, const at::Tensor& dt_scores,
                               const c10::SymInt& cells, int64_t num_categories,
                               const at::Tensor& recall_thresholds,
                               at::IntArrayRef max_detections) {
  check_dim(op, dt_scores, "dt_scores", 1, "[D]");
  check_dtype(op, dt_scores, "dt_scores", at::kDouble);
  check_dim(op, recall_thresholds, "recall_thresholds", 1, "[R]");
  check_dtype(op, recall_thresholds, "recall_thresholds", at::kDouble);
  TORCH_CHECK_VALUE(num_categories >= 1, op, ": argument 'num_categories' must be >= 1, got ",
                    num_categories);
  // C = K * I: the cells are category-major.
  TORCH_CHECK_VALUE(cells % num_categories == 0, op, ": the ", cells,
                    " cells are not num_categories = ", num_categories,
                    " times a number of images");
  for (size_t m = 0; m < max_detections.size(); ++m) {
    TORCH_CHECK_VALUE(max_detections[m] >= 0, op, ": max_detections[", m, "] must be >= 0, got ",
                      max_detections[m]);
  }
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> accumulate_outputs(
    const at::TensorOptions& options, const c10::SymInt& ranges, const c10::SymInt& thresholds,
    int64_t num_categories, const at::Tensor& recall_thresholds, at::IntArrayRef max_detections) {
  const auto reals = options.dtype(at::kDouble);
  const c10::SymInt points = recall_thresholds.sym_size(0);
  const auto m = static_cast<int64_t>(max_detections.size());
  std::tuple<at::Tensor, at::Tensor, at::Tensor> out = {
      at::empty_symint({thresholds, points, num_categories, ranges, m}, reals),
      at::empty_symint({thresholds, num_categories, ranges, m}, reals),
      at::empty_symint({thresholds, points, num_categories, ranges, m}, reals)};
  if (options.device().is_cpu()) {
    // -1 (no detection) on the pool, not by at::full: ATen's fill of these
    // 8 MB starts its own OpenMP team on the calling thread, whose threads
    // then spin for milliseconds on the cores the accumulation runs on.
    for (at::Tensor* tensor : {&std::get<0>(out), &std::get<1>(out), &std::get<2>(out)}) {
      double* values = tensor->data_ptr<double>();
      advise_huge_pages(values, tensor->nbytes());
      parallel_for(0, tensor->numel(), grain_for(1), [&](int64_t first, int64_t last) {
        std::fill(values + first, values + last, -1.0);
      });
    }
  }
  return out;
}

void check_accumulate_data(const char* op, const int64_t* offsets, int64_t cells,
                           const double* scores, const double* recall_thresholds, int64_t points) {
  // On the pool; ItemErrors keeps the lowest failing chunk's error, which
  // names the first bad score whatever the thread count.
  ItemErrors errors;
  parallel_for(0, cells, grain_for(4), [&](int64_t first, int64_t last) {
    errors.run(first, [&] {
      for (int64_t c = first; c < last; ++c) {
        for (int64_t d = offsets[c]; d < offsets[c + 1]; ++d) {
          TORCH_CHECK_VALUE(!std::isnan(scores[d]), op, ": dt_scores[", d, "] is NaN");
          TORCH_CHECK_VALUE(d == offsets[c] || scores[d] <= scores[d - 1], op, ": dt_scores[", d,
                            "] = ", scores[d], " is above dt_scores[", d - 1, "] = ", scores[d - 1],
                            " in the same cell ", c,
                            " (each cell's detections come by score, descending)");
        }
      }
    });
  });
  errors.rethrow();
  for (int64_t r = 0; r < points; ++r) {
    TORCH_CHECK_VALUE(!std::isnan(recall_thresholds[r]), op, ": recall_thresholds[", r, "] is NaN");
  }
}

namespace {

void check_accumulate_arguments(Kernel kernel, const at::Tensor& dt_scores,
                                const at::Tensor& matched, const at::Tensor& ignored,
                                const at::Tensor& dt_offsets, const at::Tensor& regular,
                                int64_t num_categories, const at::Tensor& recall_thresholds,
                                at::IntArrayRef max_detections) {
  const char* op = kAccumulate;
  check_devices(op, kernel,
                {{&dt_scores, "dt_scores"},
                 {&matched, "matched"},
                 {&ignored, "ignored"},
                 {&dt_offsets, "dt_offsets"},
                 {&regular, "regular"},
                 {&recall_thresholds, "recall_thresholds"}});
  check_dim(op, dt_scores, "dt_scores", 1, "[D]");
  check_dtype(op, dt_scores, "dt_scores", at::kDouble);
  check_dim(op, matched, "matched", 3, "[A, T, D]");
  check_dtype(op, matched, "matched", at::kBool);
  check_dim(op, ignored, "ignored", 3, "[A, T, D]");
  check_dtype(op, ignored, "ignored", at::kBool);
  check_dim(op, dt_offsets, "dt_offsets", 1, "[C + 1]");
  check_dtype(op, dt_offsets, "dt_offsets", at::kLong);
  check_dim(op, regular, "regular", 2, "[A, C]");
  check_dtype(op, regular, "regular", at::kLong);
  check_dim(op, recall_thresholds, "recall_thresholds", 1, "[R]");
  check_dtype(op, recall_thresholds, "recall_thresholds", at::kDouble);
  for (int64_t d = 0; d < 3; ++d) {
    check_size(op, ignored, "ignored", d, matched.sym_size(d), "the matching size of 'matched' is");
  }
  check_size(op, matched, "matched", 2, dt_scores.sym_size(0), "the size of 'dt_scores' is");
  check_size(op, regular, "regular", 0, matched.sym_size(0), "the size of 'matched' (A) is");
  TORCH_CHECK_VALUE(dt_offsets.sym_size(0) >= 1, op,
                    ": argument 'dt_offsets' must hold C + 1 >= 1 offsets, got none");
  check_size(op, regular, "regular", 1, dt_offsets.sym_size(0) - 1,
             "the number of cells (the size of 'dt_offsets' - 1) is");
  check_accumulate_settings(op, dt_scores, dt_offsets.sym_size(0) - 1, num_categories,
                            recall_thresholds, max_detections);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> coco_accumulate_meta(
    const at::Tensor& dt_scores, const at::Tensor& matched, const at::Tensor& ignored,
    const at::Tensor& dt_offsets, const at::Tensor& regular, int64_t num_categories,
    const at::Tensor& recall_thresholds, at::IntArrayRef max_detections) {
  check_accumulate_arguments(Kernel::kMeta, dt_scores, matched, ignored, dt_offsets, regular,
                             num_categories, recall_thresholds, max_detections);
  return accumulate_outputs(matched.options(), matched.sym_size(0), matched.sym_size(1),
                            num_categories, recall_thresholds, max_detections);
}

// Scratch of one task, reused task after task.
struct TaskScratch {
  std::vector<int64_t> first_with;      // [v]: the position where tp reaches v
  std::vector<double> precision_at_tp;  // [v]: the precision there
  std::vector<int64_t> tp_needed;       // [r]: the least tp whose recall reaches threshold r
};

// Set bits, inline: the library targets baseline x86-64 (no POPCNT), where
// __builtin_popcountll is a call into libgcc.
int64_t popcount(uint64_t bits) {
  bits -= (bits >> 1) & 0x5555555555555555ull;
  bits = (bits & 0x3333333333333333ull) + ((bits >> 2) & 0x3333333333333333ull);
  bits = (bits + (bits >> 4)) & 0x0F0F0F0F0F0F0F0Full;
  return static_cast<int64_t>((bits * 0x0101010101010101ull) >> 56);
}

// One (category, area range) task, for every max-detections value. The
// sorted subset of a max-detections value is the category's sorted order
// filtered (a stable sort orders by score, then by place in the
// concatenation, which the subset keeps).
//
// pycocotools computes recall and precision at every position, then
// searchsorted and the right-to-left maximum. The same values come from
// less work: recall = tp / npig grows with tp alone, so the first position
// whose recall reaches a threshold is where tp first reaches the least v
// with v / npig >= threshold; and precision can only rise where tp does
// (an ignored detection repeats it, a false positive lowers it), so the
// running maximum from the right at position p is
// max(precision[p], the precisions where tp rises after p). Both are exact:
// the same divisions of the same doubles, compared as pycocotools compares.
// So only the true positives are visited, found 64 positions at a time in
// bit sets, and the false positives before each are counted by popcount.
void accumulate_task(const AccumulateInputs& in, const AccumulateOutputs& out,
                     const CategoryOrders& orders, const ScoreOrderBits& bits, int64_t k, int64_t a,
                     TaskScratch& scratch) {
  int64_t npig = 0;
  for (int64_t i = 0; i < in.images; ++i) {
    npig += in.regular[a * in.categories * in.images + k * in.images + i];
  }
  if (npig == 0) {  // also when no image has anything: pycocotools' two `continue`s
    return;
  }
  const std::vector<int64_t>& order = orders.sorted[k];
  const int64_t base = bits.first_word[k], words = bits.first_word[k + 1] - base;
  const int64_t R = in.points, K = in.categories, A = in.ranges, M = in.num_max;
  const auto npig_f = static_cast<double>(npig);
  for (int64_t m = 0; m < M; ++m) {
    const uint64_t* selected = bits.selected.get() + m * bits.total + base;
    int64_t nd = 0, first_selected = -1;
    for (int64_t w = 0; w < words; ++w) {
      if (first_selected < 0 && selected[w] != 0) {
        first_selected = w * 64 + __builtin_ctzll(selected[w]);
      }
      nd += popcount(selected[w]);
    }
    // tp_needed[r]: the least v in [0, nd] with v / npig >= threshold r
    // (nd + 1: none), by bisection on the same quotients.
    auto& tp_needed = scratch.tp_needed;
    tp_needed.resize(static_cast<size_t>(R));
    for (int64_t r = 0; r < R; ++r) {
      int64_t low = 0, high = nd + 1;
      while (low < high) {
        const int64_t mid = low + (high - low) / 2;
        if (static_cast<double>(mid) / npig_f >= in.recall_thresholds[r]) {
          high = mid;
        } else {
          low = mid + 1;
        }
      }
      tp_needed[r] = low;
    }
    for (int64_t t = 0; t < in.thresholds; ++t) {
      const int64_t row = (a * in.thresholds + t) * bits.total + base;
      const uint64_t* positive_t = bits.positive.get() + row;
      const uint64_t* negative_t = bits.negative.get() + row;
      auto& first_with = scratch.first_with;
      auto& precision_at_tp = scratch.precision_at_tp;
      first_with.assign(1, 0);
      precision_at_tp.assign(1, 0.0);  // v = 0: no rise
      int64_t tp = 0, fp = 0;
      for (int64_t w = 0; w < words; ++w) {
        const uint64_t within = selected[w];
        const uint64_t negatives = negative_t[w] & within;
        for (uint64_t rises = positive_t[w] & within; rises != 0; rises &= rises - 1) {
          const int q = __builtin_ctzll(rises);
          const uint64_t below = (uint64_t{1} << q) - 1;
          const auto tp_sum = static_cast<double>(++tp);
          const auto fp_sum = static_cast<double>(fp + popcount(negatives & below));
          // np.spacing(1) == DBL_EPSILON
          first_with.push_back(w * 64 + q);
          precision_at_tp.push_back(tp_sum / (fp_sum + tp_sum + DBL_EPSILON));
        }
        fp += popcount(negatives);
      }
      // The precision at the first position: that of a rise there, else 0
      // (no true positive yet: 0 over a positive count).
      const double first_precision =
          tp >= 1 && first_with[1] == first_selected ? precision_at_tp[1] : 0.0;
      out.recall[((t * K + k) * A + a) * M + m] = nd > 0 ? static_cast<double>(tp) / npig_f : 0;
      // Running maximum from the right over the rises: the best at v' >= v.
      for (int64_t v = tp - 1; v >= 1; --v) {
        if (precision_at_tp[v + 1] > precision_at_tp[v]) {
          precision_at_tp[v] = precision_at_tp[v + 1];
        }
      }
      // pycocotools' loop over the thresholds stops at the first point past
      // the end (its `except: pass`), leaving the rest of its zeros.
      bool past_the_end = false;
      for (int64_t r = 0; r < R; ++r) {
        const int64_t at = (((t * R + r) * K + k) * A + a) * M + m;
        const int64_t v = tp_needed[r];
        past_the_end = past_the_end || v > tp || nd == 0;
        if (past_the_end) {
          out.precision[at] = 0;
          out.scores[at] = 0;
          continue;
        }
        const int64_t p = v == 0 ? first_selected : first_with[v];
        double best = v == 0 ? first_precision : precision_at_tp[v];
        if (v == 0 && tp >= 1 && precision_at_tp[1] > best) {
          best = precision_at_tp[1];
        }
        out.precision[at] = best;
        out.scores[at] = in.scores[order[p]];
      }
    }
  }
}

// A task costs about this much per detection, per threshold and max-detections value.
constexpr int64_t kDetectionNs = 2;

// Every (category, area range) task, on the pool.
void accumulate_cells(const AccumulateInputs& in, const AccumulateOutputs& out) {
  const CategoryOrders orders = sort_categories(in);
  const ScoreOrderBits bits = score_order_bits(in, orders);
  const int64_t tasks = in.categories * in.ranges;
  const int64_t per_task =
      std::max<int64_t>(1, in.detections / std::max<int64_t>(1, in.categories));
  parallel_for(
      0, tasks, grain_for(kDetectionNs * per_task * (in.thresholds + 1) * (in.num_max + 1)),
      [&](int64_t first, int64_t last) {
        TaskScratch scratch;
        for (int64_t task = first; task < last; ++task) {
          accumulate_task(in, out, orders, bits, task / in.ranges, task % in.ranges, scratch);
        }
      });
}

}  // namespace

std::tuple<at::Tensor, at::Tensor, at::Tensor> accumulate_flags(
    const at::Tensor& scores, const at::Tensor& recall_thresholds, const uint64_t* matched,
    const uint64_t* ignored, const int64_t* offsets, int64_t cells, const int64_t* regular,
    int64_t ranges, int64_t thresholds, int64_t num_categories, at::IntArrayRef max_detections) {
  auto [precision, recall, score_out] = accumulate_outputs(
      scores.options(), ranges, thresholds, num_categories, recall_thresholds, max_detections);
  const AccumulateInputs in{scores.const_data_ptr<double>(),
                            recall_thresholds.const_data_ptr<double>(),
                            matched,
                            ignored,
                            offsets,
                            regular,
                            scores.size(0),
                            thresholds,
                            recall_thresholds.size(0),
                            num_categories,
                            cells / num_categories,
                            ranges,
                            max_detections.data(),
                            static_cast<int64_t>(max_detections.size())};
  accumulate_cells(in, AccumulateOutputs{precision.data_ptr<double>(), recall.data_ptr<double>(),
                                         score_out.data_ptr<double>()});
  return {precision, recall, score_out};
}

namespace {

std::tuple<at::Tensor, at::Tensor, at::Tensor> coco_accumulate_cpu(
    const at::Tensor& dt_scores, const at::Tensor& matched, const at::Tensor& ignored,
    const at::Tensor& dt_offsets, const at::Tensor& regular, int64_t num_categories,
    const at::Tensor& recall_thresholds, at::IntArrayRef max_detections) {
  const char* op = kAccumulate;
  check_accumulate_arguments(Kernel::kCpu, dt_scores, matched, ignored, dt_offsets, regular,
                             num_categories, recall_thresholds, max_detections);
  const at::Tensor scores = contiguous_on_pool(dt_scores, op, "dt_scores");
  const at::Tensor matched_c = contiguous_on_pool(matched, op, "matched");
  const at::Tensor ignored_c = contiguous_on_pool(ignored, op, "ignored");
  const at::Tensor offsets = contiguous_on_pool(dt_offsets, op, "dt_offsets");
  const at::Tensor regular_c = contiguous_on_pool(regular, op, "regular");
  const at::Tensor thresholds = contiguous_on_pool(recall_thresholds, op, "recall_thresholds");
  const int64_t cells = offsets.size(0) - 1;
  check_offsets(op, offsets.const_data_ptr<int64_t>(), cells, "dt_offsets", scores.size(0),
                "detections");
  check_accumulate_data(op, offsets.const_data_ptr<int64_t>(), cells,
                        scores.const_data_ptr<double>(), thresholds.const_data_ptr<double>(),
                        thresholds.size(0));
  const int64_t A = matched.size(0), T = matched.size(1), D = scores.size(0);
  const int64_t W = flag_words(A, T);
  const auto matched_words = uninitialized_words(D * W);
  const auto ignored_words = uninitialized_words(D * W);
  pack_flags(matched_c.const_data_ptr<bool>(), A * T, D, matched_words.get());
  pack_flags(ignored_c.const_data_ptr<bool>(), A * T, D, ignored_words.get());
  return accumulate_flags(scores, thresholds, matched_words.get(), ignored_words.get(),
                          offsets.const_data_ptr<int64_t>(), cells,
                          regular_c.const_data_ptr<int64_t>(), A, T, num_categories,
                          max_detections);
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def(
      "coco_accumulate(Tensor dt_scores, Tensor matched, Tensor ignored, Tensor dt_offsets, "
      "Tensor regular, int num_categories, Tensor recall_thresholds, int[] max_detections) -> "
      "(Tensor precision, Tensor recall, Tensor scores)");
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("coco_accumulate", &coco_accumulate_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) { m.impl("coco_accumulate", &coco_accumulate_meta); }

}  // namespace mt::detection
