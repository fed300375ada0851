// mt::ctc_greedy_decode and mt::ctc_beam_search (conventions in ctc_common.h).
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

constexpr const char* kGreedy = "mt::ctc_greedy_decode";
constexpr const char* kBeam = "mt::ctc_beam_search";

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
  TORCH_CHECK_VALUE(beam_width >= 1, kBeam, ": argument 'beam_width' must be >= 1, got ",
                    beam_width);
  TORCH_CHECK_VALUE(top_k >= 1 && top_k <= beam_width, kBeam, ": argument 'top_k' must be in [1, ",
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
      "ctc_greedy_decode(Tensor log_probs, Tensor input_lengths, int blank=0) "
      "-> (Tensor, Tensor)");
  m.def(
      "ctc_beam_search(Tensor log_probs, Tensor input_lengths, int beam_width, int blank=0, "
      "int top_k=1) -> (Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("ctc_greedy_decode", &ctc_greedy_decode_cpu);
  m.impl("ctc_beam_search", &ctc_beam_search_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) {
  m.impl("ctc_greedy_decode", &ctc_greedy_decode_meta);
  m.impl("ctc_beam_search", &ctc_beam_search_meta);
}

}  // namespace mt::ctc
