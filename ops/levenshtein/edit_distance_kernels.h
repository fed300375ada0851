// What the edit-distance operators share: the checks of a side (padded or
// packed tokens with lengths), the batch as the kernels read it, the
// per-thread workspace, and the row-wise and grid kernels over the
// bit-parallel loops of levenshtein_bitparallel.h. Included by
// edit_distance.cpp, edit_distance_join.cpp and edit_distance_text.cpp.
#pragma once

#include <ATen/ATen.h>
#include <ATen/Dispatch_v2.h>

#include <algorithm>
#include <array>
#include <numeric>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <torch_mt/parallel.h>
#include "byte_lanes.h"
#include "four_lanes.h"
#include "levenshtein_bitparallel.h"

namespace mt::edit_distance_family {

// ---- checks ---------------------------------------------------------------

// A side is padded (a [B, L], lengths optional) or packed (a 1-D tensor of
// the sequences one after another, lengths [B] required): the form a list
// of strings converts to without building a padded tensor.
inline bool packed(const at::Tensor& seqs) { return seqs.dim() == 1; }

// The side's batch size: rows of a padded side, lengths of a packed one.
inline c10::SymInt batch_of(const at::Tensor& seqs, const std::optional<at::Tensor>& lengths) {
  return packed(seqs) ? lengths->sym_size(0) : seqs.sym_size(0);
}

// Shape, dtype and device checks, shared by the CPU and Meta kernels so that
// torch.compile reports the same errors as eager mode.
inline void check_sequences(const char* op, const at::Tensor& seqs, const char* seqs_name,
                            const std::optional<at::Tensor>& lengths, const char* lengths_name) {
  TORCH_CHECK_VALUE(seqs.dim() == 2 || seqs.dim() == 1, op, ": argument '", seqs_name,
                    "' must be a 2-D tensor [B, L] (padded) or 1-D (packed, with lengths), got ",
                    seqs.dim(), "-D");
  const at::ScalarType dtype = seqs.scalar_type();
  TORCH_CHECK_TYPE(
      dtype == at::kByte || dtype == at::kShort || dtype == at::kInt || dtype == at::kLong, op,
      ": argument '", seqs_name, "' must be uint8, int16, int32 or int64 token ids, got ",
      dtype_name(dtype));
  TORCH_CHECK_VALUE(!packed(seqs) || lengths.has_value(), op, ": argument '", lengths_name,
                    "' is required when '", seqs_name, "' is 1-D (packed sequences)");
  if (packed(seqs)) {
    check_dim(op, *lengths, lengths_name, 1, "[B]");
    check_dtype(op, *lengths, lengths_name, at::kLong);
    return;
  }
  const std::string batch_what = std::string("the batch size of '") + seqs_name + "' is";
  check_lengths_argument(op, lengths, lengths_name, seqs.sym_size(0), batch_what.c_str());
}

inline void check_arguments(const char* op, Kernel kernel, bool same_batch, const at::Tensor& a,
                            const at::Tensor& b, const std::optional<at::Tensor>& a_lengths,
                            const std::optional<at::Tensor>& b_lengths) {
  check_devices(op, kernel,
                {{&a, "a"},
                 {&b, "b"},
                 {if_present(a_lengths), "a_lengths"},
                 {if_present(b_lengths), "b_lengths"}});
  check_sequences(op, a, "a", a_lengths, "a_lengths");
  check_sequences(op, b, "b", b_lengths, "b_lengths");
  TORCH_CHECK_TYPE(a.scalar_type() == b.scalar_type(), op,
                   ": arguments 'a' and 'b' must have the same dtype, got ",
                   dtype_name(a.scalar_type()), " and ", dtype_name(b.scalar_type()));
  if (same_batch) {
    // Named by the tensor that carries b's batch: its rows, or its lengths.
    check_size(op, packed(b) ? *b_lengths : b, packed(b) ? "b_lengths" : "b", 0,
               batch_of(a, a_lengths), "the batch size of 'a' is");
  }
}

// The kernels' bound for a max_distance argument: kNoCutoff for none, and
// no more than it for huge ones (any distance is far below it anyway).
inline int64_t cutoff_bound(const char* op, std::optional<int64_t> max_distance) {
  if (!max_distance.has_value()) {
    return levenshtein::kNoCutoff;
  }
  TORCH_CHECK_VALUE(*max_distance >= 0, op, ": argument 'max_distance' must be >= 0, got ",
                    *max_distance);
  return std::min(*max_distance, levenshtein::kNoCutoff);
}

// ---- kernel ---------------------------------------------------------------

// A batch of sequences, read-only: padded rows (row i at tokens + i * width,
// its length from `lengths`) or packed ones (row i at tokens + offsets[i],
// offsets[i + 1] - offsets[i] long; `width` is then the longest).
template <typename Token>
struct Sequences {
  const Token* tokens;
  const ItemLengths* lengths;
  int64_t width;
  const int64_t* offsets = nullptr;

  const Token* row(int64_t i) const { return tokens + (offsets ? offsets[i] : i * width); }
  int64_t length(int64_t i) const { return offsets ? offsets[i + 1] - offsets[i] : (*lengths)[i]; }
};

// Scratch kept by each thread across calls: the pattern tables are large
// enough (a 256 KiB dense table) that rebuilding them per chunk would show.
// A pair after trimming: the shorter side is the pattern.
template <typename Token>
struct TrimmedPair {
  const Token* pattern;
  int64_t pattern_length;
  const Token* text;
  int64_t text_length;
  int64_t index;  // of the pair in the batch
};

template <typename Token>
struct Workspace {
  levenshtein::PatternMasks<Token> pattern;
  std::vector<uint64_t> plus, minus;  // per-block DP state for long patterns
  // Row-wise batches: kLanes pairs' patterns at once, and the chunk's
  // trimmed pairs.
  std::array<levenshtein::PatternMasks<Token>, levenshtein::kLanes> lanes;
  std::vector<TrimmedPair<Token>> pairs;
  // Bytes: the kLanes patterns in ByteLanes instead (byte_lanes.h).
  std::conditional_t<sizeof(Token) == 1, levenshtein::ByteLanes, std::monostate> byte_lanes;
};

// Borrows this thread's workspace; releases the pattern (which points into
// the caller's tensor) when the chunk ends, however it ends.
template <typename Token>
class BorrowedWorkspace {
 public:
  BorrowedWorkspace() : workspace_(instance()) {}
  ~BorrowedWorkspace() {
    workspace_.pattern.release();
    for (auto& lane : workspace_.lanes) {
      lane.release();
    }
    if constexpr (sizeof(Token) == 1) {
      workspace_.byte_lanes.release();
    }
  }
  Workspace<Token>* operator->() { return &workspace_; }
  Workspace<Token>& operator*() { return workspace_; }

 private:
  static Workspace<Token>& instance() {
    thread_local Workspace<Token> workspace;
    return workspace;
  }
  Workspace<Token>& workspace_;
};

// Equal prefixes and suffixes never change the distance; stripping them
// makes near-identical pairs cheap. The shorter side becomes the pattern.
template <typename Token>
TrimmedPair<Token> trim(const Token* x, int64_t n, const Token* y, int64_t m, int64_t index) {
  while (n > 0 && m > 0 && *x == *y) {
    ++x, ++y, --n, --m;
  }
  while (n > 0 && m > 0 && x[n - 1] == y[m - 1]) {
    --n, --m;
  }
  if (n > m) {
    std::swap(x, y);
    std::swap(n, m);
  }
  return {x, n, y, m, index};
}

// A distance cut at `bound`: min(distance, bound + 1), for any value the
// kernels return (exact up to the bound, anything above it past it).
inline int64_t capped(int64_t distance, int64_t bound) { return std::min(distance, bound + 1); }

// Whether the lengths alone give a trimmed pair's capped distance: an empty
// pattern, or a length difference already above the bound.
template <typename Token>
bool settled_by_lengths(const TrimmedPair<Token>& pair, int64_t bound) {
  return pair.pattern_length == 0 || pair.text_length - pair.pattern_length > bound;
}

// The distance of a trimmed pair, capped at bound + 1 (cheap cases first).
template <typename Token>
int64_t trimmed_distance(Workspace<Token>& workspace, const TrimmedPair<Token>& pair,
                         int64_t bound) {
  if (settled_by_lengths(pair, bound)) {
    return capped(pair.text_length - pair.pattern_length, bound);
  }
  workspace.pattern.prepare(pair.pattern, pair.pattern_length);
  return capped(levenshtein::distance(workspace.pattern, pair.text, pair.text_length,
                                      workspace.plus, workspace.minus, bound),
                bound);
}

// Distance of one pair, capped at bound + 1; the shorter sequence becomes
// the bit-parallel pattern.
template <typename Token>
int64_t pair_distance(Workspace<Token>& workspace, const Token* x, int64_t n, const Token* y,
                      int64_t m, int64_t bound) {
  return trimmed_distance(workspace, trim(x, n, y, m, 0), bound);
}

// Distances of trimmed pairs, each into out[pair.index], capped at bound + 1.
// `pairs` is consumed: the pairs whose pattern fits one word (the common
// case: sequences of up to 64 tokens) are kept and run kLanes at a time, each
// lane with its own pattern, in the given order (sorting them by length to
// end lanes together was measured slower: the rows are then read out of
// memory order); the others are computed one by one first. Results are
// exact integers, so the order of work never changes them.
template <typename Token>
void trimmed_pairs_distances(Workspace<Token>& workspace, std::vector<TrimmedPair<Token>>& pairs,
                             int64_t bound, int64_t* out) {
  constexpr int kLanes = levenshtein::kLanes;
  size_t kept = 0;
  for (const TrimmedPair<Token>& pair : pairs) {
    if (pair.pattern_length <= levenshtein::kWordBits && !settled_by_lengths(pair, bound)) {
      pairs[kept++] = pair;
    } else {
      out[pair.index] = trimmed_distance(workspace, pair, bound);
    }
  }
  pairs.resize(kept);
  const std::vector<TrimmedPair<Token>>& one_word = pairs;
  // The rows are read once, so the group after this one is fetched from
  // memory while this one computes (the loads would otherwise wait on it).
  const auto prefetch_group = [&](size_t group) {
    for (size_t p = group; p < std::min(group + kLanes, one_word.size()); ++p) {
      const TrimmedPair<Token>& pair = one_word[p];
      for (int64_t k = 0; k < pair.pattern_length; k += 64 / sizeof(Token)) {
        __builtin_prefetch(pair.pattern + k);
      }
      for (int64_t k = 0; k < pair.text_length; k += 64 / sizeof(Token)) {
        __builtin_prefetch(pair.text + k);
      }
    }
  };
  size_t next = 0;
  for (; next + kLanes <= one_word.size(); next += kLanes) {
    prefetch_group(next + kLanes);
    const Token* texts[kLanes];
    int64_t text_lengths[kLanes], scores[kLanes];
    for (int lane = 0; lane < kLanes; ++lane) {
      texts[lane] = one_word[next + lane].text;
      text_lengths[lane] = one_word[next + lane].text_length;
    }
    if constexpr (sizeof(Token) == 1) {
      auto& lanes = workspace.byte_lanes;
      lanes.release();
      for (int lane = 0; lane < kLanes; ++lane) {
        lanes.prepare(lane, one_word[next + lane].pattern, one_word[next + lane].pattern_length);
      }
      lanes.distances(texts, text_lengths, bound, scores);
    } else {
      const levenshtein::PatternMasks<Token>* patterns[kLanes];
      for (int lane = 0; lane < kLanes; ++lane) {
        const TrimmedPair<Token>& pair = one_word[next + lane];
        workspace.lanes[lane].prepare(pair.pattern, pair.pattern_length);
        patterns[lane] = &workspace.lanes[lane];
      }
      levenshtein::distances_four_lanes(patterns, texts, text_lengths, bound, scores);
    }
    for (int lane = 0; lane < kLanes; ++lane) {
      out[one_word[next + lane].index] = capped(scores[lane], bound);
    }
  }
  for (; next < one_word.size(); ++next) {
    out[one_word[next].index] = trimmed_distance(workspace, one_word[next], bound);
  }
}

// Pairs [first, last) of a row-wise batch, capped at bound + 1.
template <typename Token>
void rows_chunk(Workspace<Token>& workspace, Sequences<Token> a, Sequences<Token> b, int64_t first,
                int64_t last, int64_t bound, int64_t* out) {
  auto& pairs = workspace.pairs;
  pairs.clear();
  for (int64_t i = first; i < last; ++i) {
    pairs.push_back(trim(a.row(i), a.length(i), b.row(i), b.length(i), i));
  }
  trimmed_pairs_distances(workspace, pairs, bound, out);
}

// Work of one pair in 64-bit word steps: one per text symbol per pattern block.
inline int64_t word_steps(int64_t pattern_width, int64_t text_width) {
  return std::max<int64_t>(1, (pattern_width + 63) / 64) * std::max<int64_t>(1, text_width);
}

// One word step costs about 4 ns here.
constexpr int64_t kWordStepNs = 4;

template <typename Token>
void edit_distance_rows(Sequences<Token> a, Sequences<Token> b, int64_t batch, int64_t bound,
                        int64_t* out) {
  const int64_t steps = word_steps(std::min(a.width, b.width), std::max(a.width, b.width));
  parallel_for(0, batch, grain_for(kWordStepNs * steps), [&](int64_t first, int64_t last) {
    BorrowedWorkspace<Token> workspace;
    rows_chunk(*workspace, a, b, first, last, bound, out);
  });
}

// Positions [first, end) of one grid row against the prepared pattern:
// position p is column `columns[p]` of `row_out`. Columns come in order of
// length, so the kLanes texts run in lockstep waste few steps. Distances
// are capped at bound + 1.
template <typename Token>
void grid_row(Workspace<Token>& workspace, Sequences<Token> b, const int64_t* columns,
              int64_t first, int64_t end, int64_t bound, int64_t* row_out) {
  constexpr int kLanes = levenshtein::kLanes;
  const auto& pattern = workspace.pattern;
  int64_t p = first;
  if (pattern.blocks() == 1) {  // one-word patterns: kLanes texts at a time
    for (; p + kLanes <= end; p += kLanes) {
      const Token* texts[kLanes];
      int64_t lengths[kLanes], scores[kLanes];
      for (int lane = 0; lane < kLanes; ++lane) {
        texts[lane] = b.row(columns[p + lane]);
        lengths[lane] = b.length(columns[p + lane]);
      }
      const levenshtein::PatternMasks<Token>* const patterns[kLanes] = {&pattern, &pattern,
                                                                        &pattern, &pattern};
      levenshtein::distances_four_lanes(patterns, texts, lengths, bound, scores);
      for (int lane = 0; lane < kLanes; ++lane) {
        row_out[columns[p + lane]] = capped(scores[lane], bound);
      }
    }
  }
  for (; p < end; ++p) {
    const int64_t j = columns[p];
    row_out[j] = capped(levenshtein::distance(pattern, b.row(j), b.length(j), workspace.plus,
                                              workspace.minus, bound),
                        bound);
  }
}

// The columns of a grid in order of length (stable), with their lengths:
// the four lanes of a row then end together, and the columns a row can
// reach under a cutoff are one run of them.
class ColumnsByLength {
 public:
  template <typename Token>
  ColumnsByLength(Sequences<Token> b, int64_t batch_b)
      : columns_(static_cast<size_t>(batch_b)), lengths_(static_cast<size_t>(batch_b)) {
    std::iota(columns_.begin(), columns_.end(), 0);
    std::stable_sort(columns_.begin(), columns_.end(),
                     [&](int64_t x, int64_t y) { return b.length(x) < b.length(y); });
    for (size_t p = 0; p < columns_.size(); ++p) {
      lengths_[p] = b.length(columns_[p]);
    }
  }

  const int64_t* columns() const { return columns_.data(); }

  // Positions [first, end) of the columns whose lengths are within `bound`
  // of `length`: the only ones whose distance to it can be <= bound (a
  // length difference alone is a lower bound on the distance).
  std::pair<int64_t, int64_t> reach(int64_t length, int64_t bound) const {
    const auto position = [&](auto found) {
      return static_cast<int64_t>(found - lengths_.begin());
    };
    const int64_t shortest = length - std::min(bound, length);
    const int64_t longest = bound >= levenshtein::kNoCutoff ? INT64_MAX : length + bound;
    return {position(std::lower_bound(lengths_.begin(), lengths_.end(), shortest)),
            position(std::upper_bound(lengths_.begin(), lengths_.end(), longest))};
  }

 private:
  std::vector<int64_t> columns_;
  std::vector<int64_t> lengths_;
};

template <typename Token>
void edit_distance_grid(Sequences<Token> a, int64_t batch_a, Sequences<Token> b, int64_t batch_b,
                        int64_t bound, int64_t* out) {
  const ColumnsByLength by_length(b, batch_b);
  const int64_t* columns = by_length.columns();
  // One flat index per grid cell, so chunks stay balanced whatever the shape.
  // Each a[i] is the pattern of its whole row: its masks are built once per
  // row a chunk touches, then reused for every b[j].
  parallel_for(0, batch_a * batch_b, grain_for(kWordStepNs * word_steps(a.width, b.width)),
               [&](int64_t first, int64_t last) {
                 BorrowedWorkspace<Token> workspace;
                 for (int64_t cell = first; cell < last;) {
                   const int64_t i = cell / batch_b;
                   const int64_t row_end = std::min(last, (i + 1) * batch_b);
                   int64_t* row_out = out + i * batch_b;
                   const int64_t p_first = cell - i * batch_b, p_end = row_end - i * batch_b;
                   // Under a cutoff the columns out of this row's reach are settled by
                   // the length difference alone.
                   const auto [in_reach_first, in_reach_end] = by_length.reach(a.length(i), bound);
                   const int64_t compute_first = std::clamp(in_reach_first, p_first, p_end);
                   const int64_t compute_end = std::clamp(in_reach_end, compute_first, p_end);
                   for (int64_t p = p_first; p < compute_first; ++p) {
                     row_out[columns[p]] = bound + 1;
                   }
                   for (int64_t p = compute_end; p < p_end; ++p) {
                     row_out[columns[p]] = bound + 1;
                   }
                   if (compute_first < compute_end) {
                     workspace->pattern.prepare(a.row(i), a.length(i));
                     grid_row(*workspace, b, columns, compute_first, compute_end, bound, row_out);
                   }
                   cell = row_end;
                 }
               });
}

// One side, read for the kernel: contiguous tokens and its lengths, padded
// or packed (then with offsets, each sequence's start).
class SideOnCpu {
 public:
  SideOnCpu(const char* op, const at::Tensor& seqs, const char* name,
            const std::optional<at::Tensor>& lengths, const char* lengths_name)
      : tokens_(contiguous_on_pool(seqs, op, name)),
        lengths_(
            op, lengths, lengths_name, packed(seqs) ? seqs.numel() : seqs.size(1),
            (std::string(packed(seqs) ? "the size of '" : "the width of '") + name + "'").c_str()) {
    if (!packed(seqs)) {
      width_ = seqs.size(1);
      return;
    }
    const int64_t count = lengths->size(0);
    offsets_.resize(static_cast<size_t>(count) + 1, 0);
    for (int64_t i = 0; i < count; ++i) {
      offsets_[i + 1] = offsets_[i] + lengths_[i];
      width_ = std::max(width_, lengths_[i]);
    }
    TORCH_CHECK_VALUE(offsets_[count] <= seqs.numel(), op, ": the lengths in '", lengths_name,
                      "' add up to ", offsets_[count], " but '", name, "' holds ", seqs.numel(),
                      " tokens");
  }

  template <typename Token>
  Sequences<Token> sequences() const {
    return {tokens_.const_data_ptr<Token>(), &lengths_, width_,
            offsets_.empty() ? nullptr : offsets_.data()};
  }

 private:
  at::Tensor tokens_;
  ItemLengths lengths_;
  int64_t width_ = 0;
  std::vector<int64_t> offsets_;  // packed only
};

// Makes every input contiguous once, before the fan-out, on our own pool
// (ATen's copy could use OpenMP, unsafe in a forked child, or, inside a
// worker, start threads of its own), then calls launch(a_seqs, b_seqs) with
// the sides read as their token type.
template <typename Launch>
void with_sides(const char* op, const at::Tensor& a, const at::Tensor& b,
                const std::optional<at::Tensor>& a_lengths,
                const std::optional<at::Tensor>& b_lengths, Launch launch) {
  const SideOnCpu a_side(op, a, "a", a_lengths, "a_lengths");
  const SideOnCpu b_side(op, b, "b", b_lengths, "b_lengths");
  // Narrow tokens (bytes; code points below 2**16 as int16 bits) halve or
  // quarter the memory a batch of text takes; only token equality matters.
  AT_DISPATCH_V2(a.scalar_type(), "mt::edit_distance", AT_WRAP([&] {
                   launch(a_side.sequences<scalar_t>(), b_side.sequences<scalar_t>());
                 }),
                 at::kByte, at::kShort, at::kInt, at::kLong);
}

// with_sides() for an op with an int64 output of a known shape (checked to
// fit in memory first): launch(a_seqs, b_seqs, out).
template <typename Launch>
at::Tensor run_on_cpu(const char* op, const at::Tensor& a, const at::Tensor& b,
                      const std::optional<at::Tensor>& a_lengths,
                      const std::optional<at::Tensor>& b_lengths, at::IntArrayRef out_shape,
                      Launch launch) {
  check_allocation(op, "the output", out_shape, sizeof(int64_t));
  at::Tensor out = at::empty(out_shape, a.options().dtype(at::kLong));
  with_sides(op, a, b, a_lengths, b_lengths,
             [&](auto a_seqs, auto b_seqs) { launch(a_seqs, b_seqs, out.data_ptr<int64_t>()); });
  return out;
}

}  // namespace mt::edit_distance_family
