// Sparse rows: an item's pairs that matter, row by row (ws.edge_offsets,
// ws.edge_cols, ws.edge_costs), solved as jv_start.h and shortest_paths.h
// solve dense rows: augmenting row reduction, then a Dijkstra search with a
// binary heap for each row left free. The optimum is the caller's to check
// (unique_optimum.h on the dense item, or unique_sparse_optimum here).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "jv_start.h"
#include "shortest_paths.h"
#include "unique_optimum.h"

namespace mt::assignment {

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
// as augment_row does; false when no free column is reachable.
inline bool augment_sparse(Workspace& ws, int64_t new_row) {
  ws.heap.clear();
  ws.visited_cols.clear();  // every column touched
  ws.visited_rows.clear();  // the columns made final, in order
  relax_sparse(ws, new_row, 0.0);
  int64_t sink = -1;
  double path_length = 0.0;
  while (sink < 0 && !ws.heap.empty()) {
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
  if (sink < 0) {
    for (const int64_t col : ws.visited_cols) {
      ws.shortest[col] = kInf;
      ws.dfs_state[col] = 0;
    }
    return false;
  }
  ws.row_dual[new_row] += path_length;
  for (const int64_t col : ws.visited_rows) {
    if (col != sink) {
      ws.row_dual[ws.row_for_col[col]] += path_length - ws.shortest[col];
      ws.col_dual[col] -= path_length - ws.shortest[col];
    }
  }
  flip_path(ws, sink, new_row);
  for (const int64_t col : ws.visited_cols) {
    ws.shortest[col] = kInf;
    ws.dfs_state[col] = 0;
  }
  return true;
}

// Whether the sparse assignment in ws is the only optimal one, as
// unique_optimum decides it for a dense item. `scan(row, tolerance)` says
// whether a row's pairs must be read: a row it skips is known (by the
// caller's construction) to have no tight pair but its own and no negative
// reduced cost.
template <class NeedsScan>
bool unique_sparse_optimum(Workspace& ws, int64_t rows, int64_t width, NeedsScan needs_scan) {
  // As tie_tolerance: the duals and the assigned costs (the assigned
  // columns' duals here; the free ones are checked to be 0 below).
  double scale = 1e-300;
  for (int64_t i = 0; i < rows; ++i) {
    const double dual = ws.col_dual[ws.col_for_row[i]];
    scale = std::max(scale, std::abs(ws.row_dual[i]) + 2 * std::abs(dual));
  }
  const double tolerance = std::ldexp(scale * static_cast<double>(rows + width), -42);
  bool free_duals_zero = true;  // a free column needs a zero dual
  const int64_t* assigned_row = ws.row_for_col.data();
  const double* dual = ws.col_dual.data();
  for (int64_t j = 0; j < width; ++j) {
    free_duals_zero &= (assigned_row[j] >= 0) | (std::abs(dual[j]) <= tolerance);
  }
  if (!free_duals_zero) {
    return false;
  }
  // note_tight_pair without a branch a pair: which pairs are tight, and
  // whose reduced cost is negative, falls at random on a few pairs a row.
  const int64_t free_node = rows;
  ws.tight_offsets.assign(rows + 2, 0);
  ws.tight_rows.resize(ws.edge_offsets[rows]);
  int64_t* tight_rows = ws.tight_rows.data();
  const int64_t* edge_cols = ws.edge_cols.data();
  const double* edge_costs = ws.edge_costs.data();
  const double* col_dual = ws.col_dual.data();
  const int64_t* row_for_col = ws.row_for_col.data();
  int64_t tight = 0;
  bool optimal = true;
  for (int64_t i = 0; i < rows; ++i) {
    if (needs_scan(i, tolerance)) {
      const int64_t own = ws.col_for_row[i];
      const double row_dual = ws.row_dual[i];
      for (int64_t e = ws.edge_offsets[i]; e < ws.edge_offsets[i + 1]; ++e) {
        const int64_t col = edge_cols[e];
        const double reduced = edge_costs[e] - row_dual - col_dual[col];
        optimal &= reduced >= -tolerance && (col != own || reduced <= tolerance);
        const int64_t other = row_for_col[col];
        tight_rows[tight] = other >= 0 ? other : free_node;
        tight += reduced <= tolerance && col != own;
      }
    }
    ws.tight_offsets[i + 1] = tight;
  }
  if (!optimal) {
    return false;  // not optimal duals, or NaN
  }
  ws.tight_rows.resize(tight);
  return !tied_among_tight_pairs(ws, rows, tolerance);
}

// Row `row`'s two lowest reduced costs over its sparse pairs into `lows`;
// returns the column of the second (-1: none). Without a branch a pair:
// where a row's lowest two fall is random.
inline int64_t lowest_two_sparse(const Workspace& ws, int64_t row, RowLows& lows) {
  const int64_t* edge_cols = ws.edge_cols.data();
  const double* edge_costs = ws.edge_costs.data();
  const double* col_dual = ws.col_dual.data();
  double lowest = kInf, second = kInf;
  int64_t lowest_col = -1, second_col = -1;
  for (int64_t e = ws.edge_offsets[row]; e < ws.edge_offsets[row + 1]; ++e) {
    const int64_t col = edge_cols[e];
    const double reduced = edge_costs[e] - col_dual[col];
    const bool below_lowest = reduced < lowest, below_second = reduced < second;
    second_col = below_lowest ? lowest_col : below_second ? col : second_col;
    second = below_lowest ? lowest : below_second ? reduced : second;
    lowest_col = below_lowest ? col : lowest_col;
    lowest = below_lowest ? reduced : lowest;
  }
  lows.lowest = lowest, lows.second = second, lows.col = lowest_col;
  return second_col;
}

// The dual a search reads for row `row`: tight on its assigned pair (each is
// its row's lowest reduced cost after row reduction), 0 on a free row.
inline double own_reduced_cost(const Workspace& ws, int64_t row) {
  const int64_t col = ws.col_for_row[row];
  double dual = 0.0;
  if (col >= 0) {
    for (int64_t e = ws.edge_offsets[row]; e < ws.edge_offsets[row + 1]; ++e) {
      if (ws.edge_cols[e] == col) {
        dual = ws.edge_costs[e] - ws.col_dual[col];
      }
    }
  }
  return dual;
}

// augmenting_row_reduction (jv_start.h) over the sparse rows, from every row
// free: the rows it leaves free go to ws.free_rows. 6 steps a row: a sparse
// step scans a few pairs, so the budget is larger than the dense one
// (measured best between 4 and 8).
inline void reduce_sparse_rows(Workspace& ws, int64_t rows) {
  ws.free_rows.resize(rows);
  for (int64_t i = 0; i < rows; ++i) {
    ws.free_rows[i] = i;
  }
  int64_t second_col = -1;  // the scanned row's, for tied_col
  const auto scan = [&](int64_t row, RowLows& lows) {
    second_col = lowest_two_sparse(ws, row, lows);
    return true;
  };
  const auto tied_col = [&](int64_t, int64_t, double) { return second_col; };
  augmenting_row_reduction(ws, rows, 6, scan, tied_col);
}

// Solves the sparse rows in ws.edge_* (rows x width) from the column duals
// in ws.col_dual (any: row reduction makes each assigned pair its row's
// lowest reduced cost, which is all the searches need), then a search for
// each row left free. False when some row cannot be given a column over the
// sparse pairs.
inline bool solve_sparse_rows(Workspace& ws, int64_t rows, int64_t width) {
  ws.row_dual.assign(rows, 0.0);
  ws.col_for_row.assign(rows, -1);
  ws.row_for_col.assign(width, -1);
  ws.path.assign(width, -1);
  ws.shortest.assign(width, kInf);
  ws.dfs_state.assign(width, 0);  // the searches' "final" marks
  reduce_sparse_rows(ws, rows);
  for (int64_t i = 0; i < rows; ++i) {
    ws.row_dual[i] = own_reduced_cost(ws, i);
  }
  for (const int64_t row : ws.free_rows) {
    if (!augment_sparse(ws, row)) {
      return false;
    }
  }
  return true;
}

}  // namespace mt::assignment
