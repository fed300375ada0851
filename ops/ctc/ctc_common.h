// CTC (connectionist temporal classification) after the network: forced
// alignment and decoding of batches of ragged utterances, items in parallel.
//
//   log_probs     [B, T, C] float32|float64: per-frame log-probabilities of C
//                 classes, the blank among them; -inf allowed (probability 0)
//   input_lengths [B] int64: item b has frames [0, input_lengths[b])
//   blank         the blank class, in [0, C)
//
//   mt::ctc_forced_align(log_probs, targets [B, L] int32|int64, input_lengths,
//                        target_lengths [B] int64, blank)
//       -> labels [B, T] int64 (the class of each frame on the best alignment,
//          -1 past the item's frames), scores [B, T] (log_probs' dtype: each
//          frame's log-probability of its label, 0 past the frames)
//   mt::ctc_greedy_decode(log_probs, input_lengths, blank)
//       -> labels [B, T] int64 (best class per frame, repeats merged, blanks
//          dropped, -1 after), lengths [B] int64
//   mt::ctc_beam_search(log_probs, input_lengths, beam_width, blank, top_k)
//       -> labels [B, K, T] int64 (-1 after each), lengths [B, K],
//          scores [B, K] (log_probs' dtype: total log-probability of each
//          labeling; -inf for a missing hypothesis), K = top_k, best first
//
// Sums of log-probabilities run in float64. Items fan out over the pool;
// each item's recursion over its frames is sequential.
//
// ctc_common.h: the checks and the batch both files use; ctc_forced_align.cpp:
// alignment; ctc_decode.cpp: greedy and prefix beam-search decoding.
#pragma once

#include <ATen/ATen.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include <torch_mt/parallel.h>

namespace mt::ctc {

constexpr double kMinusInf = -std::numeric_limits<double>::infinity();

// ---- checks ---------------------------------------------------------------

inline void check_log_probs(const char* op, Kernel kernel, const at::Tensor& log_probs,
                            const at::Tensor& input_lengths) {
  check_devices(op, kernel, {{&log_probs, "log_probs"}, {&input_lengths, "input_lengths"}});
  check_dim(op, log_probs, "log_probs", 3, "[B, T, C]");
  check_floating(op, log_probs, "log_probs");
  check_lengths_argument(op, input_lengths, "input_lengths", log_probs.sym_size(0),
                         "the batch size of 'log_probs' is");
}

// Data checks (CPU kernels), with values known.
inline void check_blank(const char* op, int64_t blank, int64_t classes) {
  TORCH_CHECK_VALUE(blank >= 0 && blank < classes, op, ": argument 'blank' must be in [0, ",
                    classes, "), the classes of 'log_probs', got ", blank);
}

// Refuses NaN and +inf in item b's frames.
template <typename scalar_t>
void check_item_log_probs(const char* op, const scalar_t* item, int64_t frames, int64_t classes,
                          int64_t b) {
  bool fine = true;  // branch-free, so it vectorises: NaN and +inf both fail `< +inf`
  for (int64_t k = 0; k < frames * classes; ++k) {
    fine &= item[k] < std::numeric_limits<scalar_t>::infinity();
  }
  TORCH_CHECK_VALUE(fine, op, ": log_probs[", b,
                    "] contains NaN or +inf; log-probabilities must be finite or -inf");
}

// The batch as the kernels see it: contiguous log-probabilities and lengths.
struct Frames {
  Frames(const char* op, const at::Tensor& log_probs, const at::Tensor& input_lengths)
      : data(contiguous_on_pool(log_probs, op, "log_probs")),
        batch(log_probs.size(0)),
        steps(log_probs.size(1)),
        classes(log_probs.size(2)),
        length(op, input_lengths, "input_lengths", steps, "the number of frames T of 'log_probs'") {
  }

  template <typename scalar_t>
  const scalar_t* item(int64_t b) const {
    return data.const_data_ptr<scalar_t>() + b * steps * classes;
  }

  at::Tensor data;
  int64_t batch, steps, classes;
  ItemLengths length;
};

// Runs item(b) for every item in parallel; the lowest failing item's error
// is raised once all have run. `item_ns`: the cost of one item.
template <typename ItemFn>
void for_each_item(int64_t batch, int64_t item_ns, const ItemFn& item) {
  ItemErrors errors;
  parallel_for(0, batch, grain_for(item_ns), [&](int64_t first, int64_t last) {
    for (int64_t b = first; b < last; ++b) {
      errors.run(b, [&] { item(b); });
    }
  });
  errors.rethrow();
}

}  // namespace mt::ctc
