// The two halves of COCO evaluation, as the operators share them:
// matching (coco_match.cpp: COCOeval.evaluateImg) and accumulation
// (coco_accumulate.cpp: COCOeval.accumulate). coco_match and
// coco_accumulate run one half each, with the [A, T, D] flag tensors of their
// schemas between them; mt::_coco_match_accumulate (coco_match_accumulate.cpp)
// runs both with the flags kept as bit words (below) and never builds those
// tensors: coco_evaluate calls it.
//
// Why bit words: the [A, T, D] layout puts a detection's A * T flags in
// A * T different rows, so matching wrote 2 * A * T scattered bytes per
// detection and accumulation gathered them again through the score order,
// one row at a time (80 bytes a detection for COCO's 4 ranges and 10
// thresholds). As words, a detection's flags are W = ceil(A * T / 64)
// words of matched bits and W of ignored bits: bit b = a * T + t of the
// detection's row, word b / 64, bit b % 64.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <tuple>
#include <vector>

#include <torch_mt/parallel.h>

namespace mt::detection {

// Flag words per detection for A ranges and T thresholds (0 when either is 0).
inline int64_t flag_words(int64_t ranges, int64_t thresholds) {
  return (ranges * thresholds + 63) / 64;
}

// Words a kernel writes in full before it reads them, left uninitialised:
// zeroing a few MB first is a serial pass as long as the parallel writes.
inline std::unique_ptr<uint64_t[]> uninitialized_words(int64_t count) {
  return std::make_unique_for_overwrite<uint64_t[]>(static_cast<size_t>(count));
}

// Transposes a 64 x 64 bit matrix in place: bit j of rows[i] becomes bit i
// of rows[j] (coco_flag_words.cpp).
void transpose_bits(uint64_t rows[64]);

// The operators' [A * T, D] flag bools (bytes 0 or 1) to [D][W] flag words,
// and back; on the pool, 64 detections a step (coco_flag_words.cpp).
void pack_flags(const bool* flags, int64_t bits, int64_t detections, uint64_t* words);
void unpack_flags(const uint64_t* words, int64_t bits, int64_t detections, bool* flags);

// ---- matching ---------------------------------------------------------------

struct MatchInputs {
  const double *dt_boxes, *dt_areas, *gt_boxes, *gt_areas, *area_ranges, *thresholds;
  const double* given_ious;     // [P], or nullptr: box IoU
  const int64_t* pair_offsets;  // [C]: where each cell's matrix starts in given_ious
  const bool *gt_crowd, *gt_ignore;
  const int64_t *gt_ids, *dt_offsets, *gt_offsets;
  int64_t detections, cells, ranges, num_thresholds;
};

// coco_match's arguments checked (shapes, dtypes, then the data: offsets,
// finite values, the pair count) and read contiguous; `in` points into
// `tensors`, which keep the data alive.
struct PreparedMatch {
  std::vector<at::Tensor> tensors;
  std::vector<int64_t> pair_offsets;
  MatchInputs in;
};

// The argument checks of coco_match, shared by every kernel taking its arguments.
void check_match_arguments(const char* op, Kernel kernel, const at::Tensor& dt_boxes,
                           const at::Tensor& dt_areas, const at::Tensor& dt_offsets,
                           const at::Tensor& gt_boxes, const at::Tensor& gt_areas,
                           const at::Tensor& gt_crowd, const at::Tensor& gt_ignore,
                           const at::Tensor& gt_ids, const at::Tensor& gt_offsets,
                           const at::Tensor& area_ranges, const at::Tensor& iou_thresholds,
                           const std::optional<at::Tensor>& ious);

// CPU: the shape checks above, then the data checks, on contiguous copies.
PreparedMatch prepare_match(const char* op, const at::Tensor& dt_boxes, const at::Tensor& dt_areas,
                            const at::Tensor& dt_offsets, const at::Tensor& gt_boxes,
                            const at::Tensor& gt_areas, const at::Tensor& gt_crowd,
                            const at::Tensor& gt_ignore, const at::Tensor& gt_ids,
                            const at::Tensor& gt_offsets, const at::Tensor& area_ranges,
                            const at::Tensor& iou_thresholds,
                            const std::optional<at::Tensor>& ious);

// Every cell matched, on the pool: matched and ignored [D][W] words (W =
// flag_words(A, T)), regular [A, C] (the ground truth each range counts).
void match_cells(const MatchInputs& in, uint64_t* matched, uint64_t* ignored, int64_t* regular);

// ---- accumulation -----------------------------------------------------------

struct AccumulateInputs {
  const double *scores, *recall_thresholds;
  const uint64_t *matched, *ignored;  // [D][W] flag words
  const int64_t *offsets, *regular;   // [C + 1], [A, C]
  int64_t detections, thresholds, points, categories, images, ranges;
  const int64_t* max_detections;
  int64_t num_max;
};

struct AccumulateOutputs {
  double *precision, *recall, *scores;  // [T, R, K, A, M], [T, K, A, M], [T, R, K, A, M]
};

// The checks of the accumulation's own arguments (dt_scores [D], the
// recall thresholds [R], num_categories dividing the C cells, max_detections
// >= 0), shared by coco_accumulate and the fused kernel.
void check_accumulate_settings(const char* op, const at::Tensor& dt_scores,
                               const c10::SymInt& cells, int64_t num_categories,
                               const at::Tensor& recall_thresholds, at::IntArrayRef max_detections);

// The outputs, filled with -1 (absent categories keep it): precision and
// scores [T, R, K, A, M], recall [T, K, A, M].
std::tuple<at::Tensor, at::Tensor, at::Tensor> accumulate_outputs(
    const at::TensorOptions& options, const c10::SymInt& ranges, const c10::SymInt& thresholds,
    int64_t num_categories, const at::Tensor& recall_thresholds, at::IntArrayRef max_detections);

// CPU data checks: scores not NaN and non-increasing within each cell
// (offsets checked already), recall thresholds not NaN.
void check_accumulate_data(const char* op, const int64_t* offsets, int64_t cells,
                           const double* scores, const double* recall_thresholds, int64_t points);

// The accumulation of flag words into new outputs (accumulate_outputs'),
// every (category, area range) task on the pool. `scores` [D] and
// `recall_thresholds` [R] contiguous, checked (check_accumulate_data);
// `offsets` [cells + 1], `regular` [A, cells].
std::tuple<at::Tensor, at::Tensor, at::Tensor> accumulate_flags(
    const at::Tensor& scores, const at::Tensor& recall_thresholds, const uint64_t* matched,
    const uint64_t* ignored, const int64_t* offsets, int64_t cells, const int64_t* regular,
    int64_t ranges, int64_t thresholds, int64_t num_categories, at::IntArrayRef max_detections);

// ---- the accumulation's score order (coco_score_order.cpp) -------------------

// Each category's detections by score: the images' first max-detections
// (the largest value) concatenated in image order, then mergesorted by
// score (stable, descending). Shared by the category's area-range tasks.
struct CategoryOrders {
  std::vector<std::vector<int64_t>> sorted;  // [k]: detection indices
  std::vector<int64_t> rank;                 // [d]: its rank in its image
};

CategoryOrders sort_categories(const AccumulateInputs& in);

// Every category's flags in its score order, as bit sets of 64 positions a
// word, built once and read by all of the category's tasks: row b = a * T + t
// (positive: a true positive there; negative: a false positive), row m of
// `selected` (rank in its image < max_detections[m]). Category k's words
// are [first_word[k], first_word[k + 1]) of every row.
struct ScoreOrderBits {
  std::vector<int64_t> first_word;  // [K + 1]
  int64_t total = 0;
  std::unique_ptr<uint64_t[]> positive, negative;  // [A * T][total]
  std::unique_ptr<uint64_t[]> selected;            // [M][total]
};

ScoreOrderBits score_order_bits(const AccumulateInputs& in, const CategoryOrders& orders);

}  // namespace mt::detection
