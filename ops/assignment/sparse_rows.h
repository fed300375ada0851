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
// unique_optimum decides it for a dense item.
inline bool unique_sparse_optimum(Workspace& ws, int64_t rows, int64_t width) {
  // As tie_tolerance: the duals and the assigned costs (the assigned
  // columns' duals here; the free ones are checked to be 0 below).
  double scale = 1e-300;
  for (int64_t i = 0; i < rows; ++i) {
    const double dual = ws.col_dual[ws.col_for_row[i]];
    scale = std::max(scale, std::abs(ws.row_dual[i]) + 2 * std::abs(dual));
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
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t own = ws.col_for_row[i];
    for (int64_t e = ws.edge_offsets[i]; e < ws.edge_offsets[i + 1]; ++e) {
      const int64_t col = ws.edge_cols[e];
      const double reduced = ws.edge_costs[e] - ws.row_dual[i] - ws.col_dual[col];
      if ((col == own && reduced > tolerance) ||
          !note_tight_pair(ws, reduced, col, own, tolerance, free_node)) {
        return false;  // not optimal duals
      }
    }
    ws.tight_offsets[i + 1] = static_cast<int64_t>(ws.tight_rows.size());
  }
  return !tied_among_tight_pairs(ws, rows, tolerance);
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
    second_col = -1;
    for (int64_t e = ws.edge_offsets[row]; e < ws.edge_offsets[row + 1]; ++e) {
      const double reduced = ws.edge_costs[e] - ws.col_dual[ws.edge_cols[e]];
      if (reduced < lows.second) {
        if (reduced < lows.lowest) {
          lows.second = lows.lowest, second_col = lows.col;
          lows.lowest = reduced, lows.col = ws.edge_cols[e];
        } else {
          lows.second = reduced, second_col = ws.edge_cols[e];
        }
      }
    }
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
  // The row duals the searches read: tight on assigned pairs (each is its
  // row's lowest reduced cost), 0 on free rows.
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t col = ws.col_for_row[i];
    if (col >= 0) {
      for (int64_t e = ws.edge_offsets[i]; e < ws.edge_offsets[i + 1]; ++e) {
        if (ws.edge_cols[e] == col) {
          ws.row_dual[i] = ws.edge_costs[e] - ws.col_dual[col];
        }
      }
    }
  }
  for (const int64_t row : ws.free_rows) {
    if (!augment_sparse(ws, row)) {
      return false;
    }
  }
  return true;
}

}  // namespace mt::assignment
