// Is a cost_limit item's sparse assignment the only optimal one? The same
// digraph as unique_optimum.h (read it first), over the sparse pairs, and
// over the few rows whose pairs can be tight besides their own: the rows
// sparse_rejection.h lists as read (ws.touched_rows). Every other row has
// no way on in the digraph, so it is on no cycle and is left out of it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "shortest_paths.h"
#include "unique_optimum.h"

namespace mt::assignment {

// As tie_tolerance, without the cost matrix: each assigned cost is its
// row's dual plus its column's, so twice the largest dual bounds it. -1
// when a free column's dual is not 0 (not optimal).
template <class Isa>
double sparse_tie_tolerance(Isa isa, const Workspace& ws, int64_t rows, int64_t width) {
  // Four running maxima, not one: GCC does not vectorise a max over doubles,
  // and one chain of dependent maxsd was 4% of a tracker frame's solve.
  double lane_scale[4] = {1e-300, 1e-300, 1e-300, 1e-300};
  const double* row_dual = ws.row_dual.data();
  int64_t i = 0;
  for (; i + 4 <= rows; i += 4) {
    for (int lane = 0; lane < 4; ++lane) {
      lane_scale[lane] = std::max(lane_scale[lane], std::abs(row_dual[i + lane]));
    }
  }
  for (; i < rows; ++i) {
    lane_scale[0] = std::max(lane_scale[0], std::abs(row_dual[i]));
  }
  double scale =
      std::max(std::max(lane_scale[0], lane_scale[1]), std::max(lane_scale[2], lane_scale[3]));
  const ColumnDualScale columns = column_dual_scale(isa, ws, width);
  scale = 2 * std::max(scale, columns.largest);
  const double tolerance = std::ldexp(scale * static_cast<double>(rows + width), -42);
  return columns.largest_free <= tolerance ? tolerance : -1.0;
}

// Whether the sparse assignment in ws is optimal and the only optimum, up
// to `tolerance`, reading the pairs of the rows in `read` (ascending) only.
// The digraph's nodes are those rows (node t for read[t]) and `free`.
inline bool unique_sparse_optimum(Workspace& ws, int64_t rows, double tolerance,
                                  const std::vector<int64_t>& read) {
  const int64_t nodes = static_cast<int64_t>(read.size()), free_node = nodes;
  ws.node_of_row.assign(rows, -1);  // -1: a row left out (on no cycle)
  for (int64_t t = 0; t < nodes; ++t) {
    ws.node_of_row[read[t]] = t;
  }
  ws.tight_offsets.assign(nodes + 2, 0);
  int64_t pairs = 0;
  for (const int64_t row : read) {
    pairs += ws.edge_offsets[row + 1] - ws.edge_offsets[row];
  }
  ws.tight_rows.resize(pairs);
  // note_tight_pair without a branch a pair: which pairs are tight, and
  // whose reduced cost is negative, falls at random on a few pairs a row.
  int64_t tight = 0;
  bool optimal = true;
  for (int64_t t = 0; t < nodes; ++t) {
    const int64_t row = read[t], own = ws.col_for_row[row];
    const double row_dual = ws.row_dual[row];
    for (int64_t e = ws.edge_offsets[row]; e < ws.edge_offsets[row + 1]; ++e) {
      const int64_t col = ws.edge_cols[e];
      const double reduced = ws.edge_costs[e] - row_dual - ws.col_dual[col];
      optimal &= reduced >= -tolerance && (col != own || reduced <= tolerance);
      const int64_t other = ws.row_for_col[col];
      const int64_t node = other >= 0 ? ws.node_of_row[other] : free_node;
      ws.tight_rows[tight] = node;
      tight += reduced <= tolerance && col != own && node >= 0;
    }
    ws.tight_offsets[t + 1] = tight;
  }
  if (!optimal) {
    return false;  // not optimal duals, or NaN
  }
  ws.tight_rows.resize(tight);
  if (tight == 0) {
    return true;  // no tight pair but the assigned ones
  }
  // `free` -> a row whose column has a zero dual, when some tight pair
  // reaches a free column (and the row has a way on).
  if (std::find(ws.tight_rows.begin(), ws.tight_rows.end(), free_node) != ws.tight_rows.end()) {
    for (int64_t t = 0; t < nodes; ++t) {
      if (ws.col_dual[ws.col_for_row[read[t]]] >= -tolerance &&
          ws.tight_offsets[t] != ws.tight_offsets[t + 1]) {
        ws.tight_rows.push_back(t);
      }
    }
  }
  ws.tight_offsets[nodes + 1] = static_cast<int64_t>(ws.tight_rows.size());
  return !has_cycle(ws, nodes + 1);
}

}  // namespace mt::assignment
