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

#include "candidate_pairs.h"
#include "sparse_rows.h"

namespace mt::assignment {

// Solves the `rows` x `cols` item ws.matrix with implicit rejection at
// `limit`: ws.col_for_row gets each row's column, cols + row where it is
// rejected. False when the optimum is tied or a cost is NaN or -inf (the
// caller then checks the costs and solves the widened item in SciPy's order).
template <class Isa>
bool solve_sparse_rejection(Isa isa, Workspace& ws, int64_t rows, int64_t cols, double limit) {
  const int64_t width = cols + rows;
  ws.edge_offsets.assign(rows + 1, 0);
  ws.edge_cols.clear();
  ws.edge_costs.clear();
  for (int64_t i = 0; i < rows; ++i) {
    if (!append_pairs_within(isa, ws, i, cols, limit, nullptr, nullptr)) {
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
