// Sparse rows: an item's pairs that matter, row by row (ws.edge_offsets,
// ws.edge_cols, ws.edge_costs), solved as jv_start.h and shortest_paths.h
// solve dense rows: augmenting row reduction, then a Dijkstra search with a
// binary heap for each row left free. The optimum is the caller's to check
// (unique_optimum.h on the dense item, rejection_check.h on a cost_limit
// item's sparse rows).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "jv_start.h"
#include "shortest_paths.h"

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
  ws.final_cols.clear();
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
    ws.final_cols.push_back(col);
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
  for (const int64_t col : ws.final_cols) {
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

// `a` when `take`, else `b`, without a branch. GCC compiles a select between
// doubles, or one whose arm is a load, into a branch, and where a sparse
// row's lowest costs fall is random: such a branch mispredicts.
inline int64_t select_without_branch(bool take, int64_t a, int64_t b) {
  const int64_t mask = -static_cast<int64_t>(take);
  return (a & mask) | (b & ~mask);
}

// Row `row`'s two lowest reduced costs over its sparse pairs into `lows`;
// returns the column of the second (-1: none). Without a branch a pair
// (NaN costs are refused before).
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
    second_col = select_without_branch(below_lowest, lowest_col,
                                       select_without_branch(below_second, col, second_col));
    lowest_col = select_without_branch(below_lowest, col, lowest_col);
    second = std::min(second, std::max(lowest, reduced));
    lowest = std::min(lowest, reduced);
  }
  lows.lowest = lowest, lows.second = second, lows.col = lowest_col;
  return second_col;
}

// The dual a search reads for row `row`: tight on its assigned pair (each is
// its row's lowest reduced cost after row reduction), 0 on a free row.
inline double own_reduced_cost(const Workspace& ws, int64_t row) {
  const int64_t col = ws.col_for_row[row];
  if (col < 0) {
    return 0.0;
  }
  int64_t own = ws.edge_offsets[row];  // where the row's pair with `col` is
  for (int64_t e = ws.edge_offsets[row]; e < ws.edge_offsets[row + 1]; ++e) {
    own = select_without_branch(ws.edge_cols[e] == col, e, own);
  }
  return ws.edge_costs[own] - ws.col_dual[col];
}

// augmenting_row_reduction (jv_start.h) over the sparse rows in
// ws.free_rows: the rows it leaves free stay there. 6 steps a row: a sparse
// step scans a few pairs, so the budget is larger than the dense one
// (measured best between 4 and 8). `on_scan(row)` hears of every row
// scanned (the claim start marks it).
template <class OnScan = void (*)(int64_t)>
void reduce_free_sparse_rows(Workspace& ws, int64_t rows, OnScan on_scan = [](int64_t) {}) {
  int64_t second_col = -1;  // the scanned row's, for tied_col
  const auto scan = [&](int64_t row, RowLows& lows) {
    on_scan(row);
    second_col = lowest_two_sparse(ws, row, lows);
    return true;
  };
  const auto tied_col = [&](int64_t, int64_t, double) { return second_col; };
  augmenting_row_reduction(ws, rows, 6, scan, tied_col);
}

// reduce_free_sparse_rows from every row free.
inline void reduce_sparse_rows(Workspace& ws, int64_t rows) {
  ws.free_rows.resize(rows);
  for (int64_t i = 0; i < rows; ++i) {
    ws.free_rows[i] = i;
  }
  reduce_free_sparse_rows(ws, rows);
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
