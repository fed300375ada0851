// mt::linear_sum_assignment: for every batch item, the assignment of rows to
// columns of minimal (or maximal) total cost, as scipy.optimize.linear_sum_assignment.
//
//   cost  [B, N, M] float32|float64; +inf marks a forbidden pair
//   sizes [B, 2] int64, optional: item b is the block cost[b, :n_b, :m_b]
//   -> row_ind, col_ind int64 [B, min(N, M)]: item b's pairs, rows ascending,
//      padded with -1 past min(n_b, m_b)
//
// Each item is solved by shortest augmenting paths (the Jonker-Volgenant
// family): rows enter one at a time, and a Dijkstra search over reduced costs
// finds the cheapest way to give the new row a column. Items fan out over the
// pool; an item's solve is sequential.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

#include "runtime/allocation.h"
#include "runtime/checks.h"
#include "runtime/contiguous.h"
#include "runtime/parallel.h"

namespace mt {
namespace {

constexpr const char* kOp = "mt::linear_sum_assignment";
constexpr double kInf = std::numeric_limits<double>::infinity();

// ---- checks ---------------------------------------------------------------

void check_arguments(Kernel kernel, const at::Tensor& cost,
                     const std::optional<at::Tensor>& sizes) {
  check_devices(kOp, kernel, {{&cost, "cost"}, {if_present(sizes), "sizes"}});
  check_dim(kOp, cost, "cost", 3, "[B, N, M]");
  check_floating(kOp, cost, "cost");
  if (sizes.has_value()) {
    check_dim(kOp, *sizes, "sizes", 2, "[B, 2]");
    check_dtype(kOp, *sizes, "sizes", at::kLong);
    check_size(kOp, *sizes, "sizes", 0, cost.sym_size(0), "the batch size of 'cost' is");
    check_size(kOp, *sizes, "sizes", 1, 2, "(n, m) pairs need");
  }
}

// Data check (CPU only): every (n_b, m_b) fits inside [N, M].
void check_sizes_fit(const int64_t* sizes, int64_t batch, int64_t rows, int64_t cols) {
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t n = sizes[2 * b], m = sizes[2 * b + 1];
    TORCH_CHECK(n >= 0 && n <= rows && m >= 0 && m <= cols, kOp, ": sizes[", b, "] = (", n,
                ", ", m, ") is outside the padded shape (", rows, ", ", cols, ") of 'cost'");
  }
}

// ---- kernel ---------------------------------------------------------------

// How one item's solve ended; errors are raised after the fan-out, for the
// lowest failing item, so the message does not depend on the thread count.
enum class Outcome : uint8_t { kSolved, kNaN, kWrongInfinity, kInfeasible };

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
    for (int64_t j = 0; j < cols; ++j) {
      ws.unvisited_cols[j] = j;
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
      const double offset = path_length - ws.row_dual[row];
      double nearest = kInf;
      int64_t nearest_at = -1;
      for (int64_t k = 0; k < unvisited; ++k) {
        const int64_t j = unvisited_cols[k];
        const double reduced = offset + row_cost[j] - col_dual[j];
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

// Copies the item into ws.cost as a minimisation with rows <= cols
// (negated for maximize, transposed when it has more rows than columns),
// checking its values on the way.
template <typename scalar_t>
Outcome load_item(Workspace& ws, const Item<scalar_t>& item, bool maximize, bool transpose) {
  const int64_t rows = transpose ? item.cols : item.rows;
  const int64_t cols = transpose ? item.rows : item.cols;
  ws.cost.resize(rows * cols);
  for (int64_t i = 0; i < item.rows; ++i) {
    for (int64_t j = 0; j < item.cols; ++j) {
      const double value = static_cast<double>(item.cost[i * item.row_stride + j]);
      if (std::isnan(value)) {
        return Outcome::kNaN;
      }
      const double minimised = maximize ? -value : value;
      if (minimised == -kInf) {
        return Outcome::kWrongInfinity;
      }
      ws.cost[transpose ? j * cols + i : i * cols + j] = minimised;
    }
  }
  return Outcome::kSolved;
}

// Solves one item and writes its pairs, rows ascending, into row_ind/col_ind
// (already filled with -1).
template <typename scalar_t>
Outcome assign_item(Workspace& ws, const Item<scalar_t>& item, bool maximize, int64_t* row_ind,
                    int64_t* col_ind) {
  const bool transpose = item.rows > item.cols;
  if (const Outcome loaded = load_item(ws, item, maximize, transpose);
      loaded != Outcome::kSolved) {
    return loaded;
  }
  if (!solve_assignment(ws, std::min(item.rows, item.cols), std::max(item.rows, item.cols))) {
    return Outcome::kInfeasible;
  }
  if (!transpose) {
    for (int64_t i = 0; i < item.rows; ++i) {
      row_ind[i] = i;
      col_ind[i] = ws.col_for_row[i];
    }
    return Outcome::kSolved;
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
  return Outcome::kSolved;
}

// About this many cost-matrix reads per chunk pay for a thread wakeup.
constexpr int64_t kWorkPerChunk = 1 << 16;

void raise_for(Outcome outcome, int64_t item, bool maximize) {
  switch (outcome) {
    case Outcome::kSolved:
      return;
    case Outcome::kNaN:
      TORCH_CHECK(false, kOp, ": cost[", item, "] contains NaN");
    case Outcome::kWrongInfinity:
      TORCH_CHECK(false, kOp, ": cost[", item, "] contains ", maximize ? "+inf" : "-inf",
                  "; only ", maximize ? "-inf" : "+inf", " is allowed (a forbidden pair",
                  maximize ? " when maximize=True" : "", ")");
    case Outcome::kInfeasible:
      TORCH_CHECK(false, kOp, ": cost[", item, "] is infeasible: no assignment of all ",
                  "its rows (or columns) avoids the forbidden (infinite) entries");
  }
}

std::tuple<at::Tensor, at::Tensor> linear_sum_assignment_cpu(
    const at::Tensor& cost, const std::optional<at::Tensor>& sizes, bool maximize) {
  check_arguments(Kernel::kCpu, cost, sizes);
  const int64_t batch = cost.size(0), rows = cost.size(1), cols = cost.size(2);
  const int64_t pairs = std::min(rows, cols);
  check_allocation(kOp, "the output", {batch, pairs}, sizeof(int64_t));
  check_allocation(kOp, "one item's working copy", {rows, cols}, sizeof(double));
  const at::Tensor costs = contiguous_on_pool(cost, kOp, "cost");
  at::Tensor item_sizes;
  if (sizes.has_value()) {
    item_sizes = contiguous_on_pool(*sizes, kOp, "sizes");
    check_sizes_fit(item_sizes.data_ptr<int64_t>(), batch, rows, cols);
  }
  const int64_t* size_of = sizes.has_value() ? item_sizes.data_ptr<int64_t>() : nullptr;
  at::Tensor row_ind = at::empty({batch, pairs}, cost.options().dtype(at::kLong));
  at::Tensor col_ind = at::empty({batch, pairs}, cost.options().dtype(at::kLong));
  std::vector<Outcome> outcomes(batch, Outcome::kSolved);
  const int64_t work_per_item = std::max<int64_t>(1, rows * cols * pairs);
  AT_DISPATCH_FLOATING_TYPES(cost.scalar_type(), kOp, [&] {
    const scalar_t* data = costs.data_ptr<scalar_t>();
    int64_t* row_out = row_ind.data_ptr<int64_t>();
    int64_t* col_out = col_ind.data_ptr<int64_t>();
    parallel_for(0, batch, std::max<int64_t>(1, kWorkPerChunk / work_per_item),
                 [&](int64_t first, int64_t last) {
                   Workspace ws;
                   for (int64_t b = first; b < last; ++b) {
                     const Item<scalar_t> item{data + b * rows * cols, cols,
                                               size_of ? size_of[2 * b] : rows,
                                               size_of ? size_of[2 * b + 1] : cols};
                     std::fill_n(row_out + b * pairs, pairs, -1);
                     std::fill_n(col_out + b * pairs, pairs, -1);
                     outcomes[b] = assign_item(ws, item, maximize, row_out + b * pairs,
                                               col_out + b * pairs);
                   }
                 });
  });
  for (int64_t b = 0; b < batch; ++b) {
    raise_for(outcomes[b], b, maximize);
  }
  return {row_ind, col_ind};
}

std::tuple<at::Tensor, at::Tensor> linear_sum_assignment_meta(
    const at::Tensor& cost, const std::optional<at::Tensor>& sizes, bool /*maximize*/) {
  check_arguments(Kernel::kMeta, cost, sizes);
  const c10::SymInt pairs = cost.sym_size(1).min(cost.sym_size(2));
  const auto options = cost.options().dtype(at::kLong);
  return {at::empty_symint({cost.sym_size(0), pairs}, options),
          at::empty_symint({cost.sym_size(0), pairs}, options)};
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def(
      "linear_sum_assignment(Tensor cost, Tensor? sizes=None, bool maximize=False) "
      "-> (Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("linear_sum_assignment", &linear_sum_assignment_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) {
  m.impl("linear_sum_assignment", &linear_sum_assignment_meta);
}

}  // namespace mt
