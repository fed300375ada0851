// cost_limit's solve on the pairs that can be kept. A pair costing more than
// the limit L is never kept: rejecting its row (L) and leaving its column
// free (0) is strictly cheaper. So the item's optimal assignments are those
// of the sparse problem on the entries <= L, each row with its own reject
// column at L besides; a tracker's frame has a few such entries a row.
//
// The sparse rows (sparse_scan.h) are solved from a start where each row
// claims its lowest column; row reduction and searches (sparse_rows.h) then
// settle the rows that lost a claim. As for dense items, the optimum is
// kept only when it is unique (rejection_check.h), else the caller solves
// the widened dense item in SciPy's order.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "rejection_check.h"
#include "sparse_rows.h"
#include "sparse_scan.h"

namespace mt::assignment {

// The claim start (jv_start.h) of a sparse rejection item, its lows from
// one pass over the rows' pairs.
template <class Isa>
void sparse_claim_start(Isa isa, Workspace& ws, int64_t rows, int64_t width) {
  ws.row_dual.resize(rows);
  ws.row_second.resize(rows);
  ws.col_for_row.resize(rows);
  row_lows(isa, {ws.edge_offsets.data(), ws.edge_cols.data(), ws.edge_costs.data()}, rows,
           {ws.row_dual.data(), ws.row_second.data(), ws.col_for_row.data()});
  claim_lowest_columns(ws, rows, width);
  if (ws.free_rows.empty()) {
    return;
  }
  reduce_free_sparse_rows(ws, rows, [&](int64_t row) { mark_touched(ws, row); });
  for (const int64_t free_row : ws.free_rows) {
    mark_touched(ws, free_row);
  }
  // The touched rows' duals, as solve_sparse_rows sets them.
  for (const int64_t row : ws.touched_rows) {
    ws.row_dual[row] = own_reduced_cost(ws, row);
  }
}

// Solves the `rows` x `cols` item ws.matrix with implicit rejection at
// `limit`: ws.col_for_row gets each row's column, cols + row where it is
// rejected. False when the optimum is tied or a cost is NaN or -inf (the
// caller then checks the costs and solves the widened item in SciPy's order).
template <class Isa>
bool solve_sparse_rejection(Isa isa, Workspace& ws, int64_t rows, int64_t cols, double limit) {
  const int64_t width = cols + rows;
  const int64_t room = rows * (cols + 1) + 4;
  ws.edge_offsets.resize(rows + 1);
  ws.edge_cols.resize(room), ws.edge_costs.resize(room);
  if (pairs_within(isa, ws.matrix, rows, cols, limit,
                   {ws.edge_offsets.data(), ws.edge_cols.data(), ws.edge_costs.data()}) < 0) {
    return false;  // NaN or -inf
  }
  sparse_claim_start(isa, ws, rows, width);
  if (!ws.free_rows.empty()) {
    ws.path.assign(width, -1);
    ws.shortest.assign(width, kInf);
    ws.dfs_state.assign(width, 0);  // the searches' "final" marks
  }
  for (const int64_t row : ws.free_rows) {
    if (!augment_sparse(ws, row)) {
      return false;
    }
    // The rows whose duals the search changed: its own and those of the
    // columns it made final.
    mark_touched(ws, row);
    for (const int64_t col : ws.final_cols) {
      mark_touched(ws, ws.row_for_col[col]);
    }
  }
  const double tolerance = sparse_tie_tolerance(isa, ws, rows, width);
  if (tolerance < 0) {
    return false;
  }
  // The rows read by the check: the touched ones, and the untouched ones
  // whose two lowest costs are within the tolerance (listed without a
  // branch: which rows are touched is random).
  std::vector<int64_t>& read = ws.touched_rows;
  int64_t listed = static_cast<int64_t>(read.size());
  read.resize(listed + rows);
  for (int64_t i = 0; i < rows; ++i) {
    read[listed] = i;
    listed += !ws.row_touched[i] & (ws.row_second[i] - ws.row_dual[i] <= tolerance);
  }
  read.resize(listed);
  std::sort(read.begin(), read.end());
  return unique_sparse_optimum(ws, rows, tolerance, read);
}

}  // namespace mt::assignment
