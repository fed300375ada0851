// What the edit-distance operators share: the checks of a side (padded or
// packed tokens with lengths), the batch as the kernels read it, and the
// row-wise kernel (over pair_distances.h) and grid kernels (over the
// bit-parallel loops of levenshtein_bitparallel.h). Included by
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
#include "four_lanes.h"
#include "levenshtein_bitparallel.h"
#include "pair_distances.h"

namespace mt::levenshtein {

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

// Pairs [first, last) of a row-wise batch, capped at bound + 1, on the
// instruction set of `isa` (a tag from simd::dispatch()).
template <class Isa, typename Token>
MT_SIMD_INLINE void rows_chunk(Isa isa, Workspace<Token>& workspace, Sequences<Token> a,
                               Sequences<Token> b, int64_t first, int64_t last, int64_t bound,
                               int64_t* out) {
  if constexpr (sizeof(Token) == 1) {
    BytePairDistances<Isa> pairs(workspace, bound, out);
    for (int64_t i = first; i < last; ++i) {
      pairs.push(trim_bytes(isa, a.row(i), a.length(i), b.row(i), b.length(i), i));
    }
    pairs.finish();
    return;
  }
  auto& pairs = workspace.pairs;
  pairs.clear();
  for (int64_t i = first; i < last; ++i) {
    pairs.push_back(trim(a.row(i), a.length(i), b.row(i), b.length(i), i));
  }
  trimmed_pairs_distances(isa, workspace, pairs, bound, out);
}

template <typename Token>
void edit_distance_rows(Sequences<Token> a, Sequences<Token> b, int64_t batch, int64_t bound,
                        int64_t* out) {
  const int64_t steps = word_steps(std::min(a.width, b.width), std::max(a.width, b.width));
  const simd::Isa chosen = simd::isa();
  parallel_for(0, batch, grain_for(kWordStepNs * steps), [&](int64_t first, int64_t last) {
    BorrowedWorkspace<Token> workspace;
    simd::dispatch(chosen,
                   [&](auto isa) { rows_chunk(isa, *workspace, a, b, first, last, bound, out); });
  });
}

// Positions [first, end) of one grid row against the prepared pattern:
// position p is column `columns[p]` of `row_out`. Columns come in order of
// length, so the kLanes texts run in lockstep waste few steps. Distances
// are capped at bound + 1. Isa: a tag from simd::dispatch().
template <class Isa, typename Token>
MT_SIMD_INLINE void grid_row(Isa isa, Workspace<Token>& workspace, Sequences<Token> b,
                             const int64_t* columns, int64_t first, int64_t end, int64_t bound,
                             int64_t* row_out) {
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
      levenshtein::distances_four_lanes(isa, patterns, texts, lengths, bound, scores);
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

#if defined(__x86_64__)
// Grid cells [first, last) of the rows that fit ByteGridLanes, in groups
// of kGroup (`lane_rows`: their indices, in order), numbered group by group
// as group * batch_b + column. Each group's table is built once per chunk.
template <class Isa>
MT_SIMD_INLINE void byte_grid_lanes(Isa isa, Workspace<uint8_t>& workspace, Sequences<uint8_t> a,
                                    const std::vector<int64_t>& lane_rows, Sequences<uint8_t> b,
                                    int64_t batch_b, int64_t first, int64_t last, int64_t bound,
                                    int64_t* out) {
  constexpr int kGroup = ByteGridLanes::kGroup;
  auto& lanes = workspace.grid_lanes;
  for (int64_t cell = first; cell < last;) {
    const int64_t group = cell / batch_b;
    const int64_t column_end = std::min(last - group * batch_b, batch_b);
    const auto group_first = static_cast<size_t>(group * kGroup);
    const int count = static_cast<int>(std::min<size_t>(kGroup, lane_rows.size() - group_first));
    const uint8_t* rows[kGroup];
    int64_t lengths[kGroup];
    for (int lane = 0; lane < count; ++lane) {
      rows[lane] = a.row(lane_rows[group_first + lane]);
      lengths[lane] = a.length(lane_rows[group_first + lane]);
    }
    lanes.prepare(rows, lengths, count);
    int64_t distances[kGroup];
    for (int64_t j = cell - group * batch_b; j < column_end; ++j) {
      lanes.distances(isa, b.row(j), b.length(j), distances);
      for (int lane = 0; lane < count; ++lane) {
        out[lane_rows[group_first + lane] * batch_b + j] = capped(distances[lane], bound);
      }
    }
    lanes.release();
    cell = group * batch_b + column_end;
  }
}
#endif

// The grid's cells of `rows` (row indices), one pattern at a time:
// cells [first, last) numbered r * batch_b + position, position p being
// column columns[p] (by length).
template <class Isa, typename Token>
MT_SIMD_INLINE void grid_one_pattern(Isa isa, Workspace<Token>& workspace, Sequences<Token> a,
                                     const std::vector<int64_t>& rows, Sequences<Token> b,
                                     int64_t batch_b, const ColumnsByLength& by_length,
                                     int64_t first, int64_t last, int64_t bound, int64_t* out) {
  const int64_t* columns = by_length.columns();
  for (int64_t cell = first; cell < last;) {
    const int64_t r = cell / batch_b;
    const int64_t i = rows[static_cast<size_t>(r)];
    const int64_t row_end = std::min(last, (r + 1) * batch_b);
    int64_t* row_out = out + i * batch_b;
    const int64_t p_first = cell - r * batch_b, p_end = row_end - r * batch_b;
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
      workspace.pattern.prepare(a.row(i), a.length(i));
      grid_row(isa, workspace, b, columns, compute_first, compute_end, bound, row_out);
    }
    cell = row_end;
  }
}

template <typename Token>
void edit_distance_grid(Sequences<Token> a, int64_t batch_a, Sequences<Token> b, int64_t batch_b,
                        int64_t bound, int64_t* out) {
  const ColumnsByLength by_length(b, batch_b);
  const simd::Isa chosen = simd::isa();
  // Rows of bytes up to 64 long go to the grid lanes on AVX2 and AVX-512,
  // unless a cutoff lets the one-pattern loops skip columns and stop early.
  std::vector<int64_t> lane_rows, other_rows;
  for (int64_t i = 0; i < batch_a; ++i) {
#if defined(__x86_64__)
    if (sizeof(Token) == 1 && chosen != simd::Isa::portable && bound >= kNoCutoff &&
        ByteGridLanes::fits(a.length(i))) {
      lane_rows.push_back(i);
      continue;
    }
#endif
    other_rows.push_back(i);
  }
#if defined(__x86_64__)
  if constexpr (sizeof(Token) == 1) {
    const auto groups = static_cast<int64_t>((lane_rows.size() + ByteGridLanes::kGroup - 1) /
                                             ByteGridLanes::kGroup);
    // A cell: kGroup pairs at about one word step each per text byte.
    parallel_for(0, groups * batch_b, grain_for(kWordStepNs * std::max<int64_t>(1, b.width)),
                 [&](int64_t first, int64_t last) {
                   BorrowedWorkspace<Token> workspace;
                   simd::dispatch(chosen, [&](auto isa) {
                     if constexpr (decltype(isa)::isa != simd::Isa::portable) {
                       byte_grid_lanes(isa, *workspace, a, lane_rows, b, batch_b, first, last,
                                       bound, out);
                     }
                   });
                 });
  }
#endif
  // One flat index per grid cell, so chunks stay balanced whatever the shape.
  // Each a[i] is the pattern of its whole row: its masks are built once per
  // row a chunk touches, then reused for every b[j].
  const auto other_count = static_cast<int64_t>(other_rows.size());
  parallel_for(0, other_count * batch_b, grain_for(kWordStepNs * word_steps(a.width, b.width)),
               [&](int64_t first, int64_t last) {
                 BorrowedWorkspace<Token> workspace;
                 simd::dispatch(chosen, [&](auto isa) {
                   grid_one_pattern(isa, *workspace, a, other_rows, b, batch_b, by_length, first,
                                    last, bound, out);
                 });
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

}  // namespace mt::levenshtein
