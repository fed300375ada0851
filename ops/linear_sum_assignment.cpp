// mt::linear_sum_assignment: for every batch item, the assignment of rows to
// columns of minimal (or maximal) total cost, as scipy.optimize.linear_sum_assignment.
//
//   cost      [B, N, M] any real dtype (floating, integer, bool), solved in
//             float64; +inf marks a forbidden pair (-inf when maximizing)
//   n_lengths [B] int64, optional: item b has the first n_lengths[b] rows
//   m_lengths [B] int64, optional: ... and the first m_lengths[b] columns
//   maximize  find the assignment of maximal total cost instead
//   -> row_ind, col_ind int64 [B, min(N, M)]: item b's pairs, rows ascending,
//      padded with -1 past min(n_b, m_b)
//
// Each item is solved by shortest augmenting paths (the Jonker-Volgenant
// family) as SciPy's solver does it: rows enter one at a time, and a Dijkstra
// search over reduced costs finds the cheapest way to give the new row a
// column. Columns are scanned in SciPy's order and each reduced cost is summed
// in SciPy's order, so among tied optima both return the same one. Items fan
// out over the pool; an item's solve is sequential.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

#include <torch_mt/parallel.h>

namespace mt {
namespace {

constexpr const char* kOp = "mt::linear_sum_assignment";
constexpr double kInf = std::numeric_limits<double>::infinity();

// ---- checks ---------------------------------------------------------------

void check_arguments(Kernel kernel, const at::Tensor& cost,
                     const std::optional<at::Tensor>& n_lengths,
                     const std::optional<at::Tensor>& m_lengths) {
  // Real, not only floating: SciPy accepts integer and bool costs.
  check_cost_batch(kOp, kernel, cost, CostDtypes::kReal, n_lengths, m_lengths);
}

// ---- kernel ---------------------------------------------------------------

// Scratch for one item, reused across the items of a chunk.
struct Workspace {
  std::vector<double> cost;  // the item, rows <= cols, as the minimisation solved
  std::vector<double> row_dual, col_dual, shortest;
  std::vector<int64_t> col_for_row, row_for_col, path, unvisited_cols;
  std::vector<char> row_visited, col_visited;
  std::vector<int64_t> col_for_original_row;  // output order of transposed items
};

// Minimum-cost assignment of every row of the `rows` x `cols` matrix
// ws.cost (rows <= cols, entries finite or +inf) into ws.col_for_row.
// Keeps reduced costs cost(i, j) - row_dual[i] - col_dual[j] >= 0 with
// equality on assigned pairs, so each shortest path is found by Dijkstra.
bool solve_assignment(Workspace& ws, int64_t rows, int64_t cols) {
  ws.row_dual.assign(rows, 0.0);
  ws.col_dual.assign(cols, 0.0);
  ws.col_for_row.assign(rows, -1);
  ws.row_for_col.assign(cols, -1);
  ws.path.assign(cols, -1);
  for (int64_t new_row = 0; new_row < rows; ++new_row) {
    ws.shortest.assign(cols, kInf);
    ws.row_visited.assign(rows, 0);
    ws.col_visited.assign(cols, 0);
    ws.unvisited_cols.resize(cols);
    for (int64_t k = 0; k < cols; ++k) {
      ws.unvisited_cols[k] = cols - 1 - k;  // SciPy's scan order, for its tie-breaking
    }
    int64_t unvisited = cols;
    double path_length = 0.0;  // of the shortest path found so far
    int64_t row = new_row, sink = -1;
    double* shortest = ws.shortest.data();
    int64_t* path = ws.path.data();
    int64_t* unvisited_cols = ws.unvisited_cols.data();
    const int64_t* row_for_col = ws.row_for_col.data();
    const double* col_dual = ws.col_dual.data();
    while (sink < 0) {  // grow the shortest-path tree by one column
      ws.row_visited[row] = 1;
      const double* row_cost = ws.cost.data() + row * cols;
      const double row_dual = ws.row_dual[row];
      double nearest = kInf;
      int64_t nearest_at = -1;
      for (int64_t k = 0; k < unvisited; ++k) {
        const int64_t j = unvisited_cols[k];
        // Summed left to right as SciPy does: another order rounds differently
        // and can break a tie the other way.
        const double reduced = path_length + row_cost[j] - row_dual - col_dual[j];
        if (reduced < shortest[j]) {
          path[j] = row;
          shortest[j] = reduced;
        }
        // On ties prefer a free column: the path ends there.
        if (shortest[j] < nearest || (shortest[j] == nearest && row_for_col[j] < 0)) {
          nearest = shortest[j];
          nearest_at = k;
        }
      }
      if (nearest == kInf) {
        return false;  // every remaining column is forbidden from the tree
      }
      path_length = nearest;
      const int64_t col = unvisited_cols[nearest_at];
      unvisited_cols[nearest_at] = unvisited_cols[--unvisited];
      ws.col_visited[col] = 1;
      if (row_for_col[col] < 0) {
        sink = col;
      } else {
        row = row_for_col[col];
      }
    }
    // Dual update keeps reduced costs non-negative and tight on the new path.
    ws.row_dual[new_row] += path_length;
    for (int64_t i = 0; i < rows; ++i) {
      if (ws.row_visited[i] && i != new_row) {
        ws.row_dual[i] += path_length - ws.shortest[ws.col_for_row[i]];
      }
    }
    for (int64_t j = 0; j < cols; ++j) {
      if (ws.col_visited[j]) {
        ws.col_dual[j] -= path_length - ws.shortest[j];
      }
    }
    // Augment: flip assignments along the path from the sink back to new_row.
    for (int64_t col = sink;;) {
      const int64_t row_on_path = ws.path[col];
      ws.row_for_col[col] = row_on_path;
      std::swap(ws.col_for_row[row_on_path], col);
      if (row_on_path == new_row) {
        break;
      }
    }
  }
  return true;
}

// One padded item of the batch: rows x cols valid entries, row-major with
// `row_stride` between rows.
template <typename scalar_t>
struct Item {
  const scalar_t* cost;
  int64_t row_stride, rows, cols;
};

// Copies item `b` into ws.cost as a float64 minimisation with rows <= cols
// (negated for maximize, transposed when it has more rows than columns),
// refusing NaN and the wrong infinity on the way.
template <typename scalar_t>
void load_item(Workspace& ws, const Item<scalar_t>& item, int64_t b, bool maximize,
               bool transpose) {
  const int64_t rows = transpose ? item.cols : item.rows;
  const int64_t cols = transpose ? item.rows : item.cols;
  ws.cost.resize(rows * cols);
  for (int64_t i = 0; i < item.rows; ++i) {
    for (int64_t j = 0; j < item.cols; ++j) {
      const double value = static_cast<double>(item.cost[i * item.row_stride + j]);
      TORCH_CHECK(!std::isnan(value), kOp, ": cost[", b, "] contains NaN");
      const double minimised = maximize ? -value : value;
      TORCH_CHECK(minimised != -kInf, kOp, ": cost[", b, "] contains ", maximize ? "+inf" : "-inf",
                  "; only ", maximize ? "-inf" : "+inf", " is allowed (a forbidden pair",
                  maximize ? " when maximize=True" : "", ")");
      ws.cost[transpose ? j * cols + i : i * cols + j] = minimised;
    }
  }
}

// Solves item `b` and writes its pairs, rows ascending, into row_ind/col_ind
// (already filled with -1).
template <typename scalar_t>
void assign_item(Workspace& ws, const Item<scalar_t>& item, int64_t b, bool maximize,
                 int64_t* row_ind, int64_t* col_ind) {
  const bool transpose = item.rows > item.cols;
  load_item(ws, item, b, maximize, transpose);
  TORCH_CHECK(solve_assignment(ws, std::min(item.rows, item.cols), std::max(item.rows, item.cols)),
              kOp, ": cost[", b, "] is infeasible: no assignment of all ",
              "its rows (or columns) avoids the forbidden (infinite) entries");
  if (!transpose) {
    for (int64_t i = 0; i < item.rows; ++i) {
      row_ind[i] = i;
      col_ind[i] = ws.col_for_row[i];
    }
    return;
  }
  // Solved rows were the item's columns: list the pairs by original row.
  ws.col_for_original_row.assign(item.rows, -1);
  for (int64_t j = 0; j < item.cols; ++j) {
    ws.col_for_original_row[ws.col_for_row[j]] = j;
  }
  int64_t pair = 0;
  for (int64_t i = 0; i < item.rows; ++i) {
    if (ws.col_for_original_row[i] >= 0) {
      row_ind[pair] = i;
      col_ind[pair] = ws.col_for_original_row[i];
      ++pair;
    }
  }
}

// An item's solve reads its cost matrix about min(N, M) times, ~0.5 ns a read.
int64_t item_ns(int64_t rows, int64_t cols) { return std::min(rows, cols) * rows * cols / 2; }

// ---- operator -------------------------------------------------------------

std::tuple<at::Tensor, at::Tensor> linear_sum_assignment_cpu(
    const at::Tensor& cost, const std::optional<at::Tensor>& n_lengths,
    const std::optional<at::Tensor>& m_lengths, bool maximize) {
  check_arguments(Kernel::kCpu, cost, n_lengths, m_lengths);
  const int64_t batch = cost.size(0), rows = cost.size(1), cols = cost.size(2);
  const int64_t pairs = std::min(rows, cols);
  check_allocation(kOp, "the output", {batch, pairs}, sizeof(int64_t));
  check_allocation(kOp, "one item's working copy", {rows, cols}, sizeof(double));
  const at::Tensor costs = contiguous_on_pool(cost, kOp, "cost");
  const ItemLengths n(kOp, n_lengths, "n_lengths", rows, "the size of dimension 1 of 'cost'");
  const ItemLengths m(kOp, m_lengths, "m_lengths", cols, "the size of dimension 2 of 'cost'");
  at::Tensor row_ind = at::full({batch, pairs}, -1, cost.options().dtype(at::kLong));
  at::Tensor col_ind = at::full({batch, pairs}, -1, cost.options().dtype(at::kLong));
  ItemErrors errors;
  AT_DISPATCH_ALL_TYPES_AND3(at::kHalf, at::kBFloat16, at::kBool, cost.scalar_type(), kOp, [&] {
    const scalar_t* data = costs.const_data_ptr<scalar_t>();
    int64_t* row_out = row_ind.data_ptr<int64_t>();
    int64_t* col_out = col_ind.data_ptr<int64_t>();
    parallel_for(0, batch, grain_for(item_ns(rows, cols)), [&](int64_t first, int64_t last) {
      Workspace ws;
      for (int64_t b = first; b < last; ++b) {
        errors.run(b, [&] {
          const Item<scalar_t> item{data + b * rows * cols, cols, n[b], m[b]};
          assign_item(ws, item, b, maximize, row_out + b * pairs, col_out + b * pairs);
        });
      }
    });
  });
  errors.rethrow();
  return {row_ind, col_ind};
}

std::tuple<at::Tensor, at::Tensor> linear_sum_assignment_meta(
    const at::Tensor& cost, const std::optional<at::Tensor>& n_lengths,
    const std::optional<at::Tensor>& m_lengths, bool /*maximize*/) {
  check_arguments(Kernel::kMeta, cost, n_lengths, m_lengths);
  const c10::SymInt pairs = cost.sym_size(1).min(cost.sym_size(2));
  const auto options = cost.options().dtype(at::kLong);
  return {at::empty_symint({cost.sym_size(0), pairs}, options),
          at::empty_symint({cost.sym_size(0), pairs}, options)};
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def(
      "linear_sum_assignment(Tensor cost, Tensor? n_lengths=None, Tensor? m_lengths=None, "
      "bool maximize=False) -> (Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("linear_sum_assignment", &linear_sum_assignment_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) { m.impl("linear_sum_assignment", &linear_sum_assignment_meta); }

}  // namespace mt
