// mt::linear_sum_assignment: for every batch item, the assignment of rows to
// columns of minimal (or maximal) total cost, as scipy.optimize.linear_sum_assignment.
//
//   cost      [B, N, M] any real dtype (floating, integer, bool), solved in
//             float64; +inf marks a forbidden pair (-inf when maximizing)
//   n_lengths [B] int64, optional: item b has the first n_lengths[b] rows
//   m_lengths [B] int64, optional: ... and the first m_lengths[b] columns
//   maximize  find the assignment of maximal total cost instead
//   cost_limit  optional: implicit rejection as lap.lapjv(cost, extend_cost=True,
//             cost_limit=L) defines it: any row and any column may stay
//             unassigned, at L/2 each, so a pair is kept only where it pays
//             (the pairs minimise the sum of cost - L over the pairs kept)
//   -> row_ind, col_ind int64 [B, min(N, M)]: item b's pairs, rows ascending,
//      padded with -1 past min(n_b, m_b) (past its kept pairs with cost_limit)
//
// Each item is solved by shortest augmenting paths (the Jonker-Volgenant
// family) as SciPy's solver does it: rows enter one at a time, and a Dijkstra
// search over reduced costs finds the cheapest way to give the new row a
// column. Columns are scanned in SciPy's order and each reduced cost is summed
// in SciPy's order, so among tied optima both return the same one. The scan
// of a search step keeps the unvisited columns' data side by side in SciPy's
// order and, on AVX2, relaxes four columns per instruction (same bits as the
// portable loop). Items fan out over the pool; an item's solve is sequential.
//
// What it does not do: Jonker-Volgenant's initialisation (column reduction,
// augmenting row reduction), which lets lap.lapjv assign most rows of a dense
// square matrix before any shortest-path search: it finds a different optimum
// among ties, and SciPy's is ours. The vectorised scan keeps up with lapjv on
// one core anyway (docs/benchmarks.md).
#include <ATen/ATen.h>
#include <ATen/Dispatch_v2.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <tuple>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <torch_mt/parallel.h>

namespace mt::assignment {
namespace {

constexpr const char* kOp = "mt::linear_sum_assignment";
constexpr double kInf = std::numeric_limits<double>::infinity();

// ---- checks ---------------------------------------------------------------

void check_arguments(Kernel kernel, const at::Tensor& cost,
                     const std::optional<at::Tensor>& n_lengths,
                     const std::optional<at::Tensor>& m_lengths, bool maximize,
                     std::optional<double> cost_limit) {
  // Real, not only floating: SciPy accepts integer and bool costs.
  check_cost_batch(kOp, kernel, cost, CostDtypes::kReal, n_lengths, m_lengths);
  if (cost_limit.has_value()) {
    TORCH_CHECK_VALUE(!std::isnan(*cost_limit), kOp, ": cost_limit is NaN");
    TORCH_CHECK_VALUE(*cost_limit >= 0, kOp, ": cost_limit must be >= 0 (got ", *cost_limit, ")");
    TORCH_CHECK_VALUE(!maximize, kOp,
                      ": cost_limit rejects pairs that cost more than it; it has no meaning "
                      "with maximize=True");
  }
}

// ---- kernel ---------------------------------------------------------------

// Scratch for one item, reused across the items of a chunk.
struct Workspace {
  std::vector<double> cost;  // the item, rows <= cols, as the minimisation solved
  std::vector<double> row_dual, col_dual, shortest;
  std::vector<int64_t> col_for_row, row_for_col, path;
  std::vector<int64_t> visited_rows, visited_cols;  // the tree of the current row's search
  std::vector<int64_t> col_for_original_row;        // output order of transposed items
  // The columns not yet in the shortest-path tree, in SciPy's scan order, with
  // their tentative distance, predecessor row and dual beside them: the scan
  // then reads consecutive memory (and four columns per AVX2 instruction).
  std::vector<int64_t> unvisited_col, unvisited_path;
  std::vector<double> unvisited_shortest, unvisited_dual;
};

// The unvisited columns' arrays as raw pointers: the scans store through
// them, and through the vectors' own members the compiler would reload every
// data pointer after each store (they might alias).
struct Unvisited {
  const int64_t* col;
  const double* dual;
  double* shortest;
  int64_t* path;

  explicit Unvisited(Workspace& ws)
      : col(ws.unvisited_col.data()),
        dual(ws.unvisited_dual.data()),
        shortest(ws.unvisited_shortest.data()),
        path(ws.unvisited_path.data()) {}
};

// One step of a row's shortest-path search: relaxes every unvisited column
// through `row` (reduced cost path_length + cost(row, j) - row_dual - col_dual[j],
// summed left to right as SciPy does: another order rounds differently and
// can break a tie the other way), recording `row` as the predecessor of the
// columns it brings strictly closer, and returns the smallest tentative distance.
double relax_portable(Unvisited u, const double* row_cost, int64_t row, double path_length,
                      double row_dual, int64_t count) {
  double nearest = kInf;
  for (int64_t k = 0; k < count; ++k) {
    const double reduced = path_length + row_cost[u.col[k]] - row_dual - u.dual[k];
    if (reduced < u.shortest[k]) {
      u.shortest[k] = reduced;
      u.path[k] = row;
    }
    nearest = std::min(nearest, u.shortest[k]);
  }
  return nearest;
}

// The column SciPy's scan picks among those at distance `nearest`: the first
// in scan order, unless a free one (where the path can end) comes later, then
// the last free one; its position in the unvisited list. From `start` on
// (the positions before it hold no such column).
int64_t pick_portable(Unvisited u, const int64_t* row_for_col, double nearest, int64_t start,
                      int64_t count, int64_t first) {
  int64_t last_free = -1;
  for (int64_t k = start; k < count; ++k) {
    if (u.shortest[k] == nearest) {
      first = first < 0 ? k : first;
      last_free = row_for_col[u.col[k]] < 0 ? k : last_free;
    }
  }
  return last_free >= 0 ? last_free : first;
}

#if defined(__x86_64__)
// relax_portable on four columns per step: the same operations in the same
// order per column (no FMA), so the same bits.
MT_TARGET_AVX2 double relax_avx2(Unvisited u, const double* row_cost, int64_t row,
                                 double path_length, double row_dual, int64_t count) {
  const __m256d length = _mm256_set1_pd(path_length), dual = _mm256_set1_pd(row_dual);
  const __m256i rows4 = _mm256_set1_epi64x(row);
  __m256d nearest4 = _mm256_set1_pd(kInf);
  int64_t k = 0;
  for (; k + 4 <= count; k += 4) {
    const __m256i cols = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(u.col + k));
    const __m256d entry = _mm256_i64gather_pd(row_cost, cols, 8);
    const __m256d reduced = _mm256_sub_pd(_mm256_sub_pd(_mm256_add_pd(length, entry), dual),
                                          _mm256_loadu_pd(u.dual + k));
    // min(a, b) is a when a < b, else b: std::min(shortest, reduced) exactly.
    const __m256d before = _mm256_loadu_pd(u.shortest + k);
    const __m256d shortest = _mm256_min_pd(reduced, before);
    _mm256_storeu_pd(u.shortest + k, shortest);
    // The predecessor only where strictly closer: a masked store writes
    // nothing in the other lanes (a blend would rewrite all four).
    _mm256_maskstore_epi64(reinterpret_cast<long long*>(u.path + k),
                           _mm256_castpd_si256(_mm256_cmp_pd(reduced, before, _CMP_LT_OQ)), rows4);
    nearest4 = _mm256_min_pd(nearest4, shortest);
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, nearest4);
  const double nearest = std::min(std::min(lanes[0], lanes[1]), std::min(lanes[2], lanes[3]));
  u.col += k, u.dual += k, u.shortest += k, u.path += k;
  return std::min(nearest, relax_portable(u, row_cost, row, path_length, row_dual, count - k));
}

// pick_portable, four columns per compare; only blocks holding a column at
// `nearest` (usually one block) are looked at one by one.
MT_TARGET_AVX2 int64_t pick_avx2(Unvisited u, const int64_t* row_for_col, double nearest,
                                 int64_t count) {
  const __m256d target = _mm256_set1_pd(nearest);
  int64_t first = -1, last_free = -1;
  int64_t k = 0;
  for (; k + 4 <= count; k += 4) {
    const __m256d equal = _mm256_cmp_pd(_mm256_loadu_pd(u.shortest + k), target, _CMP_EQ_OQ);
    for (int hits = _mm256_movemask_pd(equal); hits != 0; hits &= hits - 1) {
      const int64_t at = k + __builtin_ctz(static_cast<unsigned>(hits));
      first = first < 0 ? at : first;
      last_free = row_for_col[u.col[at]] < 0 ? at : last_free;
    }
  }
  // The tail's pick: its last free column, else its first candidate.
  const int64_t tail = pick_portable(u, row_for_col, nearest, k, count, -1);
  if (tail >= 0 && row_for_col[u.col[tail]] < 0) {
    return tail;  // the last free column of all
  }
  if (last_free >= 0) {
    return last_free;
  }
  return first >= 0 ? first : tail;  // none free: the first candidate
}
#endif

// Minimum-cost assignment of every row of the `rows` x `cols` matrix
// ws.cost (rows <= cols, entries finite or +inf) into ws.col_for_row.
// Keeps reduced costs cost(i, j) - row_dual[i] - col_dual[j] >= 0 with
// equality on assigned pairs, so each shortest path is found by Dijkstra.
// Isa: the instruction set (simd::dispatch's tag) of the column scans.
template <class Isa>
bool solve_assignment(Isa, Workspace& ws, int64_t rows, int64_t cols) {
  ws.row_dual.assign(rows, 0.0);
  ws.col_dual.assign(cols, 0.0);
  ws.col_for_row.assign(rows, -1);
  ws.row_for_col.assign(cols, -1);
  ws.path.assign(cols, -1);
  ws.shortest.assign(cols, kInf);
  for (int64_t new_row = 0; new_row < rows; ++new_row) {
    ws.visited_rows.clear();
    ws.visited_cols.clear();
    ws.unvisited_col.resize(cols);
    ws.unvisited_dual.resize(cols);
    ws.unvisited_shortest.assign(cols, kInf);
    ws.unvisited_path.assign(cols, -1);
    for (int64_t k = 0; k < cols; ++k) {
      ws.unvisited_col[k] = cols - 1 - k;  // SciPy's scan order, for its tie-breaking
      ws.unvisited_dual[k] = ws.col_dual[cols - 1 - k];
    }
    int64_t unvisited = cols;
    double path_length = 0.0;  // of the shortest path found so far
    int64_t row = new_row, sink = -1;
    while (sink < 0) {  // grow the shortest-path tree by one column
      ws.visited_rows.push_back(row);
      const double* row_cost = ws.cost.data() + row * cols;
      const double row_dual = ws.row_dual[row];
      const Unvisited u(ws);
      const int64_t* row_for_col = ws.row_for_col.data();
      double nearest;
#if defined(__x86_64__)
      if constexpr (Isa::isa != simd::Isa::portable) {
        nearest = relax_avx2(u, row_cost, row, path_length, row_dual, unvisited);
      } else
#endif
      {
        nearest = relax_portable(u, row_cost, row, path_length, row_dual, unvisited);
      }
      if (nearest == kInf) {
        return false;  // every remaining column is forbidden from the tree
      }
      int64_t at;
#if defined(__x86_64__)
      if constexpr (Isa::isa != simd::Isa::portable) {
        at = pick_avx2(u, row_for_col, nearest, unvisited);
      } else
#endif
      {
        at = pick_portable(u, row_for_col, nearest, 0, unvisited, -1);
      }
      path_length = ws.unvisited_shortest[at];
      // The column joins the tree: its distance and predecessor are final.
      const int64_t col = ws.unvisited_col[at];
      ws.shortest[col] = ws.unvisited_shortest[at];
      ws.path[col] = ws.unvisited_path[at];
      ws.visited_cols.push_back(col);
      --unvisited;  // SciPy's swap with the last unvisited column
      ws.unvisited_col[at] = ws.unvisited_col[unvisited];
      ws.unvisited_dual[at] = ws.unvisited_dual[unvisited];
      ws.unvisited_shortest[at] = ws.unvisited_shortest[unvisited];
      ws.unvisited_path[at] = ws.unvisited_path[unvisited];
      if (ws.row_for_col[col] < 0) {
        sink = col;
      } else {
        row = ws.row_for_col[col];
      }
    }
    // Dual update keeps reduced costs non-negative and tight on the new path.
    ws.row_dual[new_row] += path_length;
    for (const int64_t i : ws.visited_rows) {
      if (i != new_row) {
        ws.row_dual[i] += path_length - ws.shortest[ws.col_for_row[i]];
      }
    }
    for (const int64_t j : ws.visited_cols) {
      ws.col_dual[j] -= path_length - ws.shortest[j];
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
      TORCH_CHECK_VALUE(!std::isnan(value), kOp, ": cost[", b, "] contains NaN");
      const double minimised = maximize ? -value : value;
      TORCH_CHECK_VALUE(minimised != -kInf, kOp, ": cost[", b, "] contains ",
                        maximize ? "+inf" : "-inf", "; only ", maximize ? "-inf" : "+inf",
                        " is allowed (a forbidden pair", maximize ? " when maximize=True" : "",
                        ")");
      ws.cost[transpose ? j * cols + i : i * cols + j] = minimised;
    }
  }
}

// Implicit rejection (cost_limit): item `b` as a rows x (cols + rows) problem
// in ws.cost, where row i may also take its own reject column at cost L (all
// other reject columns are forbidden to it). With k pairs kept that totals
// sum(cost) + (rows - k) L, and lap's extended square matrix (L/2 for each
// unassigned row and column) totals sum(cost) + (rows + cols - 2k) L/2: both
// minimise sum(cost - L) over the pairs kept, so both keep the same pairs,
// and this one solves rows x (rows + cols), not (rows + cols) squared.
template <class Isa, typename scalar_t>
void assign_item_with_rejection(Isa isa, Workspace& ws, const Item<scalar_t>& item, int64_t b,
                                double cost_limit, int64_t* row_ind, int64_t* col_ind) {
  load_item(ws, item, b, /*maximize=*/false, /*transpose=*/false);
  const int64_t rows = item.rows, cols = item.cols, width = cols + rows;
  // Widen the loaded rows x cols matrix in place, last row first (a row only
  // moves right, so no row is overwritten before it has moved).
  ws.cost.resize(rows * width);
  for (int64_t i = rows - 1; i >= 0; --i) {
    double* out = ws.cost.data() + i * width;
    std::memmove(out, ws.cost.data() + i * cols, cols * sizeof(double));
    std::fill(out + cols, out + width, kInf);
    out[cols + i] = cost_limit;
  }
  TORCH_CHECK(solve_assignment(isa, ws, rows, width), kOp, ": cost[", b,
              "] has no assignment, though every row may be rejected");
  int64_t pair = 0;
  for (int64_t i = 0; i < rows; ++i) {
    if (ws.col_for_row[i] < cols) {
      row_ind[pair] = i;
      col_ind[pair] = ws.col_for_row[i];
      ++pair;
    }
  }
}

// Solves item `b` and writes its pairs, rows ascending, into row_ind/col_ind
// (already filled with -1).
template <class Isa, typename scalar_t>
void assign_item(Isa isa, Workspace& ws, const Item<scalar_t>& item, int64_t b, bool maximize,
                 std::optional<double> cost_limit, int64_t* row_ind, int64_t* col_ind) {
  if (cost_limit.has_value() && *cost_limit < kInf) {  // +inf rejects nothing
    assign_item_with_rejection(isa, ws, item, b, *cost_limit, row_ind, col_ind);
    return;
  }
  const bool transpose = item.rows > item.cols;
  load_item(ws, item, b, maximize, transpose);
  TORCH_CHECK_VALUE(
      solve_assignment(isa, ws, std::min(item.rows, item.cols), std::max(item.rows, item.cols)),
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
    const std::optional<at::Tensor>& m_lengths, bool maximize, std::optional<double> cost_limit) {
  check_arguments(Kernel::kCpu, cost, n_lengths, m_lengths, maximize, cost_limit);
  const int64_t batch = cost.size(0), rows = cost.size(1), cols = cost.size(2);
  const int64_t pairs = std::min(rows, cols);
  check_allocation(kOp, "the output", {batch, pairs}, sizeof(int64_t));
  // With cost_limit an item is solved as rows x (cols + rows) (assign_item_with_rejection).
  check_allocation(kOp, "one item's working copy", {rows, cost_limit ? cols + rows : cols},
                   sizeof(double));
  const at::Tensor costs = contiguous_on_pool(cost, kOp, "cost");
  const ItemLengths n(kOp, n_lengths, "n_lengths", rows, "the size of dimension 1 of 'cost'");
  const ItemLengths m(kOp, m_lengths, "m_lengths", cols, "the size of dimension 2 of 'cost'");
  at::Tensor row_ind = at::full({batch, pairs}, -1, cost.options().dtype(at::kLong));
  at::Tensor col_ind = at::full({batch, pairs}, -1, cost.options().dtype(at::kLong));
  ItemErrors errors;
  const simd::Isa chosen = simd::isa();
  // Every real dtype SciPy takes, the unsigned ones included (the Meta kernel
  // accepts them, so a compiled graph must run them too).
  AT_DISPATCH_V2(cost.scalar_type(), kOp, AT_WRAP([&] {
                   const scalar_t* data = costs.const_data_ptr<scalar_t>();
                   int64_t* row_out = row_ind.data_ptr<int64_t>();
                   int64_t* col_out = col_ind.data_ptr<int64_t>();
                   const int64_t item_cost =
                       cost_limit ? item_ns(rows, cols + rows) : item_ns(rows, cols);
                   parallel_for(0, batch, grain_for(item_cost), [&](int64_t first, int64_t last) {
                     Workspace ws;
                     for (int64_t b = first; b < last; ++b) {
                       errors.run(b, [&] {
                         const Item<scalar_t> item{data + b * rows * cols, cols, n[b], m[b]};
                         simd::dispatch(chosen, [&](auto isa) {
                           assign_item(isa, ws, item, b, maximize, cost_limit, row_out + b * pairs,
                                       col_out + b * pairs);
                         });
                       });
                     }
                   });
                 }),
                 AT_EXPAND(AT_ALL_TYPES), at::kHalf, at::kBFloat16, at::kBool, at::kUInt16,
                 at::kUInt32, at::kUInt64);
  errors.rethrow();
  return {row_ind, col_ind};
}

std::tuple<at::Tensor, at::Tensor> linear_sum_assignment_meta(
    const at::Tensor& cost, const std::optional<at::Tensor>& n_lengths,
    const std::optional<at::Tensor>& m_lengths, bool maximize, std::optional<double> cost_limit) {
  check_arguments(Kernel::kMeta, cost, n_lengths, m_lengths, maximize, cost_limit);
  const c10::SymInt pairs = cost.sym_size(1).min(cost.sym_size(2));
  const auto options = cost.options().dtype(at::kLong);
  return {at::empty_symint({cost.sym_size(0), pairs}, options),
          at::empty_symint({cost.sym_size(0), pairs}, options)};
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def(
      "linear_sum_assignment(Tensor cost, Tensor? n_lengths=None, Tensor? m_lengths=None, "
      "bool maximize=False, float? cost_limit=None) -> (Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("linear_sum_assignment", &linear_sum_assignment_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) { m.impl("linear_sum_assignment", &linear_sum_assignment_meta); }

}  // namespace mt::assignment
