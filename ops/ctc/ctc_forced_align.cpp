// mt::ctc_forced_align: the best alignment of each transcript (conventions in ctc_common.h).
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <torch_mt/parallel.h>
#include "ctc_common.h"

namespace mt::ctc {
namespace {

constexpr const char* kAlign = "mt::ctc_forced_align";

// ---- forced alignment ---------------------------------------------------------------
//
// Viterbi over the CTC trellis of the extended target: blank, y1, blank, y2,
// ..., yL, blank (S = 2L + 1 states; state s is blank when even, y(s/2) when
// odd). From state s a frame may stay at s, move to s + 1, or skip the blank
// to s + 2 when y(s/2 + 1) differs from the token before it (a repeated token
// needs a blank between its copies). A path starts in state 0 or 1 and ends in
// state S - 1 or S - 2. torchaudio's conventions, ties included: among the
// predecessors of a state the best wins with ties going to staying, then to
// the previous state, then to the skip; at the end, the last token's state
// wins a tie with the final blank's.

template <typename target_t>
struct Transcript {
  const target_t* tokens;
  int64_t length;

  int64_t label(int64_t state, int64_t blank) const {
    return state % 2 == 0 ? blank : static_cast<int64_t>(tokens[state / 2]);
  }
  // The skip into odd state s from s - 2 (over a blank) is allowed.
  bool can_skip_into(int64_t state) const {
    return state % 2 == 1 && state >= 3 && tokens[state / 2] != tokens[state / 2 - 1];
  }
  int64_t repeats() const {
    int64_t count = 0;
    for (int64_t i = 1; i < length; ++i) {
      count += tokens[i] == tokens[i - 1];
    }
    return count;
  }
};

// Refuses tokens outside [0, C) and the blank; then items too long for their frames.
template <typename target_t>
void check_transcript(const Transcript<target_t>& transcript, int64_t frames, int64_t classes,
                      int64_t blank, int64_t b) {
  for (int64_t i = 0; i < transcript.length; ++i) {
    const auto token = static_cast<int64_t>(transcript.tokens[i]);
    TORCH_CHECK_VALUE(token >= 0 && token < classes, kAlign, ": targets[", b, ", ", i,
                      "] = ", token, " is outside [0, ", classes, "), the classes of 'log_probs'");
    TORCH_CHECK_VALUE(token != blank, kAlign, ": targets[", b, ", ", i, "] is the blank (", blank,
                      "); a transcript holds tokens only");
  }
  const int64_t needed = transcript.length + transcript.repeats();
  TORCH_CHECK_VALUE(frames >= needed, kAlign, ": item ", b, " cannot be aligned: its ",
                    transcript.length, " tokens with ", transcript.repeats(),
                    " repeats need at least ", needed, " frames, input_lengths[", b, "] is ",
                    frames);
}

// Scratch of one chunk's items.
struct AlignWorkspace {
  // The trellis column of the last frame and this one, each with two -inf
  // cells in front (states -2 and -1): every state reads its three
  // predecessors without a bounds test.
  std::vector<double> previous, current;
  std::vector<int32_t> label;     // [S]: the class of each state
  std::vector<uint8_t> can_skip;  // [S]: the skip from s - 2 into s is allowed
  std::vector<double> emission;   // [S]: this frame's log-probability of each state's class
  std::vector<int8_t> step;       // [frames, S]: 0 stay, 1 from s - 1, 2 skip from s - 2
};

// One frame of the trellis over every state (each depends only on the last
// frame's column). Ties go to staying, then advancing, then skipping
// (torchaudio's rules). The portable step branches: a scalar core predicts
// the usual "stay" well (64 x 2000 frames, L = 300, 1 thread, Intel Xeon:
// 143 ms, where the branch-free form below, compiled without vectors, took
// 235 ms and the AVX2 one 106 ms).
void trellis_frame_portable(const double* previous, const uint8_t* can_skip, const double* emission,
                            int64_t states, double* current, int8_t* step) {
  for (int64_t s = 0; s < states; ++s) {
    const double stay = previous[s];
    const double advance = previous[s - 1];
    const double skip = can_skip[s] != 0 ? previous[s - 2] : kMinusInf;
    double best = stay;
    step[s] = 0;
    if (skip > advance && skip > stay) {
      best = skip;
      step[s] = 2;
    } else if (advance > stay) {
      best = advance;
      step[s] = 1;
    }
    current[s] = best + emission[s];
  }
}

#if defined(__x86_64__)
// trellis_frame_portable without branches, so that the compiler vectorises
// it along the states: four per AVX2 instruction, compares, blends and adds
// only (no gather, no masked store: nothing Zen cores run as microcode). The
// same comparisons, selects and one add per state, so the same bits.
MT_TARGET_AVX2 void trellis_frame_avx2(const double* __restrict previous,
                                       const uint8_t* __restrict can_skip,
                                       const double* __restrict emission, int64_t states,
                                       double* __restrict current, int8_t* __restrict step) {
  for (int64_t s = 0; s < states; ++s) {
    const double stay = previous[s];
    const double advance = previous[s - 1];
    const double two_back = previous[s - 2];  // always readable: the padding
    const double skip = can_skip[s] != 0 ? two_back : kMinusInf;
    const bool take_skip = (skip > advance) & (skip > stay);
    const bool take_advance = !take_skip & (advance > stay);
    const double best = take_skip ? skip : (take_advance ? advance : stay);
    step[s] = static_cast<int8_t>(2 * static_cast<int>(take_skip) + static_cast<int>(take_advance));
    current[s] = best + emission[s];
  }
}
#endif

// Isa: the instruction set of the trellis step (simd::dispatch's tag).
template <class Isa, typename scalar_t, typename target_t>
void align_item(Isa, const scalar_t* log_probs, int64_t frames, int64_t classes,
                const Transcript<target_t>& transcript, int64_t blank, AlignWorkspace& ws,
                int64_t* labels, scalar_t* scores) {
  if (frames == 0) {
    return;  // nothing to align (check_transcript allowed it: no tokens)
  }
  const int64_t states = 2 * transcript.length + 1;
  ws.previous.assign(states + 2, kMinusInf);
  ws.current.assign(states + 2, kMinusInf);
  ws.label.resize(states);
  ws.can_skip.resize(states);
  ws.emission.resize(states);
  for (int64_t s = 0; s < states; ++s) {
    ws.label[s] = static_cast<int32_t>(transcript.label(s, blank));
    ws.can_skip[s] = transcript.can_skip_into(s) ? 1 : 0;
  }
  ws.step.assign(frames * states, 0);
  double* previous = ws.previous.data() + 2;  // state 0; [-2] and [-1] stay -inf
  double* current = ws.current.data() + 2;
  previous[0] = static_cast<double>(log_probs[blank]);
  if (states > 1) {
    previous[1] = static_cast<double>(log_probs[ws.label[1]]);
  }
#if defined(__x86_64__)
  const auto frame_step =
      Isa::isa != simd::Isa::portable ? trellis_frame_avx2 : trellis_frame_portable;
#else
  const auto frame_step = trellis_frame_portable;
#endif
  for (int64_t t = 1; t < frames; ++t) {
    const scalar_t* frame = log_probs + t * classes;
    for (int64_t s = 0; s < states; ++s) {  // a gather: kept out of the vector loop
      ws.emission[s] = static_cast<double>(frame[ws.label[s]]);
    }
    frame_step(previous, ws.can_skip.data(), ws.emission.data(), states, current,
               ws.step.data() + t * states);
    std::swap(previous, current);
  }
  int64_t state = states - 1;
  if (states > 1 && !(previous[states - 1] > previous[states - 2])) {
    state = states - 2;
  }
  for (int64_t t = frames - 1; t >= 0; --t) {
    const int64_t label = transcript.label(state, blank);
    labels[t] = label;
    scores[t] = log_probs[t * classes + label];
    state -= ws.step[t * states + state];
  }
}

void check_align_arguments(Kernel kernel, const at::Tensor& log_probs, const at::Tensor& targets,
                           const at::Tensor& input_lengths, const at::Tensor& target_lengths) {
  check_log_probs(kAlign, kernel, log_probs, input_lengths);
  check_devices(
      kAlign, kernel,
      {{&log_probs, "log_probs"}, {&targets, "targets"}, {&target_lengths, "target_lengths"}});
  check_dim(kAlign, targets, "targets", 2, "[B, L]");
  TORCH_CHECK_TYPE(targets.scalar_type() == at::kInt || targets.scalar_type() == at::kLong, kAlign,
                   ": argument 'targets' must be int32 or int64 token ids, got ",
                   dtype_name(targets.scalar_type()));
  check_size(kAlign, targets, "targets", 0, log_probs.sym_size(0),
             "the batch size of 'log_probs' is");
  check_lengths_argument(kAlign, target_lengths, "target_lengths", log_probs.sym_size(0),
                         "the batch size of 'log_probs' is");
}

// One trellis cell costs about 1.4 ns (AVX2 step) to 1.9 ns (portable) here.
constexpr int64_t kCellNs = 2;

std::tuple<at::Tensor, at::Tensor> ctc_forced_align_cpu(const at::Tensor& log_probs,
                                                        const at::Tensor& targets,
                                                        const at::Tensor& input_lengths,
                                                        const at::Tensor& target_lengths,
                                                        int64_t blank) {
  check_align_arguments(Kernel::kCpu, log_probs, targets, input_lengths, target_lengths);
  const Frames frames(kAlign, log_probs, input_lengths);
  check_blank(kAlign, blank, frames.classes);
  const int64_t width = targets.size(1);
  check_allocation(kAlign, "one item's trellis steps", {frames.steps, 2 * width + 1},
                   sizeof(int8_t));
  const at::Tensor tokens = contiguous_on_pool(targets, kAlign, "targets");
  const ItemLengths target_length(kAlign, target_lengths, "target_lengths", width,
                                  "the width L of 'targets'");
  at::Tensor labels =
      at::full({frames.batch, frames.steps}, -1, targets.options().dtype(at::kLong));
  at::Tensor scores = at::zeros({frames.batch, frames.steps}, log_probs.options());
  const simd::Isa chosen = simd::isa();
  AT_DISPATCH_FLOATING_TYPES(log_probs.scalar_type(), kAlign, [&] {
    using scalar_type = scalar_t;
    AT_DISPATCH_INDEX_TYPES(targets.scalar_type(), kAlign, [&] {
      int64_t* label_out = labels.data_ptr<int64_t>();
      scalar_type* score_out = scores.data_ptr<scalar_type>();
      const int64_t item_ns = kCellNs * frames.steps * (2 * width + 1);
      for_each_item(frames.batch, item_ns, [&](int64_t b) {
        AlignWorkspace ws;
        const Transcript<index_t> transcript{tokens.const_data_ptr<index_t>() + b * width,
                                             target_length[b]};
        const scalar_type* item = frames.item<scalar_type>(b);
        const int64_t steps = frames.length[b];
        check_item_log_probs(kAlign, item, steps, frames.classes, b);
        check_transcript(transcript, steps, frames.classes, blank, b);
        simd::dispatch(chosen, [&](auto isa) {
          align_item(isa, item, steps, frames.classes, transcript, blank, ws,
                     label_out + b * frames.steps, score_out + b * frames.steps);
        });
      });
    });
  });
  return {labels, scores};
}

// ---- shape function (torch.compile, meta tensors) -------------------------------

std::tuple<at::Tensor, at::Tensor> ctc_forced_align_meta(const at::Tensor& log_probs,
                                                         const at::Tensor& targets,
                                                         const at::Tensor& input_lengths,
                                                         const at::Tensor& target_lengths,
                                                         int64_t /*blank*/) {
  check_align_arguments(Kernel::kMeta, log_probs, targets, input_lengths, target_lengths);
  const std::vector<c10::SymInt> shape = {log_probs.sym_size(0), log_probs.sym_size(1)};
  return {at::empty_symint(shape, log_probs.options().dtype(at::kLong)),
          at::empty_symint(shape, log_probs.options())};
}
}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def(
      "ctc_forced_align(Tensor log_probs, Tensor targets, Tensor input_lengths, "
      "Tensor target_lengths, int blank=0) -> (Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("ctc_forced_align", &ctc_forced_align_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) { m.impl("ctc_forced_align", &ctc_forced_align_meta); }

}  // namespace mt::ctc
