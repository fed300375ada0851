// mt::edit_distance and mt::edit_distance_pairwise: Levenshtein distance
// (unit insert / delete / substitute) between padded integer sequences.
//
//   a [B, La] uint8|int16|int32|int64, a_lengths [B] int64 (optional): sequence i is
//                          a[i, :a_lengths[i]] (without lengths, the whole row)
//   or a [N] (packed):     the sequences one after another, a_lengths [B]
//                          required; sequence i starts after the i before it
//   b [B, Lb] or [N], same dtype, b_lengths [B] int64 (likewise)
//   max_distance           int (optional): a cutoff k >= 0; a distance above
//                          it is reported as k + 1, and work that cannot end
//                          within it is skipped
//   edit_distance          -> int64 [B]       distance(a_i, b_i)
//   edit_distance_pairwise -> int64 [Ba, Bb]  distance(a_i, b_j) for every i, j
//   edit_distance_join     -> int64 (i [P], j [P], distance [P]): only the pairs
//                          within max_distance (required), sorted by i then j
//
// edit_distance_text and edit_distance_pairwise_text take str[] (UTF-8) and
// compare Unicode code points: strings inside TorchScript and from C++.
#include <ATen/ATen.h>
#include <ATen/Dispatch_v2.h>
#include <torch/library.h>

#include <algorithm>
#include <array>
#include <numeric>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <torch_mt/parallel.h>
#include "levenshtein_bitparallel.h"

namespace mt {
namespace {

// ---- checks ---------------------------------------------------------------

// A side is padded (a [B, L], lengths optional) or packed (a 1-D tensor of
// the sequences one after another, lengths [B] required): the form a list
// of strings converts to without building a padded tensor.
bool packed(const at::Tensor& seqs) { return seqs.dim() == 1; }

// The side's batch size: rows of a padded side, lengths of a packed one.
c10::SymInt batch_of(const at::Tensor& seqs, const std::optional<at::Tensor>& lengths) {
  return packed(seqs) ? lengths->sym_size(0) : seqs.sym_size(0);
}

// Shape, dtype and device checks, shared by the CPU and Meta kernels so that
// torch.compile reports the same errors as eager mode.
void check_sequences(const char* op, const at::Tensor& seqs, const char* seqs_name,
                     const std::optional<at::Tensor>& lengths, const char* lengths_name) {
  TORCH_CHECK(seqs.dim() == 2 || seqs.dim() == 1, op, ": argument '", seqs_name,
              "' must be a 2-D tensor [B, L] (padded) or 1-D (packed, with lengths), got ",
              seqs.dim(), "-D");
  const at::ScalarType dtype = seqs.scalar_type();
  TORCH_CHECK(dtype == at::kByte || dtype == at::kShort || dtype == at::kInt || dtype == at::kLong,
              op, ": argument '", seqs_name,
              "' must be uint8, int16, int32 or int64 token ids, got ", dtype_name(dtype));
  TORCH_CHECK(!packed(seqs) || lengths.has_value(), op, ": argument '", lengths_name,
              "' is required when '", seqs_name, "' is 1-D (packed sequences)");
  if (packed(seqs)) {
    check_dim(op, *lengths, lengths_name, 1, "[B]");
    check_dtype(op, *lengths, lengths_name, at::kLong);
    return;
  }
  const std::string batch_what = std::string("the batch size of '") + seqs_name + "' is";
  check_lengths_argument(op, lengths, lengths_name, seqs.sym_size(0), batch_what.c_str());
}

void check_arguments(const char* op, Kernel kernel, bool same_batch, const at::Tensor& a,
                     const at::Tensor& b, const std::optional<at::Tensor>& a_lengths,
                     const std::optional<at::Tensor>& b_lengths) {
  check_devices(op, kernel,
                {{&a, "a"},
                 {&b, "b"},
                 {if_present(a_lengths), "a_lengths"},
                 {if_present(b_lengths), "b_lengths"}});
  check_sequences(op, a, "a", a_lengths, "a_lengths");
  check_sequences(op, b, "b", b_lengths, "b_lengths");
  TORCH_CHECK(a.scalar_type() == b.scalar_type(), op,
              ": arguments 'a' and 'b' must have the same dtype, got ", dtype_name(a.scalar_type()),
              " and ", dtype_name(b.scalar_type()));
  if (same_batch) {
    // Named by the tensor that carries b's batch: its rows, or its lengths.
    check_size(op, packed(b) ? *b_lengths : b, packed(b) ? "b_lengths" : "b", 0,
               batch_of(a, a_lengths), "the batch size of 'a' is");
  }
}

// The kernels' bound for a max_distance argument: kNoCutoff for none, and
// no more than it for huge ones (any distance is far below it anyway).
int64_t cutoff_bound(const char* op, std::optional<int64_t> max_distance) {
  if (!max_distance.has_value()) {
    return levenshtein::kNoCutoff;
  }
  TORCH_CHECK(*max_distance >= 0, op, ": argument 'max_distance' must be >= 0, got ",
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
  // one-word pairs waiting for a lane.
  std::array<levenshtein::PatternMasks<Token>, levenshtein::kLanes> lanes;
  std::vector<TrimmedPair<Token>> one_word;
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
int64_t capped(int64_t distance, int64_t bound) { return std::min(distance, bound + 1); }

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

// Pairs [first, last) of a row-wise batch. Pairs whose pattern fits one word
// (the common case: sequences of up to 64 tokens) run kLanes at a time, each
// lane with its own pattern, in batch order (sorting them by length to end
// lanes together was measured slower: the rows are then read out of memory
// order); the others one by one. Results are exact integers, so the order
// of work never changes them. Distances are capped at bound + 1.
template <typename Token>
void rows_chunk(Workspace<Token>& workspace, Sequences<Token> a, Sequences<Token> b, int64_t first,
                int64_t last, int64_t bound, int64_t* out) {
  constexpr int kLanes = levenshtein::kLanes;
  auto& one_word = workspace.one_word;
  one_word.clear();
  for (int64_t i = first; i < last; ++i) {
    const TrimmedPair<Token> pair = trim(a.row(i), a.length(i), b.row(i), b.length(i), i);
    if (pair.pattern_length <= levenshtein::kWordBits && !settled_by_lengths(pair, bound)) {
      one_word.push_back(pair);
    } else {
      out[i] = trimmed_distance(workspace, pair, bound);
    }
  }
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
    const levenshtein::PatternMasks<Token>* patterns[kLanes];
    const Token* texts[kLanes];
    int64_t text_lengths[kLanes], scores[kLanes];
    for (int lane = 0; lane < kLanes; ++lane) {
      const TrimmedPair<Token>& pair = one_word[next + lane];
      workspace.lanes[lane].prepare(pair.pattern, pair.pattern_length);
      patterns[lane] = &workspace.lanes[lane];
      texts[lane] = pair.text;
      text_lengths[lane] = pair.text_length;
    }
    levenshtein::distances_four_lanes(patterns, texts, text_lengths, bound, scores);
    for (int lane = 0; lane < kLanes; ++lane) {
      out[one_word[next + lane].index] = capped(scores[lane], bound);
    }
  }
  for (; next < one_word.size(); ++next) {
    out[one_word[next].index] = trimmed_distance(workspace, one_word[next], bound);
  }
}

// Work of one pair in 64-bit word steps: one per text symbol per pattern block.
int64_t word_steps(int64_t pattern_width, int64_t text_width) {
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

// A pair found by the join: column j of a row, and its distance.
struct ClosePair {
  int64_t column;
  int64_t distance;
};

// The join's pairs of every row i: columns j with distance(a_i, b_j) <= bound
// (and j - i >= diagonal when given), by column. Rows in parallel, each
// computing only the columns within its reach; a row's distances go to
// per-thread scratch, never to a [Ba, Bb] grid.
template <typename Token>
std::vector<std::vector<ClosePair>> edit_distance_join_rows(Sequences<Token> a, int64_t batch_a,
                                                            Sequences<Token> b, int64_t batch_b,
                                                            int64_t bound,
                                                            std::optional<int64_t> diagonal) {
  const ColumnsByLength by_length(b, batch_b);
  std::vector<std::vector<ClosePair>> pairs(static_cast<size_t>(batch_a));
  const int64_t row_ns = kWordStepNs * word_steps(a.width, b.width) * std::max<int64_t>(batch_b, 1);
  parallel_for(0, batch_a, grain_for(row_ns), [&](int64_t first, int64_t last) {
    BorrowedWorkspace<Token> workspace;
    thread_local std::vector<int64_t> row_out;  // indexed by column, like a grid row
    row_out.resize(static_cast<size_t>(batch_b));
    for (int64_t i = first; i < last; ++i) {
      const auto [reach_first, reach_end] = by_length.reach(a.length(i), bound);
      if (reach_first >= reach_end) {
        continue;
      }
      workspace->pattern.prepare(a.row(i), a.length(i));
      grid_row(*workspace, b, by_length.columns(), reach_first, reach_end, bound, row_out.data());
      auto& row_pairs = pairs[static_cast<size_t>(i)];
      for (int64_t p = reach_first; p < reach_end; ++p) {
        const int64_t j = by_length.columns()[p];
        if (row_out[j] <= bound && (!diagonal.has_value() || j - i >= *diagonal)) {
          row_pairs.push_back({j, row_out[j]});
        }
      }
      std::sort(row_pairs.begin(), row_pairs.end(),
                [](const ClosePair& x, const ClosePair& y) { return x.column < y.column; });
    }
  });
  return pairs;
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
    TORCH_CHECK(offsets_[count] <= seqs.numel(), op, ": the lengths in '", lengths_name,
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

// ---- text: str[] in UTF-8, compared by code point --------------------------

// Appends the code points of `text` to `out`. Strings from Python and
// TorchScript are valid UTF-8; a C++ caller's bytes may not be, and get an
// error naming the argument and item instead of a guess.
void decode_utf8(const char* op, const std::string& text, const char* name, int64_t item,
                 std::vector<int32_t>& out) {
  const auto* byte = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = byte + text.size();
  const auto* begin = byte;
  while (byte < end) {
    const auto* start = byte;
    const unsigned lead = *byte++;
    if (lead < 0x80) {  // ASCII, the common case
      out.push_back(static_cast<int32_t>(lead));
      continue;
    }
    const int extra = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : -1;
    bool valid = extra > 0 && lead < 0xF5 && end - byte >= extra;
    uint32_t code = valid ? lead & (0x3F >> extra) : 0;
    for (int k = 0; valid && k < extra; ++k, ++byte) {
      valid = (*byte & 0xC0) == 0x80;
      code = (code << 6) | (*byte & 0x3F);
    }
    // Overlong forms and values past U+10FFFF are not UTF-8. (Surrogates are
    // kept: Python's surrogatepass writes them, and they are code points.)
    constexpr uint32_t kSmallest[] = {0, 0x80, 0x800, 0x10000};
    valid = valid && code >= kSmallest[extra] && code <= 0x10FFFF;
    TORCH_CHECK(valid, op, ": ", name, "[", item, "] is not valid UTF-8 (the character at byte ",
                start - begin, ")");
    out.push_back(static_cast<int32_t>(code));
  }
}

// Every string of `texts` decoded into one packed buffer, strings in
// parallel: code points of string i at values[offsets[i], offsets[i + 1]).
struct PackedText {
  std::vector<int32_t> values;
  std::vector<int64_t> offsets;
  int64_t longest = 0;

  PackedText(const char* op, const std::vector<std::string>& texts, const char* name)
      : offsets(texts.size() + 1, 0) {
    const auto count = static_cast<int64_t>(texts.size());
    std::vector<std::vector<int32_t>> decoded(texts.size());
    ItemErrors errors;
    parallel_for(0, count, grain_for(kDecodeByteNs * 64), [&](int64_t first, int64_t last) {
      for (int64_t i = first; i < last; ++i) {
        errors.run(i, [&] { decode_utf8(op, texts[i], name, i, decoded[i]); });
      }
    });
    errors.rethrow();
    for (int64_t i = 0; i < count; ++i) {
      offsets[i + 1] = offsets[i] + static_cast<int64_t>(decoded[i].size());
      longest = std::max<int64_t>(longest, static_cast<int64_t>(decoded[i].size()));
    }
    values.reserve(static_cast<size_t>(offsets[count]));
    for (const auto& codes : decoded) {
      values.insert(values.end(), codes.begin(), codes.end());
    }
  }

  Sequences<int32_t> sequences() const { return {values.data(), nullptr, longest, offsets.data()}; }

  // One decoded byte costs about 2 ns here.
  static constexpr int64_t kDecodeByteNs = 2;
};

int64_t longest_bytes(const std::vector<std::string>& texts) {
  size_t longest = 0;
  for (const auto& text : texts) {
    longest = std::max(longest, text.size());
  }
  return static_cast<int64_t>(longest);
}

constexpr const char* kEditDistanceText = "mt::edit_distance_text";
constexpr const char* kPairwiseText = "mt::edit_distance_pairwise_text";

// Pairs in parallel, each decoded into this thread's buffers just before its
// distance: no batch-sized buffer to allocate and fill first.
at::Tensor edit_distance_text_cpu(const std::vector<std::string>& a,
                                  const std::vector<std::string>& b,
                                  std::optional<int64_t> max_distance) {
  TORCH_CHECK(a.size() == b.size(), kEditDistanceText, ": argument 'b' has ", b.size(),
              " strings but 'a' has ", a.size());
  const auto batch = static_cast<int64_t>(a.size());
  at::Tensor out = at::empty({batch}, at::kLong);
  int64_t* distances = out.data_ptr<int64_t>();
  const int64_t bound = cutoff_bound(kEditDistanceText, max_distance);
  const int64_t a_bytes = longest_bytes(a), b_bytes = longest_bytes(b);
  const int64_t steps = word_steps(std::min(a_bytes, b_bytes), std::max(a_bytes, b_bytes));
  ItemErrors errors;
  parallel_for(0, batch, grain_for(kWordStepNs * steps), [&](int64_t first, int64_t last) {
    BorrowedWorkspace<int32_t> workspace;
    thread_local std::vector<int32_t> x, y;
    for (int64_t i = first; i < last; ++i) {
      errors.run(i, [&] {
        workspace->pattern.release();  // it reads the previous pair's x or y
        x.clear(), y.clear();
        decode_utf8(kEditDistanceText, a[i], "a", i, x);
        decode_utf8(kEditDistanceText, b[i], "b", i, y);
        distances[i] = pair_distance(*workspace, x.data(), static_cast<int64_t>(x.size()), y.data(),
                                     static_cast<int64_t>(y.size()), bound);
      });
    }
  });
  errors.rethrow();
  return out;
}

at::Tensor edit_distance_pairwise_text_cpu(const std::vector<std::string>& a,
                                           const std::vector<std::string>& b,
                                           std::optional<int64_t> max_distance) {
  const int64_t bound = cutoff_bound(kPairwiseText, max_distance);
  const auto batch_a = static_cast<int64_t>(a.size()), batch_b = static_cast<int64_t>(b.size());
  check_allocation(kPairwiseText, "the output", {batch_a, batch_b}, sizeof(int64_t));
  const PackedText a_text(kPairwiseText, a, "a"), b_text(kPairwiseText, b, "b");
  at::Tensor out = at::empty({batch_a, batch_b}, at::kLong);
  edit_distance_grid(a_text.sequences(), batch_a, b_text.sequences(), batch_b, bound,
                     out.data_ptr<int64_t>());
  return out;
}

// ---- operators --------------------------------------------------------------

constexpr const char* kEditDistance = "mt::edit_distance";
constexpr const char* kPairwise = "mt::edit_distance_pairwise";

at::Tensor edit_distance_cpu(const at::Tensor& a, const at::Tensor& b,
                             const std::optional<at::Tensor>& a_lengths,
                             const std::optional<at::Tensor>& b_lengths,
                             std::optional<int64_t> max_distance) {
  check_arguments(kEditDistance, Kernel::kCpu, /*same_batch=*/true, a, b, a_lengths, b_lengths);
  const int64_t bound = cutoff_bound(kEditDistance, max_distance);
  const int64_t batch = batch_of(a, a_lengths).expect_int();
  return run_on_cpu(kEditDistance, a, b, a_lengths, b_lengths, {batch},
                    [&](auto a_seqs, auto b_seqs, int64_t* out) {
                      edit_distance_rows(a_seqs, b_seqs, batch, bound, out);
                    });
}

at::Tensor edit_distance_pairwise_cpu(const at::Tensor& a, const at::Tensor& b,
                                      const std::optional<at::Tensor>& a_lengths,
                                      const std::optional<at::Tensor>& b_lengths,
                                      std::optional<int64_t> max_distance) {
  check_arguments(kPairwise, Kernel::kCpu, /*same_batch=*/false, a, b, a_lengths, b_lengths);
  const int64_t bound = cutoff_bound(kPairwise, max_distance);
  const int64_t batch_a = batch_of(a, a_lengths).expect_int();
  const int64_t batch_b = batch_of(b, b_lengths).expect_int();
  return run_on_cpu(kPairwise, a, b, a_lengths, b_lengths, {batch_a, batch_b},
                    [&](auto a_seqs, auto b_seqs, int64_t* out) {
                      edit_distance_grid(a_seqs, batch_a, b_seqs, batch_b, bound, out);
                    });
}

constexpr const char* kJoin = "mt::edit_distance_join";

// The pairs (i, j) with distance(a_i, b_j) <= max_distance, and j - i >=
// diagonal when given (as torch.triu's diagonal: 1 keeps j > i), sorted by
// i then j: three int64 [P] tensors. The shape depends on the data, so
// torch.compile uses a Python fake (torch_mt/sequences.py).
std::tuple<at::Tensor, at::Tensor, at::Tensor> edit_distance_join_cpu(
    const at::Tensor& a, const at::Tensor& b, int64_t max_distance,
    const std::optional<at::Tensor>& a_lengths, const std::optional<at::Tensor>& b_lengths,
    std::optional<int64_t> diagonal) {
  check_arguments(kJoin, Kernel::kCpu, /*same_batch=*/false, a, b, a_lengths, b_lengths);
  const int64_t bound = cutoff_bound(kJoin, max_distance);
  const int64_t batch_a = batch_of(a, a_lengths).expect_int();
  const int64_t batch_b = batch_of(b, b_lengths).expect_int();
  std::vector<std::vector<ClosePair>> pairs;
  with_sides(kJoin, a, b, a_lengths, b_lengths, [&](auto a_seqs, auto b_seqs) {
    pairs = edit_distance_join_rows(a_seqs, batch_a, b_seqs, batch_b, bound, diagonal);
  });
  int64_t count = 0;
  for (const auto& row : pairs) {
    count += static_cast<int64_t>(row.size());
  }
  const auto options = a.options().dtype(at::kLong);
  at::Tensor rows = at::empty({count}, options), columns = at::empty({count}, options),
             distances = at::empty({count}, options);
  int64_t* row_out = rows.data_ptr<int64_t>();
  int64_t* column_out = columns.data_ptr<int64_t>();
  int64_t* distance_out = distances.data_ptr<int64_t>();
  for (int64_t i = 0, at = 0; i < batch_a; ++i) {
    for (const ClosePair& pair : pairs[static_cast<size_t>(i)]) {
      row_out[at] = i;
      column_out[at] = pair.column;
      distance_out[at] = pair.distance;
      ++at;
    }
  }
  return {rows, columns, distances};
}

// Meta kernels: shapes only, with symbolic sizes so dynamic-shape graphs work.
at::Tensor edit_distance_meta(const at::Tensor& a, const at::Tensor& b,
                              const std::optional<at::Tensor>& a_lengths,
                              const std::optional<at::Tensor>& b_lengths,
                              std::optional<int64_t> max_distance) {
  check_arguments(kEditDistance, Kernel::kMeta, /*same_batch=*/true, a, b, a_lengths, b_lengths);
  (void)cutoff_bound(kEditDistance, max_distance);
  return at::empty_symint({batch_of(a, a_lengths)}, a.options().dtype(at::kLong));
}

at::Tensor edit_distance_pairwise_meta(const at::Tensor& a, const at::Tensor& b,
                                       const std::optional<at::Tensor>& a_lengths,
                                       const std::optional<at::Tensor>& b_lengths,
                                       std::optional<int64_t> max_distance) {
  check_arguments(kPairwise, Kernel::kMeta, /*same_batch=*/false, a, b, a_lengths, b_lengths);
  (void)cutoff_bound(kPairwise, max_distance);
  return at::empty_symint({batch_of(a, a_lengths), batch_of(b, b_lengths)},
                          a.options().dtype(at::kLong));
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def(
      "edit_distance(Tensor a, Tensor b, Tensor? a_lengths=None, Tensor? b_lengths=None, "
      "int? max_distance=None) -> Tensor");
  m.def(
      "edit_distance_pairwise(Tensor a, Tensor b, Tensor? a_lengths=None, "
      "Tensor? b_lengths=None, int? max_distance=None) -> Tensor");
  m.def(
      "edit_distance_join(Tensor a, Tensor b, int max_distance, Tensor? a_lengths=None, "
      "Tensor? b_lengths=None, int? diagonal=None) -> (Tensor, Tensor, Tensor)");
  m.def("edit_distance_text(str[] a, str[] b, int? max_distance=None) -> Tensor");
  m.def("edit_distance_pairwise_text(str[] a, str[] b, int? max_distance=None) -> Tensor");
}

// CompositeExplicitAutograd rather than CPU: a CUDA tensor then reaches our
// checks and gets "must be a CPU tensor" instead of a missing-kernel error.
TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("edit_distance", &edit_distance_cpu);
  m.impl("edit_distance_pairwise", &edit_distance_pairwise_cpu);
  m.impl("edit_distance_join", &edit_distance_join_cpu);
  // No tensor argument: the dispatcher has no device to choose, and runs this
  // kernel. torch.compile uses the Python fakes (torch_mt/sequences.py).
  m.impl("edit_distance_text", &edit_distance_text_cpu);
  m.impl("edit_distance_pairwise_text", &edit_distance_pairwise_text_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) {
  m.impl("edit_distance", &edit_distance_meta);
  m.impl("edit_distance_pairwise", &edit_distance_pairwise_meta);
}

}  // namespace mt
