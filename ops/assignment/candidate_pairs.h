// Dense items solved on a few candidate pairs a row. On uniform costs the
// optimal pairs are among each row's cheapest entries: the item is solved on
// about the k cheapest of each row (sparse_rows.h), and unique_optimum.h,
// which reads every entry of the dense item, then proves the duals optimal
// for all of it (no reduced cost below zero) and the optimum unique. When it
// cannot (a pair left out was needed, or ties), the caller solves the dense
// item (jv_start.h), and SciPy's order after that if need be. So the
// candidates only decide the speed, never the answer.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "jv_start.h"
#include "sparse_rows.h"
#include "sparse_scan.h"
#include "unique_optimum.h"

namespace mt::assignment {

// About this many candidates a row: enough that the pairs left out are
// rarely needed on uniform costs, few enough that the sparse solve costs
// little next to the passes over the dense item.
constexpr int64_t kCandidatesPerRow = 16;

// A row's candidates (row_within, sparse_scan.h) appended to ws.edge_cols
// and ws.edge_costs; with `lowest`, the row is also folded into the column
// minima. False when the row holds NaN or -inf.
template <class Isa>
bool append_pairs_within(Isa isa, Workspace& ws, int64_t row, int64_t cols, double threshold,
                         double* lowest, int64_t* lowest_row) {
  // Room for the whole row and append_kept's overhang, grown geometrically.
  const size_t used = ws.edge_cols.size();
  if (ws.edge_cols.capacity() < used + cols + 4) {
    ws.edge_cols.reserve(2 * (used + cols + 4));
    ws.edge_costs.reserve(2 * (used + cols + 4));
  }
  ws.edge_cols.resize(used + cols + 4), ws.edge_costs.resize(used + cols + 4);
  const int64_t kept =
      row_within(isa, ws.matrix + row * cols, row, cols, threshold, {lowest, lowest_row},
                 {nullptr, ws.edge_cols.data() + used, ws.edge_costs.data() + used});
  ws.edge_cols.resize(used + kept), ws.edge_costs.resize(used + kept);
  return !holds_nan_or_minus_inf(ws.edge_costs.data() + used, kept);
}

// The candidate pairs of every row into ws.edge_*: the entries costing at
// most what gives the first row `per_row` of them (rows of an item are alike
// more often than not), the threshold doubled for a row with fewer than 2;
// ws.candidate_bound gets each row's (every entry left out costs more). The
// same pass takes the column minima of a square item into ws.col_dual (its
// column duals, as column reduction takes them); a wide item's stay 0.
// False on a cost that gives no threshold (NaN, infinities).
template <class Isa>
bool select_candidates(Isa isa, Workspace& ws, int64_t rows, int64_t cols, int64_t per_row) {
  std::vector<double>& first_row = ws.shortest;  // scratch until the searches
  first_row.assign(ws.matrix, ws.matrix + cols);
  const int64_t k = std::min(cols, per_row);
  std::nth_element(first_row.begin(), first_row.begin() + (k - 1), first_row.end());
  const double threshold = first_row[k - 1];
  if (!std::isfinite(threshold)) {
    return false;
  }
  const bool square = rows == cols;
  ws.col_dual.assign(cols, square ? kInf : 0.0);
  ws.path.assign(cols, 0);  // each column's lowest row: scratch
  double* lowest = square ? ws.col_dual.data() : nullptr;
  ws.edge_offsets.assign(rows + 1, 0);
  ws.edge_cols.clear();
  ws.edge_costs.clear();
  ws.candidate_bound.assign(rows, threshold);
  for (int64_t i = 0; i < rows; ++i) {
    if (!append_pairs_within(isa, ws, i, cols, threshold, lowest, ws.path.data())) {
      return false;
    }
    // Too few: rescan the row alone with a doubled margin over its own
    // cheapest entry (the minima are already folded in).
    for (double margin = std::abs(threshold) + 1e-300;
         static_cast<int64_t>(ws.edge_cols.size()) - ws.edge_offsets[i] <
         std::min<int64_t>(2, cols);
         margin *= 2) {
      ws.edge_cols.resize(ws.edge_offsets[i]), ws.edge_costs.resize(ws.edge_offsets[i]);
      const double* row_cost = ws.matrix + i * cols;
      const double cheapest = *std::min_element(row_cost, row_cost + cols);
      if (!std::isfinite(cheapest) || !std::isfinite(margin)) {
        return false;
      }
      append_pairs_within(isa, ws, i, cols, cheapest + margin, nullptr, nullptr);
      ws.candidate_bound[i] = cheapest + margin;
    }
    ws.edge_offsets[i + 1] = static_cast<int64_t>(ws.edge_cols.size());
  }
  return std::all_of(ws.col_dual.begin(), ws.col_dual.end(),
                     [](double dual) { return std::isfinite(dual); });
}

// Whether candidates suit a `rows` x `cols` item (rows <= cols). Small
// items, and wide ones (where row reduction from zero column duals assigns
// most rows in one scan each), are faster solved dense.
inline bool candidates_suit(int64_t rows, int64_t cols) {
  return rows >= 2 * kCandidatesPerRow && 2 * cols <= 3 * rows;
}

// Solves the `rows` x `cols` dense item ws.matrix (rows <= cols) on its
// candidate pairs, and checks that optimum against the whole item. When the
// candidates missed a pair the optimum needs (a negative reduced cost), it
// tries again with twice as many a row, twice. kNotProven also when the
// item is not one for candidates.
template <class Isa>
Optimum solve_on_candidates(Isa isa, Workspace& ws, int64_t rows, int64_t cols) {
  if (!candidates_suit(rows, cols)) {
    return Optimum::kNotProven;
  }
  for (int64_t per_row = kCandidatesPerRow; per_row <= 4 * kCandidatesPerRow; per_row *= 2) {
    if (!select_candidates(isa, ws, rows, cols, per_row) || !solve_sparse_rows(ws, rows, cols)) {
      return Optimum::kNotProven;  // NaN or infinities, or too few pairs: the dense solve
    }
    // A row's entries left out all cost more than its candidate bound, so
    // their reduced costs exceed bound - row dual - the largest column dual:
    // where that is above the tolerance, its candidates alone are read.
    const Optimum verdict =
        unique_optimum(isa, ws, rows, cols, [&](int64_t row, const CheckScale& scale) {
          return ws.candidate_bound[row] - ws.row_dual[row] - scale.largest_col_dual >
                         scale.tolerance
                     ? RowRead::kPairs
                     : RowRead::kWhole;
        });
    if (verdict != Optimum::kNotProven) {
      return verdict;
    }
  }
  return Optimum::kNotProven;
}

}  // namespace mt::assignment
