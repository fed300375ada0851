// mt::edit_distance_join: only the pairs within a cutoff, never the grid
// (sides and cutoff as in edit_distance.cpp).
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <torch_mt/parallel.h>
#include "edit_distance_kernels.h"

namespace mt::levenshtein {
namespace {

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
  const simd::Isa chosen = simd::isa();
  parallel_for(0, batch_a, grain_for(row_ns), [&](int64_t first, int64_t last) {
    BorrowedWorkspace<Token> workspace;
    // Indexed by column, like a grid row: per chunk (its size follows the
    // input, so a thread_local would keep the largest ever seen alive).
    std::vector<int64_t> row_out(static_cast<size_t>(batch_b));
    for (int64_t i = first; i < last; ++i) {
      const auto [reach_first, reach_end] = by_length.reach(a.length(i), bound);
      if (reach_first >= reach_end) {
        continue;
      }
      workspace->pattern.prepare(a.row(i), a.length(i));
      simd::dispatch(chosen, [&](auto isa) {
        grid_row(isa, *workspace, b, by_length.columns(), reach_first, reach_end, bound,
                 row_out.data());
      });
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

constexpr const char* kJoin = "mt::edit_distance_join";

// The pairs (i, j) with distance(a_i, b_j) <= max_distance, and j - i >=
// diagonal when given (as torch.triu's diagonal: 1 keeps j > i), sorted by
// i then j: three int64 [P] tensors. The shape depends on the data, so
// torch.compile uses a Python fake (torch_mt/levenshtein/fakes.py).
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

// mt::_edit_distance_join_checks: the join's argument checks alone, so that
// the Python fake (torch_mt/levenshtein/fakes.py, which only adds the
// data-dependent size) and the similarity join's plan raise the op's own
// errors without restating them. On CPU tensors it also reads every length
// (its range, and a packed side's total), as the op does.
void edit_distance_join_checks_cpu(const at::Tensor& a, const at::Tensor& b, int64_t max_distance,
                                   const std::optional<at::Tensor>& a_lengths,
                                   const std::optional<at::Tensor>& b_lengths,
                                   std::optional<int64_t> /*diagonal*/) {
  check_arguments(kJoin, Kernel::kCpu, /*same_batch=*/false, a, b, a_lengths, b_lengths);
  (void)cutoff_bound(kJoin, max_distance);
  const SideOnCpu a_side(kJoin, a, "a", a_lengths, "a_lengths");
  const SideOnCpu b_side(kJoin, b, "b", b_lengths, "b_lengths");
}

void edit_distance_join_checks_meta(const at::Tensor& a, const at::Tensor& b, int64_t max_distance,
                                    const std::optional<at::Tensor>& a_lengths,
                                    const std::optional<at::Tensor>& b_lengths,
                                    std::optional<int64_t> /*diagonal*/) {
  check_arguments(kJoin, Kernel::kMeta, /*same_batch=*/false, a, b, a_lengths, b_lengths);
  (void)cutoff_bound(kJoin, max_distance);
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def(
      "edit_distance_join(Tensor a, Tensor b, int max_distance, Tensor? a_lengths=None, "
      "Tensor? b_lengths=None, int? diagonal=None) -> (Tensor, Tensor, Tensor)");
  m.def(
      "_edit_distance_join_checks(Tensor a, Tensor b, int max_distance, Tensor? a_lengths=None, "
      "Tensor? b_lengths=None, int? diagonal=None) -> ()");
}

// The output's size depends on the data: torch.compile uses a Python fake,
// which calls the check op's Meta kernel for the argument checks.
TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("edit_distance_join", &edit_distance_join_cpu);
  m.impl("_edit_distance_join_checks", &edit_distance_join_checks_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) {
  m.impl("_edit_distance_join_checks", &edit_distance_join_checks_meta);
}

}  // namespace mt::levenshtein
