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

namespace mt {
namespace {

constexpr const char* kAlign = "mt::ctc_forced_align";
constexpr const char* kGreedy = "mt::ctc_greedy_decode";
constexpr const char* kBeam = "mt::ctc_beam_search";
constexpr double kMinusInf = -std::numeric_limits<double>::infinity();

// ---- checks ---------------------------------------------------------------

void check_log_probs(const char* op, Kernel kernel, const at::Tensor& log_probs,
                     const at::Tensor& input_lengths) {
  check_devices(op, kernel, {{&log_probs, "log_probs"}, {&input_lengths, "input_lengths"}});
  check_dim(op, log_probs, "log_probs", 3, "[B, T, C]");
  check_floating(op, log_probs, "log_probs");
  check_lengths_argument(op, input_lengths, "input_lengths", log_probs.sym_size(0),
                         "the batch size of 'log_probs' is");
}

// Data checks (CPU kernels), with values known.
void check_blank(const char* op, int64_t blank, int64_t classes) {
  TORCH_CHECK(blank >= 0 && blank < classes, op, ": argument 'blank' must be in [0, ", classes,
              "), the classes of 'log_probs', got ", blank);
}

// Refuses NaN and +inf in item b's frames.
template <typename scalar_t>
void check_item_log_probs(const char* op, const scalar_t* item, int64_t frames, int64_t classes,
                          int64_t b) {
  bool fine = true;  // branch-free, so it vectorises: NaN and +inf both fail `< +inf`
  for (int64_t k = 0; k < frames * classes; ++k) {
    fine &= item[k] < std::numeric_limits<scalar_t>::infinity();
  }
  TORCH_CHECK(fine, op, ": log_probs[", b,
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
    TORCH_CHECK(token >= 0 && token < classes, kAlign, ": targets[", b, ", ", i, "] = ", token,
                " is outside [0, ", classes, "), the classes of 'log_probs'");
    TORCH_CHECK(token != blank, kAlign, ": targets[", b, ", ", i, "] is the blank (", blank,
                "); a transcript holds tokens only");
  }
  const int64_t needed = transcript.length + transcript.repeats();
  TORCH_CHECK(frames >= needed, kAlign, ": item ", b, " cannot be aligned: its ", transcript.length,
              " tokens with ", transcript.repeats(), " repeats need at least ", needed,
              " frames, input_lengths[", b, "] is ", frames);
}

// Scratch of one chunk's items.
struct AlignWorkspace {
  std::vector<double> previous, current;  // the trellis column of the last frame and this one
  std::vector<int8_t> step;               // [frames, S]: 0 stay, 1 from s - 1, 2 skip from s - 2
};

template <typename scalar_t, typename target_t>
void align_item(const scalar_t* log_probs, int64_t frames, int64_t classes,
                const Transcript<target_t>& transcript, int64_t blank, AlignWorkspace& ws,
                int64_t* labels, scalar_t* scores) {
  if (frames == 0) {
    return;  // nothing to align (check_transcript allowed it: no tokens)
  }
  const int64_t states = 2 * transcript.length + 1;
  ws.previous.assign(states, kMinusInf);
  ws.current.assign(states, kMinusInf);
  ws.step.assign(frames * states, 0);
  ws.previous[0] = static_cast<double>(log_probs[blank]);
  if (states > 1) {
    ws.previous[1] = static_cast<double>(log_probs[transcript.label(1, blank)]);
  }
  for (int64_t t = 1; t < frames; ++t) {
    const scalar_t* frame = log_probs + t * classes;
    int8_t* step = ws.step.data() + t * states;
    for (int64_t s = 0; s < states; ++s) {
      const double stay = ws.previous[s];
      const double advance = s >= 1 ? ws.previous[s - 1] : kMinusInf;
      const double skip = transcript.can_skip_into(s) ? ws.previous[s - 2] : kMinusInf;
      double best = stay;
      step[s] = 0;
      if (skip > advance && skip > stay) {
        best = skip;
        step[s] = 2;
      } else if (advance > stay) {
        best = advance;
        step[s] = 1;
      }
      ws.current[s] = best + static_cast<double>(frame[transcript.label(s, blank)]);
    }
    std::swap(ws.previous, ws.current);
  }
  int64_t state = states - 1;
  if (states > 1 && !(ws.previous[states - 1] > ws.previous[states - 2])) {
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
  TORCH_CHECK(targets.scalar_type() == at::kInt || targets.scalar_type() == at::kLong, kAlign,
              ": argument 'targets' must be int32 or int64 token ids, got ",
              dtype_name(targets.scalar_type()));
  check_size(kAlign, targets, "targets", 0, log_probs.sym_size(0),
             "the batch size of 'log_probs' is");
  check_lengths_argument(kAlign, target_lengths, "target_lengths", log_probs.sym_size(0),
                         "the batch size of 'log_probs' is");
}

// One trellis cell costs about 3 ns here.
constexpr int64_t kCellNs = 3;

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
        align_item(item, steps, frames.classes, transcript, blank, ws, label_out + b * frames.steps,
                   score_out + b * frames.steps);
      });
    });
  });
  return {labels, scores};
}

// ---- greedy decoding ------------------------------------------------------------------

// The best class of each frame (the lowest on ties, as torch.argmax), repeats
// merged, blanks dropped; returns the number of labels written.
template <typename scalar_t>
int64_t greedy_item(const scalar_t* log_probs, int64_t frames, int64_t classes, int64_t blank,
                    int64_t* labels) {
  int64_t count = 0, previous = -1;
  for (int64_t t = 0; t < frames; ++t) {
    const scalar_t* frame = log_probs + t * classes;
    const int64_t best = std::max_element(frame, frame + classes) - frame;
    if (best != blank && best != previous) {
      labels[count++] = best;
    }
    previous = best;
  }
  return count;
}

std::tuple<at::Tensor, at::Tensor> ctc_greedy_decode_cpu(const at::Tensor& log_probs,
                                                         const at::Tensor& input_lengths,
                                                         int64_t blank) {
  check_log_probs(kGreedy, Kernel::kCpu, log_probs, input_lengths);
  const Frames frames(kGreedy, log_probs, input_lengths);
  check_blank(kGreedy, blank, frames.classes);
  at::Tensor labels =
      at::full({frames.batch, frames.steps}, -1, log_probs.options().dtype(at::kLong));
  at::Tensor lengths = at::zeros({frames.batch}, log_probs.options().dtype(at::kLong));
  AT_DISPATCH_FLOATING_TYPES(log_probs.scalar_type(), kGreedy, [&] {
    int64_t* label_out = labels.data_ptr<int64_t>();
    int64_t* length_out = lengths.data_ptr<int64_t>();
    for_each_item(frames.batch, frames.steps * frames.classes, [&](int64_t b) {
      const scalar_t* item = frames.item<scalar_t>(b);
      check_item_log_probs(kGreedy, item, frames.length[b], frames.classes, b);
      length_out[b] =
          greedy_item(item, frames.length[b], frames.classes, blank, label_out + b * frames.steps);
    });
  });
  return {labels, lengths};
}

// ---- prefix beam search ------------------------------------------------------------------
//
// Each hypothesis is a prefix (a labeling so far) with two log-probabilities:
// of the alignments of the frames so far that collapse to it and end in a
// blank (p_blank), or in its last label (p_label). One frame extends every
// prefix by the blank (it stays), by its own last label (it stays: the copy
// merges), and by every other label c (a new prefix, or the same label after
// a blank: prefix + c again). The beam keeps the `beam_width` prefixes of the
// highest total logaddexp(p_blank, p_label); ties go to the earlier
// candidate (the surviving prefixes in beam order, each followed by its
// extensions in class order), so results never depend on the thread count.
// With a beam that keeps every prefix this is the exact sum over alignments.
//
// A language model would add its score where a new prefix is scored
// (extension_score below): the per-token hook is that one function.

// Prefixes live in a trie that only grows: a prefix is its last node, and
// one prefix has one node (a child is looked up before it is made), so a
// prefix that left the beam and comes back is still recognised by its
// extensions still in the beam.
struct PrefixNode {
  int64_t parent;  // -1 for the empty prefix
  int64_t label;   // -1 for the empty prefix
  int64_t length;
};

// log(e^a + e^b), without overflow; -inf when both are.
inline double log_add(double a, double b) {
  const double high = std::max(a, b);
  if (high == kMinusInf) {
    return kMinusInf;
  }
  return high + std::log1p(std::exp(std::min(a, b) - high));
}

struct Hypothesis {
  int64_t node;
  double p_blank, p_label;
  double total() const { return log_add(p_blank, p_label); }
};

// A candidate of the next beam: an existing prefix (label -1) or beam entry
// `from` extended by `label`; `order` breaks ties of total log-probability.
struct Candidate {
  double total;
  int64_t order;
};

// The log-probability a new prefix `from` + label gets from this frame: from
// the alignments of `from` ending in a blank only when the label repeats
// `from`'s last one. (The hook for a per-token score.)
inline double extension_score(const Hypothesis& from, const PrefixNode& last, int64_t label,
                              double label_log_prob) {
  const double base = label == last.label ? from.p_blank : from.total();
  return base + label_log_prob;
}

struct BeamWorkspace {
  std::vector<PrefixNode> trie;
  std::unordered_map<int64_t, int64_t> children;  // parent * classes + label -> node
  std::vector<Hypothesis> beam, next, survivors;
  std::vector<Candidate> candidates;
  std::vector<int64_t> child;  // [beam entry, label] -> the beam entry holding that child, or -1
};

template <typename scalar_t>
void beam_item(const scalar_t* log_probs, int64_t frames, int64_t classes, int64_t blank,
               int64_t beam_width, BeamWorkspace& ws) {
  ws.trie.assign(1, PrefixNode{-1, -1, 0});
  ws.children.clear();
  ws.beam.assign(1, Hypothesis{0, 0.0, kMinusInf});
  for (int64_t t = 0; t < frames; ++t) {
    const scalar_t* frame = log_probs + t * classes;
    const auto beam_size = static_cast<int64_t>(ws.beam.size());
    // Which extensions of entry i are themselves in the beam (their mass merges there).
    ws.child.assign(beam_size * classes, -1);
    for (int64_t j = 0; j < beam_size; ++j) {
      const PrefixNode& node = ws.trie[ws.beam[j].node];
      for (int64_t i = 0; i < beam_size && node.parent >= 0; ++i) {
        if (ws.beam[i].node == node.parent) {
          ws.child[i * classes + node.label] = j;
        }
      }
    }
    // Candidates 0..beam_size-1: the prefixes themselves (stay), then extensions.
    ws.next.assign(beam_size, Hypothesis{0, kMinusInf, kMinusInf});
    const double blank_log_prob = static_cast<double>(frame[blank]);
    for (int64_t i = 0; i < beam_size; ++i) {
      const Hypothesis& h = ws.beam[i];
      const PrefixNode& node = ws.trie[h.node];
      Hypothesis& stay = ws.next[i];
      stay.node = h.node;
      stay.p_blank = h.total() + blank_log_prob;
      stay.p_label =
          node.label >= 0 ? h.p_label + static_cast<double>(frame[node.label]) : kMinusInf;
    }
    ws.candidates.clear();
    for (int64_t i = 0; i < beam_size; ++i) {
      const Hypothesis& h = ws.beam[i];
      const PrefixNode& node = ws.trie[h.node];
      for (int64_t c = 0; c < classes; ++c) {
        if (c == blank) {
          continue;
        }
        const double score = extension_score(h, node, c, static_cast<double>(frame[c]));
        const int64_t merged = ws.child[i * classes + c];
        if (merged >= 0) {
          ws.next[merged].p_label = log_add(ws.next[merged].p_label, score);
        } else if (score > kMinusInf) {
          // Order: after every stay, by (entry, class): deterministic.
          ws.candidates.push_back({score, beam_size + i * classes + c});
        }
      }
    }
    for (int64_t i = 0; i < beam_size; ++i) {
      ws.candidates.push_back({ws.next[i].total(), i});
    }
    const auto better = [](const Candidate& x, const Candidate& y) {
      return x.total > y.total || (x.total == y.total && x.order < y.order);
    };
    const auto keep = std::min<int64_t>(beam_width, static_cast<int64_t>(ws.candidates.size()));
    std::partial_sort(ws.candidates.begin(), ws.candidates.begin() + keep, ws.candidates.end(),
                      better);
    std::vector<Hypothesis>& survivors = ws.survivors;
    survivors.clear();
    for (int64_t k = 0; k < keep; ++k) {
      const Candidate& candidate = ws.candidates[k];
      if (candidate.order < beam_size) {
        survivors.push_back(ws.next[candidate.order]);
        continue;
      }
      const int64_t from = (candidate.order - beam_size) / classes;
      const int64_t label = (candidate.order - beam_size) % classes;
      const int64_t parent = ws.beam[from].node;
      const auto [child, made] =
          ws.children.try_emplace(parent * classes + label, static_cast<int64_t>(ws.trie.size()));
      if (made) {
        ws.trie.push_back({parent, label, ws.trie[parent].length + 1});
      }
      survivors.push_back({child->second, kMinusInf, candidate.total});
    }
    ws.beam.swap(survivors);
  }
  // Best first; ties keep beam order.
  std::stable_sort(ws.beam.begin(), ws.beam.end(),
                   [](const Hypothesis& x, const Hypothesis& y) { return x.total() > y.total(); });
}

void check_beam_arguments(Kernel kernel, const at::Tensor& log_probs,
                          const at::Tensor& input_lengths, int64_t beam_width, int64_t top_k) {
  check_log_probs(kBeam, kernel, log_probs, input_lengths);
  TORCH_CHECK(beam_width >= 1, kBeam, ": argument 'beam_width' must be >= 1, got ", beam_width);
  TORCH_CHECK(top_k >= 1 && top_k <= beam_width, kBeam, ": argument 'top_k' must be in [1, ",
              beam_width, "] (the beam width), got ", top_k);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> ctc_beam_search_cpu(const at::Tensor& log_probs,
                                                                   const at::Tensor& input_lengths,
                                                                   int64_t beam_width,
                                                                   int64_t blank, int64_t top_k) {
  check_beam_arguments(Kernel::kCpu, log_probs, input_lengths, beam_width, top_k);
  const Frames frames(kBeam, log_probs, input_lengths);
  check_blank(kBeam, blank, frames.classes);
  check_allocation(kBeam, "the labels", {frames.batch, top_k, frames.steps}, sizeof(int64_t));
  const auto long_options = log_probs.options().dtype(at::kLong);
  at::Tensor labels = at::full({frames.batch, top_k, frames.steps}, -1, long_options);
  at::Tensor lengths = at::zeros({frames.batch, top_k}, long_options);
  at::Tensor scores = at::full({frames.batch, top_k}, kMinusInf, log_probs.options());
  AT_DISPATCH_FLOATING_TYPES(log_probs.scalar_type(), kBeam, [&] {
    int64_t* label_out = labels.data_ptr<int64_t>();
    int64_t* length_out = lengths.data_ptr<int64_t>();
    scalar_t* score_out = scores.data_ptr<scalar_t>();
    const int64_t item_ns = frames.steps * beam_width * frames.classes;
    for_each_item(frames.batch, item_ns, [&](int64_t b) {
      const scalar_t* item = frames.item<scalar_t>(b);
      check_item_log_probs(kBeam, item, frames.length[b], frames.classes, b);
      BeamWorkspace ws;
      beam_item(item, frames.length[b], frames.classes, blank, beam_width, ws);
      const int64_t found = std::min<int64_t>(top_k, static_cast<int64_t>(ws.beam.size()));
      for (int64_t k = 0; k < found; ++k) {
        const Hypothesis& h = ws.beam[k];
        const int64_t slot = b * top_k + k;
        score_out[slot] = static_cast<scalar_t>(h.total());
        length_out[slot] = ws.trie[h.node].length;
        int64_t* out = label_out + slot * frames.steps;
        for (int64_t node = h.node; ws.trie[node].parent >= 0; node = ws.trie[node].parent) {
          out[ws.trie[node].length - 1] = ws.trie[node].label;
        }
      }
    });
  });
  return {labels, lengths, scores};
}

// ---- shape functions (torch.compile, meta tensors) -------------------------------

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

std::tuple<at::Tensor, at::Tensor> ctc_greedy_decode_meta(const at::Tensor& log_probs,
                                                          const at::Tensor& input_lengths,
                                                          int64_t /*blank*/) {
  check_log_probs(kGreedy, Kernel::kMeta, log_probs, input_lengths);
  const auto long_options = log_probs.options().dtype(at::kLong);
  return {at::empty_symint({log_probs.sym_size(0), log_probs.sym_size(1)}, long_options),
          at::empty_symint({log_probs.sym_size(0)}, long_options)};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> ctc_beam_search_meta(const at::Tensor& log_probs,
                                                                    const at::Tensor& input_lengths,
                                                                    int64_t beam_width,
                                                                    int64_t /*blank*/,
                                                                    int64_t top_k) {
  check_beam_arguments(Kernel::kMeta, log_probs, input_lengths, beam_width, top_k);
  const auto long_options = log_probs.options().dtype(at::kLong);
  const c10::SymInt batch = log_probs.sym_size(0);
  return {at::empty_symint({batch, top_k, log_probs.sym_size(1)}, long_options),
          at::empty_symint({batch, top_k}, long_options),
          at::empty_symint({batch, top_k}, log_probs.options())};
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def(
      "ctc_forced_align(Tensor log_probs, Tensor targets, Tensor input_lengths, "
      "Tensor target_lengths, int blank=0) -> (Tensor, Tensor)");
  m.def(
      "ctc_greedy_decode(Tensor log_probs, Tensor input_lengths, int blank=0) "
      "-> (Tensor, Tensor)");
  m.def(
      "ctc_beam_search(Tensor log_probs, Tensor input_lengths, int beam_width, int blank=0, "
      "int top_k=1) -> (Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("ctc_forced_align", &ctc_forced_align_cpu);
  m.impl("ctc_greedy_decode", &ctc_greedy_decode_cpu);
  m.impl("ctc_beam_search", &ctc_beam_search_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) {
  m.impl("ctc_forced_align", &ctc_forced_align_meta);
  m.impl("ctc_greedy_decode", &ctc_greedy_decode_meta);
  m.impl("ctc_beam_search", &ctc_beam_search_meta);
}

}  // namespace mt
