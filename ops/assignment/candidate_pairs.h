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
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "jv_start.h"
#include "sparse_rows.h"
#include "unique_optimum.h"

namespace mt::assignment {

// About this many candidates a row: enough that the pairs left out are
// rarely needed on uniform costs, few enough that the sparse solve costs
// little next to the passes over the dense item.
constexpr int64_t kCandidatesPerRow = 16;

// Appends the entries of row `row` costing at most `threshold` (column,
// cost) from column `first` on; with `lowest`, also folds the row into the
// column minima (lowest cost, first row) as column_minima_portable does.
// False when the row holds NaN or -inf (the caller's checks say which).
inline bool candidates_portable(Workspace& ws, int64_t row, int64_t first, int64_t cols,
                                double threshold, double* lowest, int64_t* lowest_row) {
  const double* row_cost = ws.matrix + row * cols;
  bool odd = false;
  for (int64_t j = first; j < cols; ++j) {
    odd |= std::isnan(row_cost[j]) || row_cost[j] == -kInf;
    if (row_cost[j] <= threshold) {
      ws.edge_cols.push_back(j);
      ws.edge_costs.push_back(row_cost[j]);
    }
    if (lowest != nullptr && row_cost[j] < lowest[j]) {
      lowest[j] = row_cost[j], lowest_row[j] = row;
    }
  }
  return !odd;
}

#if defined(__x86_64__)
// For each 4-bit mask of kept lanes, the 32-bit permutation that packs those
// lanes' 64-bit values to the front, in order.
struct LeftPackTable {
  alignas(32) int32_t lanes[16][8];

  constexpr LeftPackTable() : lanes() {
    for (int mask = 0; mask < 16; ++mask) {
      int out = 0;
      for (int lane = 0; lane < 4; ++lane) {
        if (mask & (1 << lane)) {
          lanes[mask][2 * out] = 2 * lane;
          lanes[mask][2 * out + 1] = 2 * lane + 1;
          ++out;
        }
      }
    }
  }
};
inline constexpr LeftPackTable kLeftPack{};

// candidates_portable four entries per step, without a branch per kept
// entry (they fall at random places in a row, so such a branch mispredicts):
// each block's kept entries are packed to the front of a store of all four,
// and the output moves on by how many were kept. The output has room for
// `cols` + 4 more entries (the caller's). Returns how many were kept, or -1
// when the row holds NaN or -inf.
MT_ROW_SCAN_AVX2 inline int64_t candidates_avx2(Workspace& ws, int64_t row, int64_t cols,
                                                double threshold, double* lowest,
                                                int64_t* lowest_row, int64_t* out_cols,
                                                double* out_costs) {
  const double* row_cost = ws.matrix + row * cols;
  const __m256d threshold4 = _mm256_set1_pd(threshold);
  const __m256d row4 = _mm256_castsi256_pd(_mm256_set1_epi64x(row));
  __m256i col4 = _mm256_setr_epi64x(0, 1, 2, 3);
  const __m256i four = _mm256_set1_epi64x(4);
  const __m256d minus_inf = _mm256_set1_pd(-kInf);
  __m256d odd = _mm256_setzero_pd();
  int64_t kept = 0, j = 0;
  for (; j + 4 <= cols; j += 4) {
    const __m256d value = _mm256_loadu_pd(row_cost + j);
    odd = _mm256_or_pd(odd, _mm256_or_pd(_mm256_cmp_pd(value, value, _CMP_UNORD_Q),
                                         _mm256_cmp_pd(value, minus_inf, _CMP_EQ_OQ)));
    if (lowest != nullptr) {
      const __m256d low = _mm256_loadu_pd(lowest + j);
      const __m256d lower = _mm256_cmp_pd(value, low, _CMP_LT_OQ);
      double* row_of_low = reinterpret_cast<double*>(lowest_row + j);
      _mm256_storeu_pd(lowest + j, _mm256_blendv_pd(low, value, lower));
      _mm256_storeu_pd(row_of_low, _mm256_blendv_pd(_mm256_loadu_pd(row_of_low), row4, lower));
    }
    const int mask = _mm256_movemask_pd(_mm256_cmp_pd(value, threshold4, _CMP_LE_OQ));
    const __m256i pack = _mm256_load_si256(reinterpret_cast<const __m256i*>(kLeftPack.lanes[mask]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out_cols + kept),
                        _mm256_permutevar8x32_epi32(col4, pack));
    _mm256_storeu_pd(out_costs + kept, _mm256_castsi256_pd(_mm256_permutevar8x32_epi32(
                                           _mm256_castpd_si256(value), pack)));
    kept += __builtin_popcount(static_cast<unsigned>(mask));
    col4 = _mm256_add_epi64(col4, four);
  }
  bool odd_tail = false;
  for (; j < cols; ++j) {
    odd_tail |= std::isnan(row_cost[j]) || row_cost[j] == -kInf;
    if (row_cost[j] <= threshold) {
      out_cols[kept] = j, out_costs[kept] = row_cost[j];
      ++kept;
    }
    if (lowest != nullptr && row_cost[j] < lowest[j]) {
      lowest[j] = row_cost[j], lowest_row[j] = row;
    }
  }
  return odd_tail || _mm256_movemask_pd(odd) != 0 ? -1 : kept;
}
#endif

// candidates_portable or candidates_avx2 appending to ws.edge_cols and
// ws.edge_costs; false when the row holds NaN or -inf.
template <class Isa>
bool append_pairs_within(Isa, Workspace& ws, int64_t row, int64_t cols, double threshold,
                         double* lowest, int64_t* lowest_row) {
#if defined(__x86_64__)
  if constexpr (Isa::isa != simd::Isa::portable) {
    // Room for the whole row and a block's overhang, grown geometrically.
    const size_t used = ws.edge_cols.size();
    if (ws.edge_cols.capacity() < used + cols + 4) {
      ws.edge_cols.reserve(2 * (used + cols + 4));
      ws.edge_costs.reserve(2 * (used + cols + 4));
    }
    ws.edge_cols.resize(used + cols + 4), ws.edge_costs.resize(used + cols + 4);
    const int64_t kept = candidates_avx2(ws, row, cols, threshold, lowest, lowest_row,
                                         ws.edge_cols.data() + used, ws.edge_costs.data() + used);
    ws.edge_cols.resize(used + std::max<int64_t>(kept, 0));
    ws.edge_costs.resize(used + std::max<int64_t>(kept, 0));
    return kept >= 0;
  }
#endif
  return candidates_portable(ws, row, 0, cols, threshold, lowest, lowest_row);
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
      candidates_portable(ws, i, 0, cols, cheapest + margin, nullptr, nullptr);
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
