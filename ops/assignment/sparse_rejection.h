// cost_limit's solve on the pairs that can be kept. A pair costing more than
// the limit L is never kept: rejecting its row (L) and leaving its column
// free (0) is strictly cheaper. So the item's optimal assignments are those
// of the sparse problem on the entries <= L, each row with its own reject
// column at L besides; a tracker's frame has a few such entries a row.
//
// The solve is SciPy's kind on sparse rows: a greedy start (each row takes
// its cheapest column if that is free; zero column duals), then a Dijkstra
// search with a binary heap for each row left free. Then, as for dense
// items, the optimum is kept only when it is unique (the same digraph as
// unique_optimum.h, over the sparse pairs), else the caller solves the
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

#include "shortest_paths.h"
#include "unique_optimum.h"

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

// One row's relaxations in a sparse search: each of its pairs not yet final
// gets distance `base` + reduced cost if that is shorter.
inline void relax_sparse(Workspace& ws, int64_t row, double base) {
  const double row_dual = ws.row_dual[row];
  for (int64_t e = ws.edge_offsets[row]; e < ws.edge_offsets[row + 1]; ++e) {
    const int64_t col = ws.edge_cols[e];
    if (ws.dfs_state[col] != 0) {  // final
      continue;
    }
    const double distance = base + ws.edge_costs[e] - row_dual - ws.col_dual[col];
    if (distance < ws.shortest[col]) {
      if (ws.shortest[col] == kInf) {
        ws.visited_cols.push_back(col);  // touched: reset after the search
      }
      ws.shortest[col] = distance;
      ws.path[col] = row;
      ws.heap.emplace_back(distance, col);
      std::push_heap(ws.heap.begin(), ws.heap.end(), std::greater<>());
    }
  }
}

// Gives the free row `new_row` a column along a shortest augmenting path
// over the sparse pairs (Dijkstra with a heap), keeping the duals' invariant
// as augment_row does. Always succeeds: the row's reject column is a pair.
inline void augment_sparse(Workspace& ws, int64_t new_row) {
  ws.heap.clear();
  ws.visited_cols.clear();  // every column touched
  ws.visited_rows.clear();  // the columns made final, in order
  relax_sparse(ws, new_row, 0.0);
  int64_t sink = -1;
  double path_length = 0.0;
  while (sink < 0) {
    std::pop_heap(ws.heap.begin(), ws.heap.end(), std::greater<>());
    const auto [distance, col] = ws.heap.back();
    ws.heap.pop_back();
    if (ws.dfs_state[col] != 0 || distance > ws.shortest[col]) {
      continue;  // a stale entry
    }
    ws.dfs_state[col] = 1;
    ws.visited_rows.push_back(col);
    if (ws.row_for_col[col] < 0) {
      sink = col, path_length = distance;
    } else {
      relax_sparse(ws, ws.row_for_col[col], distance);
    }
  }
  ws.row_dual[new_row] += path_length;
  for (const int64_t col : ws.visited_rows) {
    if (col != sink) {
      ws.row_dual[ws.row_for_col[col]] += path_length - ws.shortest[col];
      ws.col_dual[col] -= path_length - ws.shortest[col];
    }
  }
  for (int64_t col = sink;;) {
    const int64_t row_on_path = ws.path[col];
    ws.row_for_col[col] = row_on_path;
    std::swap(ws.col_for_row[row_on_path], col);
    if (row_on_path == new_row) {
      break;
    }
  }
  for (const int64_t col : ws.visited_cols) {
    ws.shortest[col] = kInf;
    ws.dfs_state[col] = 0;
  }
}

// Whether the sparse assignment in ws is the only optimal one, as
// unique_optimum decides it for a dense item.
inline bool unique_sparse_optimum(Workspace& ws, int64_t rows, int64_t width) {
  double scale = 1e-300;
  for (int64_t i = 0; i < rows; ++i) {
    scale = std::max(scale, std::abs(ws.row_dual[i]));
  }
  for (int64_t j = 0; j < width; ++j) {
    scale = std::max(scale, std::abs(ws.col_dual[j]));
  }
  for (const double cost : ws.edge_costs) {
    scale = std::max(scale, std::abs(cost));
  }
  const double tolerance = std::ldexp(scale * static_cast<double>(rows + width), -42);
  for (int64_t j = 0; j < width; ++j) {
    if (ws.row_for_col[j] < 0 && std::abs(ws.col_dual[j]) > tolerance) {
      return false;  // a free column needs a zero dual
    }
  }
  const int64_t free_node = rows;
  ws.tight_offsets.assign(rows + 2, 0);
  ws.tight_rows.clear();
  bool reaches_free = false;
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t e = ws.edge_offsets[i]; e < ws.edge_offsets[i + 1]; ++e) {
      const int64_t col = ws.edge_cols[e];
      const double reduced = ws.edge_costs[e] - ws.row_dual[i] - ws.col_dual[col];
      if (reduced < -tolerance || (col == ws.col_for_row[i] && reduced > tolerance)) {
        return false;  // not optimal duals
      }
      if (reduced <= tolerance && col != ws.col_for_row[i]) {
        const int64_t other = ws.row_for_col[col];
        ws.tight_rows.push_back(other >= 0 ? other : free_node);
        reaches_free |= other < 0;
      }
    }
    ws.tight_offsets[i + 1] = static_cast<int64_t>(ws.tight_rows.size());
  }
  if (reaches_free) {
    for (int64_t i = 0; i < rows; ++i) {
      if (ws.col_dual[ws.col_for_row[i]] >= -tolerance) {
        ws.tight_rows.push_back(i);
      }
    }
  }
  ws.tight_offsets[rows + 1] = static_cast<int64_t>(ws.tight_rows.size());
  return !has_cycle(ws, rows + 1);
}

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
  start_empty(ws, rows, width);
  ws.dfs_state.assign(width, 0);  // the searches' "final" marks
  // Greedy start: a row takes its cheapest pair's column if it is free; its
  // dual is then that cost, the least of its row (column duals are 0).
  ws.free_rows.clear();
  for (int64_t i = 0; i < rows; ++i) {
    int64_t best = ws.edge_offsets[i];
    for (int64_t e = best + 1; e < ws.edge_offsets[i + 1]; ++e) {
      best = ws.edge_costs[e] < ws.edge_costs[best] ? e : best;
    }
    const int64_t col = ws.edge_cols[best];
    if (ws.row_for_col[col] < 0) {
      ws.col_for_row[i] = col, ws.row_for_col[col] = i;
      ws.row_dual[i] = ws.edge_costs[best];
    } else {
      ws.free_rows.push_back(i);
    }
  }
  for (const int64_t row : ws.free_rows) {
    augment_sparse(ws, row);
  }
  return unique_sparse_optimum(ws, rows, width);
}

}  // namespace mt::assignment
