// cost_limit's solve on the pairs that can be kept. A pair costing more than
// the limit L is never kept: rejecting its row (L) and leaving its column
// free (0) is strictly cheaper. So the item's optimal assignments are those
// of the sparse problem on the entries <= L, each row with its own reject
// column at L besides; a tracker's frame has a few such entries a row.
//
// The sparse rows are solved by sparse_rows.h from zero column duals. As for
// dense items, the optimum is kept only when it is unique (the same digraph
// as unique_optimum.h, over the sparse pairs), else the caller solves the
// widened dense item in SciPy's order.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "sparse_rows.h"

namespace mt::assignment {

// Appends a row's entries <= limit from column `first` on (column, cost) to
// ws.edge_cols and ws.edge_costs, in column order; false on NaN or -inf (the
// caller's checks say which).
inline bool kept_entries_portable(Workspace& ws, const double* row_cost, int64_t first,
                                  int64_t cols, double limit) {
  for (int64_t j = first; j < cols; ++j) {
    const double value = row_cost[j];
    if (std::isnan(value) || value == -kInf) {
      return false;
    }
    if (value <= limit) {
      ws.edge_cols.push_back(j);
      ws.edge_costs.push_back(value);
    }
  }
  return true;
}

#if defined(__x86_64__)
// kept_entries_portable four entries per compare: most of a frame's entries
// are above the limit and cost one compare.
MT_TARGET_AVX2 inline bool kept_entries_avx2(Workspace& ws, const double* row_cost, int64_t cols,
                                             double limit) {
  const __m256d limit4 = _mm256_set1_pd(limit), minus_inf = _mm256_set1_pd(-kInf);
  int64_t j = 0;
  for (; j + 4 <= cols; j += 4) {
    const __m256d value = _mm256_loadu_pd(row_cost + j);
    // NaN compares "not greater" too, and -inf is <= any limit: both reach
    // the scalar test below.
    int hits = _mm256_movemask_pd(_mm256_cmp_pd(value, limit4, _CMP_NGT_UQ));
    if (hits == 0) {
      continue;
    }
    if (_mm256_movemask_pd(_mm256_or_pd(_mm256_cmp_pd(value, value, _CMP_UNORD_Q),
                                        _mm256_cmp_pd(value, minus_inf, _CMP_EQ_OQ))) != 0) {
      return false;
    }
    for (; hits != 0; hits &= hits - 1) {
      const int64_t at = j + __builtin_ctz(static_cast<unsigned>(hits));
      ws.edge_cols.push_back(at);
      ws.edge_costs.push_back(row_cost[at]);
    }
  }
  return kept_entries_portable(ws, row_cost, j, cols, limit);
}
#endif

// Solves the `rows` x `cols` item ws.matrix with implicit rejection at
// `limit`: ws.col_for_row gets each row's column, cols + row where it is
// rejected. False when the optimum is tied or a cost is NaN or -inf (the
// caller then checks the costs and solves the widened item in SciPy's order).
template <class Isa>
bool solve_sparse_rejection(Isa, Workspace& ws, int64_t rows, int64_t cols, double limit) {
  const int64_t width = cols + rows;
  ws.edge_offsets.assign(rows + 1, 0);
  ws.edge_cols.clear();
  ws.edge_costs.clear();
  for (int64_t i = 0; i < rows; ++i) {
    bool finite;
#if defined(__x86_64__)
    if constexpr (Isa::isa != simd::Isa::portable) {
      finite = kept_entries_avx2(ws, ws.matrix + i * cols, cols, limit);
    } else
#endif
    {
      finite = kept_entries_portable(ws, ws.matrix + i * cols, 0, cols, limit);
    }
    if (!finite) {
      return false;
    }
    ws.edge_cols.push_back(cols + i);  // its reject column
    ws.edge_costs.push_back(limit);
    ws.edge_offsets[i + 1] = static_cast<int64_t>(ws.edge_cols.size());
  }
  ws.col_dual.assign(width, 0.0);
  return solve_sparse_rows(ws, rows, width) && unique_sparse_optimum(ws, rows, width);
}

}  // namespace mt::assignment
