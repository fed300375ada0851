// mt::linear_sum_assignment: for every batch item, the assignment of rows to
// columns of minimal (or maximal) total cost, as scipy.optimize.linear_sum_assignment.
//
//   cost      [B, N, M] any real dtype (floating, integer, bool), solved in
//             float64; +inf marks a forbidden pair (-inf when maximizing)
//   n_lengths [B] int64, optional: item b has the first n_lengths[b] rows
//   m_lengths [B] int64, optional: ... and the first m_lengths[b] columns
//   maximize  find the assignment of maximal total cost instead
//   cost_limit  optional: implicit rejection as lap.lapjv(cost, extend_cost=True,
//             cost_limit=L) defines it: any row and any column may stay
//             unassigned, at L/2 each, so a pair is kept only where it pays
//             (the pairs minimise the sum of cost - L over the pairs kept)
//   -> row_ind, col_ind int64 [B, min(N, M)]: item b's pairs, rows ascending,
//      padded with -1 past min(n_b, m_b) (past its kept pairs with cost_limit)
//
// Each item is solved twice over only when its optimum is tied:
//   1. candidate_pairs.h solves square and near-square items on about the 16
//      cheapest entries of each row (sparse_rows.h). A tall item, transposed
//      as it is loaded (item_load.h), has its rows' lows from that pass and
//      gets the claim start (jv_start.h): each row takes its lowest column,
//      row reduction and searches settle the rows that lost it. Other items,
//      and those these fail, get Jonker and Volgenant's dense start
//      (jv_start.h) and shortest augmenting paths (shortest_paths.h).
//   2. unique_optimum.h reads the entries with the optimal duals this
//      leaves (every row, or after the claim start only the rows whose duals
//      moved, the others being known): when none has a negative reduced cost
//      and no other assignment is optimal (within a tolerance far above
//      rounding), it is the one SciPy returns too, and the answer.
//   3. Otherwise (ties: integer costs, repeated values) the item is solved
//      again as SciPy solves it, rows entering one at a time with columns
//      scanned and reduced costs summed in SciPy's order, so among tied
//      optima both return the same one.
// cost_limit items are solved on the pairs at or below the limit
// (sparse_rejection.h: one scan, the claim start, rejection_check.h), the
// same way. The scans are vectorised on AVX2 with
// the same results as the portable loops. Items fan out over the pool; an
// item's solve is sequential.
#include <ATen/ATen.h>
#include <ATen/Dispatch_v2.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <tuple>
#include <type_traits>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <torch_mt/parallel.h>
#include "candidate_pairs.h"
#include "item_load.h"
#include "jv_start.h"
#include "shortest_paths.h"
#include "sparse_rejection.h"
#include "unique_optimum.h"

namespace mt::assignment {
namespace {

constexpr const char* kOp = "mt::linear_sum_assignment";

// ---- checks ---------------------------------------------------------------

void check_arguments(Kernel kernel, const at::Tensor& cost,
                     const std::optional<at::Tensor>& n_lengths,
                     const std::optional<at::Tensor>& m_lengths, bool maximize,
                     std::optional<double> cost_limit) {
  // Real, not only floating: SciPy accepts integer and bool costs.
  check_cost_batch(kOp, kernel, cost, CostDtypes::kReal, n_lengths, m_lengths);
  if (cost_limit.has_value()) {
    TORCH_CHECK_VALUE(!std::isnan(*cost_limit), kOp, ": cost_limit is NaN");
    TORCH_CHECK_VALUE(*cost_limit >= 0, kOp, ": cost_limit must be >= 0 (got ", *cost_limit, ")");
    TORCH_CHECK_VALUE(!maximize, kOp,
                      ": cost_limit rejects pairs that cost more than it; it has no meaning "
                      "with maximize=True");
  }
}

// Refuses NaN and the wrong infinity in the loaded item `b`. Only SciPy's
// order needs it first: unique_optimum reads every entry and refuses the
// fast answer when it meets one of them.
void check_costs(const Workspace& ws, int64_t entries, int64_t b, bool maximize) {
  for (const double value : c10::ArrayRef<double>(ws.matrix, entries)) {
    TORCH_CHECK_VALUE(!std::isnan(value), kOp, ": cost[", b, "] contains NaN");
    TORCH_CHECK_VALUE(value != -kInf, kOp, ": cost[", b, "] contains ", maximize ? "+inf" : "-inf",
                      "; only ", maximize ? "-inf" : "+inf", " is allowed (a forbidden pair",
                      maximize ? " when maximize=True" : "", ")");
  }
}

// ---- kernel ---------------------------------------------------------------

// The claim start (jv_start.h) and searches for the rest, on an item whose
// rows' lows its load found; the check reads only the rows whose duals
// moved, and those whose two lowest costs are within the tolerance.
template <class Isa>
Optimum solve_from_claims(Isa isa, Workspace& ws, int64_t rows, int64_t cols) {
  if (!claim_start(isa, ws, rows, cols)) {
    return Optimum::kNotProven;
  }
  for (const int64_t row : ws.free_rows) {
    if (!augment_row(isa, ws, cols, row)) {
      return Optimum::kNotProven;
    }
    for (const int64_t moved : ws.visited_rows) {  // the search tree's rows
      mark_touched(ws, moved);
    }
  }
  return unique_optimum(isa, ws, rows, cols, [&](int64_t row, const CheckScale& scale) {
    return ws.row_touched[row] || ws.row_second[row] - ws.row_dual[row] <= scale.tolerance
               ? RowRead::kWhole
               : RowRead::kKnown;
  });
}

// Solves ws.matrix (rows x cols, rows <= cols, entries finite or +inf) into
// ws.col_for_row, with SciPy's assignment: Jonker and Volgenant's start and
// searches when the optimum they reach is unique (then it is SciPy's too),
// else SciPy's own order. False when no assignment avoids the +inf entries.
template <class Isa>
bool solve_assignment(Isa isa, Workspace& ws, int64_t rows, int64_t cols, int64_t b,
                      bool maximize) {
  Optimum fast = Optimum::kNotProven;
  if (candidates_suit(rows, cols)) {
    fast = solve_on_candidates(isa, ws, rows, cols);
  } else if (ws.lows_known) {
    fast = solve_from_claims(isa, ws, rows, cols);
  }
  if (fast == Optimum::kUnique) {
    return true;
  }
  // A tie found on them is a tie of the item (its duals were proven optimal
  // for every entry): straight to SciPy's order.
  if (fast == Optimum::kNotProven && jv_start(isa, ws, rows, cols)) {
    bool assigned = true;
    for (const int64_t row : ws.free_rows) {
      if (!augment_row(isa, ws, cols, row)) {
        assigned = false;
        break;
      }
    }
    if (assigned && unique_optimum(isa, ws, rows, cols) == Optimum::kUnique) {
      return true;
    }
  }
  check_costs(ws, rows * cols, b, maximize);
  return solve_in_scipy_order(isa, ws, rows, cols);
}

// cost_limit's dense form of the loaded rows x cols item: rows x (cols +
// rows) in ws.cost, row i's own reject column cols + i at the limit and the
// other reject columns forbidden (+inf).
void widen_for_rejection(Workspace& ws, int64_t rows, int64_t cols, double limit) {
  const int64_t width = cols + rows;
  if (ws.matrix != ws.cost.data()) {
    ws.cost.assign(ws.matrix, ws.matrix + rows * cols);
  }
  // In place, last row first: a row only moves right, so none is
  // overwritten before it has moved.
  ws.cost.resize(rows * width);
  for (int64_t i = rows - 1; i >= 0; --i) {
    double* out = ws.cost.data() + i * width;
    std::memmove(out, ws.cost.data() + i * cols, cols * sizeof(double));
    std::fill(out + cols, out + width, kInf);
    out[cols + i] = limit;
  }
  ws.matrix = ws.cost.data();
}

// The pairs of a solved item into row_ind/col_ind (already filled with -1),
// rows ascending: ws.col_for_row holds the column of each of the `rows`
// solved rows, the item's columns when `transposed`; solved columns from
// `kept_cols` on are rejections (cost_limit), not pairs.
//
// Which rows have a pair is random (those cost_limit did not reject; half
// of the original rows of a 2:1 tall item), so the pairs are listed without
// a branch into ws.pair_rows/pair_cols first: each candidate is written at
// `pair`, which only a pair moves on (one entry past the last pair is
// written too, hence the room).
void write_pairs(Workspace& ws, int64_t rows, int64_t kept_cols, bool transposed, int64_t* row_ind,
                 int64_t* col_ind) {
  ws.pair_rows.resize(std::max(rows, kept_cols) + 1);
  ws.pair_cols.resize(std::max(rows, kept_cols) + 1);
  int64_t* pair_rows = ws.pair_rows.data();
  int64_t* pair_cols = ws.pair_cols.data();
  int64_t pair = 0;
  if (!transposed) {
    const int64_t* col_of = ws.col_for_row.data();
    for (int64_t i = 0; i < rows; ++i) {
      pair_rows[pair] = i, pair_cols[pair] = col_of[i];
      pair += col_of[i] < kept_cols;
    }
  } else {
    // Solved rows were the item's columns: list the pairs by original row.
    ws.col_for_original_row.assign(kept_cols, -1);
    for (int64_t j = 0; j < rows; ++j) {
      ws.col_for_original_row[ws.col_for_row[j]] = j;
    }
    const int64_t* col_of = ws.col_for_original_row.data();
    for (int64_t i = 0; i < kept_cols; ++i) {
      pair_rows[pair] = i, pair_cols[pair] = col_of[i];
      pair += col_of[i] >= 0;
    }
  }
  std::copy_n(pair_rows, pair, row_ind);
  std::copy_n(pair_cols, pair, col_ind);
}

// Solves the item loaded into ws (load_item: `rows` x `cols` as the caller
// gave it) and writes its pairs.
//
// Implicit rejection (cost_limit) is solved on the pairs that can be kept
// (sparse_rejection.h), or when that optimum is tied, as rows x (cols + rows),
// where row i may also take its own reject column at cost L. With k pairs
// kept that totals sum(cost) + (rows - k) L, and lap's extended square matrix
// (L/2 for each unassigned row and column) totals sum(cost) +
// (rows + cols - 2k) L/2: both minimise sum(cost - L) over the pairs kept, so
// both keep the same pairs, and this one solves rows x (rows + cols), not
// (rows + cols) squared.
template <class Isa>
void solve_item(Isa isa, Workspace& ws, int64_t rows, int64_t cols, int64_t b, bool maximize,
                std::optional<double> reject_cost, int64_t* row_ind, int64_t* col_ind) {
  if (reject_cost) {
    if (!solve_sparse_rejection(isa, ws, rows, cols, *reject_cost)) {
      check_costs(ws, rows * cols, b, maximize);
      widen_for_rejection(ws, rows, cols, *reject_cost);
      TORCH_CHECK(solve_in_scipy_order(isa, ws, rows, cols + rows), kOp, ": cost[", b,
                  "] has no assignment, though every row may be rejected");
    }
    write_pairs(ws, rows, cols, /*transposed=*/false, row_ind, col_ind);
    return;
  }
  TORCH_CHECK_VALUE(
      solve_assignment(isa, ws, std::min(rows, cols), std::max(rows, cols), b, maximize), kOp,
      ": cost[", b, "] is infeasible: no assignment of all ",
      "its rows (or columns) avoids the forbidden (infinite) entries");
  write_pairs(ws, std::min(rows, cols), rows > cols ? rows : cols, rows > cols, row_ind, col_ind);
}

// An item's solve reads its cost matrix about min(N, M) times, ~0.5 ns a read.
int64_t item_ns(int64_t rows, int64_t cols) { return std::min(rows, cols) * rows * cols / 2; }

// ---- operator -------------------------------------------------------------

std::tuple<at::Tensor, at::Tensor> linear_sum_assignment_cpu(
    const at::Tensor& cost, const std::optional<at::Tensor>& n_lengths,
    const std::optional<at::Tensor>& m_lengths, bool maximize, std::optional<double> cost_limit) {
  check_arguments(Kernel::kCpu, cost, n_lengths, m_lengths, maximize, cost_limit);
  const int64_t batch = cost.size(0), rows = cost.size(1), cols = cost.size(2);
  const int64_t pairs = std::min(rows, cols);
  check_allocation(kOp, "the output", {batch, pairs}, sizeof(int64_t));
  // With cost_limit an item is solved as rows x (cols + rows) (solve_item).
  check_allocation(kOp, "one item's working copy", {rows, cost_limit ? cols + rows : cols},
                   sizeof(double));
  const at::Tensor costs = contiguous_on_pool(cost, kOp, "cost");
  const ItemLengths n(kOp, n_lengths, "n_lengths", rows, "the size of dimension 1 of 'cost'");
  const ItemLengths m(kOp, m_lengths, "m_lengths", cols, "the size of dimension 2 of 'cost'");
  at::Tensor row_ind = at::full({batch, pairs}, -1, cost.options().dtype(at::kLong));
  at::Tensor col_ind = at::full({batch, pairs}, -1, cost.options().dtype(at::kLong));
  ItemErrors errors;
  const simd::Isa chosen = simd::isa();
  // +inf rejects nothing.
  const std::optional<double> reject_cost =
      cost_limit && *cost_limit < kInf ? cost_limit : std::nullopt;
  // Only the loading depends on the dtype: the solver is compiled once per
  // instruction set, not once per dtype and instruction set.
  const auto load = [&](Workspace& ws, int64_t b) {
    // Every real dtype SciPy takes, the unsigned ones included (the Meta kernel
    // accepts them, so a compiled graph must run them too).
    AT_DISPATCH_V2(cost.scalar_type(), kOp, AT_WRAP([&] {
                     const Item<scalar_t> item{costs.const_data_ptr<scalar_t>() + b * rows * cols,
                                               cols, n[b], m[b]};
                     load_item(ws, item, maximize, !reject_cost && n[b] > m[b]);
                   }),
                   AT_EXPAND(AT_ALL_TYPES), at::kHalf, at::kBFloat16, at::kBool, at::kUInt16,
                   at::kUInt32, at::kUInt64);
  };
  int64_t* row_out = row_ind.data_ptr<int64_t>();
  int64_t* col_out = col_ind.data_ptr<int64_t>();
  const int64_t item_cost = reject_cost ? item_ns(rows, cols + rows) : item_ns(rows, cols);
  parallel_for(0, batch, grain_for(item_cost), [&](int64_t first, int64_t last) {
    Workspace ws;
    for (int64_t b = first; b < last; ++b) {
      errors.run(b, [&] {
        load(ws, b);
        simd::dispatch(chosen, [&](auto isa) {
          solve_item(isa, ws, n[b], m[b], b, maximize, reject_cost, row_out + b * pairs,
                     col_out + b * pairs);
        });
      });
    }
  });
  errors.rethrow();
  return {row_ind, col_ind};
}

std::tuple<at::Tensor, at::Tensor> linear_sum_assignment_meta(
    const at::Tensor& cost, const std::optional<at::Tensor>& n_lengths,
    const std::optional<at::Tensor>& m_lengths, bool maximize, std::optional<double> cost_limit) {
  check_arguments(Kernel::kMeta, cost, n_lengths, m_lengths, maximize, cost_limit);
  const c10::SymInt pairs = cost.sym_size(1).min(cost.sym_size(2));
  const auto options = cost.options().dtype(at::kLong);
  return {at::empty_symint({cost.sym_size(0), pairs}, options),
          at::empty_symint({cost.sym_size(0), pairs}, options)};
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def(
      "linear_sum_assignment(Tensor cost, Tensor? n_lengths=None, Tensor? m_lengths=None, "
      "bool maximize=False, float? cost_limit=None) -> (Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("linear_sum_assignment", &linear_sum_assignment_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) { m.impl("linear_sum_assignment", &linear_sum_assignment_meta); }

}  // namespace mt::assignment
