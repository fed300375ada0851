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
// Each item is solved twice over only when its optimum is tied:
//   1. candidate_pairs.h solves square and near-square items on about the 16
//      cheapest entries of each row (sparse_rows.h); other items, and those
//      whose candidates miss a needed pair, get Jonker and Volgenant's dense
//      start (jv_start.h) and shortest augmenting paths (shortest_paths.h).
//   2. unique_optimum.h reads every entry with the optimal duals this
//      leaves: when none has a negative reduced cost and no other assignment
//      is optimal (within a tolerance far above rounding), it is the one
//      SciPy returns too, and the answer.
//   3. Otherwise (ties: integer costs, repeated values) the item is solved
//      again as SciPy solves it, rows entering one at a time with columns
//      scanned and reduced costs summed in SciPy's order, so among tied
//      optima both return the same one.
// cost_limit items are solved on the pairs at or below the limit
// (sparse_rejection.h), the same way. The scans are vectorised on AVX2 with
// the same results as the portable loops. Items fan out over the pool; an
// item's solve is sequential.
#include <ATen/ATen.h>
#include <ATen/Dispatch_v2.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <tuple>
#include <type_traits>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <torch_mt/parallel.h>
#include "candidate_pairs.h"
#include "jv_start.h"
#include "shortest_paths.h"
#include "sparse_rejection.h"
#include "unique_optimum.h"

namespace mt::assignment {
namespace {

constexpr const char* kOp = "mt::linear_sum_assignment";

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

// Refuses NaN and the wrong infinity in the loaded item `b`. Only SciPy's
// order needs it first: unique_optimum reads every entry and refuses the
// fast answer when it meets one of them.
void check_costs(const Workspace& ws, int64_t entries, int64_t b, bool maximize) {
  for (const double value : c10::ArrayRef<double>(ws.matrix, entries)) {
    TORCH_CHECK_VALUE(!std::isnan(value), kOp, ": cost[", b, "] contains NaN");
    TORCH_CHECK_VALUE(value != -kInf, kOp, ": cost[", b, "] contains ", maximize ? "+inf" : "-inf",
                      "; only ", maximize ? "-inf" : "+inf", " is allowed (a forbidden pair",
                      maximize ? " when maximize=True" : "", ")");
  }
}

// ---- kernel ---------------------------------------------------------------

// The claim start (jv_start.h) and searches for the rest, on an item whose
// rows' lows its load found; the check reads only the rows whose duals
// moved, and those whose two lowest costs are within the tolerance.
template <class Isa>
Optimum solve_from_claims(Isa isa, Workspace& ws, int64_t rows, int64_t cols) {
  if (!claim_start(isa, ws, rows, cols)) {
    return Optimum::kNotProven;
  }
  for (const int64_t row : ws.free_rows) {
    if (!augment_row(isa, ws, cols, row)) {
      return Optimum::kNotProven;
    }
    for (const int64_t moved : ws.visited_rows) {  // the search tree's rows
      mark_touched(ws, moved);
    }
  }
  return unique_optimum(isa, ws, rows, cols, [&](int64_t row, double tolerance) {
    return ws.row_touched[row] || ws.row_second[row] - ws.row_dual[row] <= tolerance;
  });
}

// Solves ws.matrix (rows x cols, rows <= cols, entries finite or +inf) into
// ws.col_for_row, with SciPy's assignment: Jonker and Volgenant's start and
// searches when the optimum they reach is unique (then it is SciPy's too),
// else SciPy's own order. False when no assignment avoids the +inf entries.
template <class Isa>
bool solve_assignment(Isa isa, Workspace& ws, int64_t rows, int64_t cols, int64_t b,
                      bool maximize) {
  Optimum fast = Optimum::kNotProven;
  if (candidates_suit(rows, cols)) {
    fast = solve_on_candidates(isa, ws, rows, cols);
  } else if (ws.lows_known) {
    fast = solve_from_claims(isa, ws, rows, cols);
  }
  if (fast == Optimum::kUnique) {
    return true;
  }
  // A tie found on them is a tie of the item (its duals were proven optimal
  // for every entry): straight to SciPy's order.
  if (fast == Optimum::kNotProven && jv_start(isa, ws, rows, cols)) {
    bool assigned = true;
    for (const int64_t row : ws.free_rows) {
      if (!augment_row(isa, ws, cols, row)) {
        assigned = false;
        break;
      }
    }
    if (assigned && unique_optimum(isa, ws, rows, cols) == Optimum::kUnique) {
      return true;
    }
  }
  check_costs(ws, rows * cols, b, maximize);
  return solve_in_scipy_order(isa, ws, rows, cols);
}

// One padded item of the batch: rows x cols valid entries, row-major with
// `row_stride` between rows.
template <typename scalar_t>
struct Item {
  const scalar_t* cost;
  int64_t row_stride, rows, cols;
};

#if defined(__x86_64__)
// Four rows of four entries as float64, times `sign`.
MT_TARGET_AVX2 inline __m256d four_as_double(const float* in, __m256d sign) {
  return _mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(in)), sign);
}
MT_TARGET_AVX2 inline __m256d four_as_double(const double* in, __m256d sign) {
  return _mm256_mul_pd(_mm256_loadu_pd(in), sign);
}

// Folds one entry, of row `row`, into a column's lows (RowLowsOut: lowest,
// second lowest, first row of the lowest).
inline void fold_into_lows(RowLowsOut lows, int64_t col, double value, int64_t row) {
  lows.second[col] = std::min(lows.second[col], std::max(lows.lowest[col], value));
  if (value < lows.lowest[col]) {
    lows.lowest[col] = value, lows.lowest_col[col] = row;
  }
}

// out[j * width + i] = sign * in[i * stride + j] for the rows x cols input,
// in blocks of 4 x 4 transposed in registers (a tall float32 item, the DETR
// matcher's shape, spent a third of its time in the scalar transpose). The
// same pass folds each input column (a row of the output) into `lows`, for
// the claim start (jv_start.h): the rows' lows come with the copy instead
// of a scan of each row. False on a NaN or -inf entry, or a column with no
// finite entry (the solver's other paths say which).
template <typename scalar_t>
MT_TARGET_AVX2 bool transpose_avx2(const scalar_t* in, int64_t rows, int64_t cols, int64_t stride,
                                   double sign, double* out, int64_t width, RowLowsOut lows) {
  std::fill(lows.lowest, lows.lowest + cols, kInf);
  std::fill(lows.second, lows.second + cols, kInf);
  std::fill(lows.lowest_col, lows.lowest_col + cols, -1);
  const __m256d sign4 = _mm256_set1_pd(sign);
  const __m256d lowest_finite = _mm256_set1_pd(-std::numeric_limits<double>::max());
  __m256d odd = _mm256_setzero_pd();
  bool odd_tail = false;
  int64_t i0 = 0;
  for (; i0 + 4 <= rows; i0 += 4) {
    int64_t j0 = 0;
    for (; j0 + 4 <= cols; j0 += 4) {
      const scalar_t* block = in + i0 * stride + j0;
      const __m256d r[4] = {four_as_double(block, sign4), four_as_double(block + stride, sign4),
                            four_as_double(block + 2 * stride, sign4),
                            four_as_double(block + 3 * stride, sign4)};
      // The four columns' lows, row after row.
      double* at_lowest = reinterpret_cast<double*>(lows.lowest_col + j0);
      __m256d lowest = _mm256_loadu_pd(lows.lowest + j0);
      __m256d second = _mm256_loadu_pd(lows.second + j0);
      __m256d lowest_row = _mm256_loadu_pd(at_lowest);
      for (int k = 0; k < 4; ++k) {
        odd = _mm256_or_pd(odd, _mm256_cmp_pd(r[k], lowest_finite, _CMP_NGE_UQ));
        second = _mm256_min_pd(second, _mm256_max_pd(lowest, r[k]));
        const __m256d lower = _mm256_cmp_pd(r[k], lowest, _CMP_LT_OQ);
        lowest = _mm256_blendv_pd(lowest, r[k], lower);
        lowest_row =
            _mm256_blendv_pd(lowest_row, _mm256_castsi256_pd(_mm256_set1_epi64x(i0 + k)), lower);
      }
      _mm256_storeu_pd(lows.lowest + j0, lowest);
      _mm256_storeu_pd(lows.second + j0, second);
      _mm256_storeu_pd(at_lowest, lowest_row);
      const __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
      const __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
      double* column = out + j0 * width + i0;
      _mm256_storeu_pd(column, _mm256_permute2f128_pd(t0, t2, 0x20));
      _mm256_storeu_pd(column + width, _mm256_permute2f128_pd(t1, t3, 0x20));
      _mm256_storeu_pd(column + 2 * width, _mm256_permute2f128_pd(t0, t2, 0x31));
      _mm256_storeu_pd(column + 3 * width, _mm256_permute2f128_pd(t1, t3, 0x31));
    }
    for (int64_t i = i0; i < i0 + 4; ++i) {
      for (int64_t j = j0; j < cols; ++j) {
        const double value = sign * static_cast<double>(in[i * stride + j]);
        odd_tail |= !(value >= -std::numeric_limits<double>::max());
        fold_into_lows(lows, j, value, i);
        out[j * width + i] = value;
      }
    }
  }
  for (int64_t i = i0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      const double value = sign * static_cast<double>(in[i * stride + j]);
      odd_tail |= !(value >= -std::numeric_limits<double>::max());
      fold_into_lows(lows, j, value, i);
      out[j * width + i] = value;
    }
  }
  return !odd_tail && _mm256_movemask_pd(odd) == 0 &&
         std::all_of(lows.lowest, lows.lowest + cols, [](double low) { return low < kInf; });
}
#endif

// Points ws.matrix at item `b` as a float64 minimisation with rows <= cols:
// the caller's memory where it is that already, else a copy in ws.cost,
// negated for maximize and transposed when it has more rows than columns.
// NaN and the wrong infinity are refused later (check_costs).
template <typename scalar_t>
void load_item(Workspace& ws, const Item<scalar_t>& item, bool maximize, bool transpose) {
  const int64_t rows = transpose ? item.cols : item.rows;
  const int64_t width = transpose ? item.rows : item.cols;
  ws.lows_known = false;
  if constexpr (std::is_same_v<scalar_t, double>) {
    if (!maximize && !transpose && width == item.row_stride) {
      ws.matrix = item.cost;
      return;
    }
  }
  const double sign = maximize ? -1.0 : 1.0;
  ws.cost.resize(rows * width);
  double* out = ws.cost.data();
  ws.matrix = out;
  if (!transpose) {
    for (int64_t i = 0; i < item.rows; ++i) {
      const scalar_t* in = item.cost + i * item.row_stride;
      for (int64_t j = 0; j < item.cols; ++j) {
        out[i * width + j] = sign * static_cast<double>(in[j]);
      }
    }
  } else {
#if defined(__x86_64__)
    if constexpr (std::is_same_v<scalar_t, float> || std::is_same_v<scalar_t, double>) {
      if (simd::isa() != simd::Isa::portable) {
        ws.row_dual.resize(rows), ws.row_second.resize(rows), ws.col_for_row.resize(rows);
        ws.lows_known =
            transpose_avx2(item.cost, item.rows, item.cols, item.row_stride, sign, out, width,
                           {ws.row_dual.data(), ws.row_second.data(), ws.col_for_row.data()});
        return;
      }
    }
#endif
    // In tiles of 16 x 16, so that neither side strides through memory.
    constexpr int64_t kTile = 16;
    for (int64_t i0 = 0; i0 < item.rows; i0 += kTile) {
      for (int64_t j0 = 0; j0 < item.cols; j0 += kTile) {
        const int64_t i1 = std::min(i0 + kTile, item.rows), j1 = std::min(j0 + kTile, item.cols);
        for (int64_t i = i0; i < i1; ++i) {
          for (int64_t j = j0; j < j1; ++j) {
            out[j * width + i] = sign * static_cast<double>(item.cost[i * item.row_stride + j]);
          }
        }
      }
    }
  }
}

// cost_limit's dense form of the loaded rows x cols item: rows x (cols +
// rows) in ws.cost, row i's own reject column cols + i at the limit and the
// other reject columns forbidden (+inf).
void widen_for_rejection(Workspace& ws, int64_t rows, int64_t cols, double limit) {
  const int64_t width = cols + rows;
  if (ws.matrix != ws.cost.data()) {
    ws.cost.assign(ws.matrix, ws.matrix + rows * cols);
  }
  // In place, last row first: a row only moves right, so none is
  // overwritten before it has moved.
  ws.cost.resize(rows * width);
  for (int64_t i = rows - 1; i >= 0; --i) {
    double* out = ws.cost.data() + i * width;
    std::memmove(out, ws.cost.data() + i * cols, cols * sizeof(double));
    std::fill(out + cols, out + width, kInf);
    out[cols + i] = limit;
  }
  ws.matrix = ws.cost.data();
}

// The pairs of a solved item into row_ind/col_ind (already filled with -1),
// rows ascending: ws.col_for_row holds the column of each of the `rows`
// solved rows, the item's columns when `transposed`; solved columns from
// `kept_cols` on are rejections (cost_limit), not pairs.
void write_pairs(Workspace& ws, int64_t rows, int64_t kept_cols, bool transposed, int64_t* row_ind,
                 int64_t* col_ind) {
  int64_t pair = 0;
  if (!transposed) {
    for (int64_t i = 0; i < rows; ++i) {
      if (ws.col_for_row[i] < kept_cols) {
        row_ind[pair] = i;
        col_ind[pair] = ws.col_for_row[i];
        ++pair;
      }
    }
    return;
  }
  // Solved rows were the item's columns: list the pairs by original row.
  // Which original rows have a pair is random (half of them, in a 2:1 tall
  // item), so they are listed without a branch, into ws.pair_rows/pair_cols
  // first: one entry past the last pair is written too.
  ws.col_for_original_row.assign(kept_cols, -1);
  for (int64_t j = 0; j < rows; ++j) {
    ws.col_for_original_row[ws.col_for_row[j]] = j;
  }
  ws.pair_rows.resize(kept_cols + 1), ws.pair_cols.resize(kept_cols + 1);
  int64_t* pair_rows = ws.pair_rows.data();
  int64_t* pair_cols = ws.pair_cols.data();
  const int64_t* col_of = ws.col_for_original_row.data();
  for (int64_t i = 0; i < kept_cols; ++i) {
    pair_rows[pair] = i, pair_cols[pair] = col_of[i];
    pair += col_of[i] >= 0;
  }
  std::copy_n(pair_rows, pair, row_ind);
  std::copy_n(pair_cols, pair, col_ind);
}

// Solves the item loaded into ws (load_item: `rows` x `cols` as the caller
// gave it) and writes its pairs.
//
// Implicit rejection (cost_limit) is solved on the pairs that can be kept
// (sparse_rejection.h), or when that optimum is tied, as rows x (cols + rows),
// where row i may also take its own reject column at cost L. With k pairs
// kept that totals sum(cost) + (rows - k) L, and lap's extended square matrix
// (L/2 for each unassigned row and column) totals sum(cost) +
// (rows + cols - 2k) L/2: both minimise sum(cost - L) over the pairs kept, so
// both keep the same pairs, and this one solves rows x (rows + cols), not
// (rows + cols) squared.
template <class Isa>
void solve_item(Isa isa, Workspace& ws, int64_t rows, int64_t cols, int64_t b, bool maximize,
                std::optional<double> reject_cost, int64_t* row_ind, int64_t* col_ind) {
  if (reject_cost) {
    if (!solve_sparse_rejection(isa, ws, rows, cols, *reject_cost)) {
      check_costs(ws, rows * cols, b, maximize);
      widen_for_rejection(ws, rows, cols, *reject_cost);
      TORCH_CHECK(solve_in_scipy_order(isa, ws, rows, cols + rows), kOp, ": cost[", b,
                  "] has no assignment, though every row may be rejected");
    }
    write_pairs(ws, rows, cols, /*transposed=*/false, row_ind, col_ind);
    return;
  }
  TORCH_CHECK_VALUE(
      solve_assignment(isa, ws, std::min(rows, cols), std::max(rows, cols), b, maximize), kOp,
      ": cost[", b, "] is infeasible: no assignment of all ",
      "its rows (or columns) avoids the forbidden (infinite) entries");
  write_pairs(ws, std::min(rows, cols), rows > cols ? rows : cols, rows > cols, row_ind, col_ind);
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
  // With cost_limit an item is solved as rows x (cols + rows) (solve_item).
  check_allocation(kOp, "one item's working copy", {rows, cost_limit ? cols + rows : cols},
                   sizeof(double));
  const at::Tensor costs = contiguous_on_pool(cost, kOp, "cost");
  const ItemLengths n(kOp, n_lengths, "n_lengths", rows, "the size of dimension 1 of 'cost'");
  const ItemLengths m(kOp, m_lengths, "m_lengths", cols, "the size of dimension 2 of 'cost'");
  at::Tensor row_ind = at::full({batch, pairs}, -1, cost.options().dtype(at::kLong));
  at::Tensor col_ind = at::full({batch, pairs}, -1, cost.options().dtype(at::kLong));
  ItemErrors errors;
  const simd::Isa chosen = simd::isa();
  // +inf rejects nothing.
  const std::optional<double> reject_cost =
      cost_limit && *cost_limit < kInf ? cost_limit : std::nullopt;
  // Only the loading depends on the dtype: the solver is compiled once per
  // instruction set, not once per dtype and instruction set.
  const auto load = [&](Workspace& ws, int64_t b) {
    // Every real dtype SciPy takes, the unsigned ones included (the Meta kernel
    // accepts them, so a compiled graph must run them too).
    AT_DISPATCH_V2(cost.scalar_type(), kOp, AT_WRAP([&] {
                     const Item<scalar_t> item{costs.const_data_ptr<scalar_t>() + b * rows * cols,
                                               cols, n[b], m[b]};
                     load_item(ws, item, maximize, !reject_cost && n[b] > m[b]);
                   }),
                   AT_EXPAND(AT_ALL_TYPES), at::kHalf, at::kBFloat16, at::kBool, at::kUInt16,
                   at::kUInt32, at::kUInt64);
  };
  int64_t* row_out = row_ind.data_ptr<int64_t>();
  int64_t* col_out = col_ind.data_ptr<int64_t>();
  const int64_t item_cost = reject_cost ? item_ns(rows, cols + rows) : item_ns(rows, cols);
  parallel_for(0, batch, grain_for(item_cost), [&](int64_t first, int64_t last) {
    Workspace ws;
    for (int64_t b = first; b < last; ++b) {
      errors.run(b, [&] {
        load(ws, b);
        simd::dispatch(chosen, [&](auto isa) {
          solve_item(isa, ws, n[b], m[b], b, maximize, reject_cost, row_out + b * pairs,
                     col_out + b * pairs);
        });
      });
    }
  });
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
