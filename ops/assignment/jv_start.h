// Jonker and Volgenant's start (Computing 38, 1987): before any shortest-path
// search, column reduction, reduction transfer and augmenting row reduction
// assign most rows of a dense matrix by cheap row scans, raising the duals
// as they go. On uniform square costs a few percent of the rows are left for
// the searches, which are what SciPy's solver spends its time in.
//
// The start keeps the invariant of shortest_paths.h (reduced costs >= 0, 0
// on assigned pairs), so augment_row finishes from it. For rows < cols it
// skips column reduction and starts from zero column duals: a column's dual
// then only falls when the column is assigned, so every column left free
// keeps a zero dual, which optimality of the rectangular problem asks.
//
// It finds an optimal assignment, but among tied optima not SciPy's: the
// caller checks that the optimum is unique (unique_optimum.h).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "shortest_paths.h"

namespace mt::assignment {

// The row scans of the start. Each reads a row's reduced costs
// cost(i, j) - col_dual[j]; the portable and AVX2 forms give the same
// answers, so the start takes the same steps on every instruction set.

// The two lowest reduced costs of a row, as a multiset (equal when the
// lowest is tied); +inf where the row has fewer finite entries.
struct LowestTwo {
  double lowest = kInf, second = kInf;

  void add(double value) {
    second = std::min(second, std::max(lowest, value));
    lowest = std::min(lowest, value);
  }
};

inline LowestTwo lowest_two_portable(const double* row_cost, const double* col_dual, int64_t cols) {
  LowestTwo two;
  for (int64_t j = 0; j < cols; ++j) {
    two.add(row_cost[j] - col_dual[j]);
  }
  return two;
}

// The first column other than `skip` whose reduced cost is `target`, or -1.
inline int64_t first_column_at_portable(const double* row_cost, const double* col_dual,
                                        int64_t cols, double target, int64_t skip) {
  for (int64_t j = 0; j < cols; ++j) {
    if (j != skip && row_cost[j] - col_dual[j] == target) {
      return j;
    }
  }
  return -1;
}

// Column reduction's scan: each column's lowest cost and its first row.
inline void column_minima_portable(const double* cost, int64_t side, double* lowest,
                                   int64_t* lowest_row) {
  for (int64_t i = 0; i < side; ++i) {  // row by row: contiguous reads
    const double* row_cost = cost + i * side;
    for (int64_t j = 0; j < side; ++j) {
      const bool lower = row_cost[j] < lowest[j];
      lowest[j] = lower ? row_cost[j] : lowest[j];
      lowest_row[j] = lower ? i : lowest_row[j];
    }
  }
}

#if defined(__x86_64__)
// lowest_two_portable in two sets of four lanes (two independent dependency
// chains), without a branch or a column: a branch on "new low" mispredicts
// all along a random row, and the columns are found afterwards by compare.
MT_ROW_SCAN_AVX2 inline LowestTwo lowest_two_avx2(const double* row_cost, const double* col_dual,
                                                  int64_t cols) {
  __m256d lowest[2], second[2];
  lowest[0] = lowest[1] = second[0] = second[1] = _mm256_set1_pd(kInf);
  int64_t j = 0;
  for (; j + 8 <= cols; j += 8) {
    for (int set = 0; set < 2; ++set) {
      const __m256d reduced = _mm256_sub_pd(_mm256_loadu_pd(row_cost + j + 4 * set),
                                            _mm256_loadu_pd(col_dual + j + 4 * set));
      second[set] = _mm256_min_pd(second[set], _mm256_max_pd(lowest[set], reduced));
      lowest[set] = _mm256_min_pd(lowest[set], reduced);
    }
  }
  // The lanes' pairs and the tail's reduced costs hold the row's two lowest.
  alignas(32) double lanes[4][4];
  _mm256_store_pd(lanes[0], lowest[0]), _mm256_store_pd(lanes[1], lowest[1]);
  _mm256_store_pd(lanes[2], second[0]), _mm256_store_pd(lanes[3], second[1]);
  LowestTwo two = lowest_two_portable(row_cost + j, col_dual + j, cols - j);
  for (const auto& values : lanes) {
    for (const double value : values) {
      two.add(value);
    }
  }
  return two;
}

MT_ROW_SCAN_AVX2 inline int64_t first_column_at_avx2(const double* row_cost, const double* col_dual,
                                                     int64_t cols, double target, int64_t skip) {
  const __m256d target4 = _mm256_set1_pd(target);
  int64_t j = 0;
  for (; j + 4 <= cols; j += 4) {
    const __m256d reduced =
        _mm256_sub_pd(_mm256_loadu_pd(row_cost + j), _mm256_loadu_pd(col_dual + j));
    int hits = _mm256_movemask_pd(_mm256_cmp_pd(reduced, target4, _CMP_EQ_OQ));
    for (; hits != 0; hits &= hits - 1) {
      const int64_t at = j + __builtin_ctz(static_cast<unsigned>(hits));
      if (at != skip) {
        return at;
      }
    }
  }
  const int64_t tail =
      first_column_at_portable(row_cost + j, col_dual + j, cols - j, target, skip - j);
  return tail < 0 ? -1 : j + tail;
}

MT_ROW_SCAN_AVX2 inline void column_minima_avx2(const double* cost, int64_t side, double* lowest,
                                                int64_t* lowest_row) {
  for (int64_t i = 0; i < side; ++i) {  // row by row, four columns at a time
    const double* row_cost = cost + i * side;
    const __m256d row4 = _mm256_castsi256_pd(_mm256_set1_epi64x(i));
    int64_t j = 0;
    for (; j + 4 <= side; j += 4) {
      const __m256d value = _mm256_loadu_pd(row_cost + j), low = _mm256_loadu_pd(lowest + j);
      const __m256d lower = _mm256_cmp_pd(value, low, _CMP_LT_OQ);
      double* row_of_low = reinterpret_cast<double*>(lowest_row + j);
      _mm256_storeu_pd(lowest + j, _mm256_blendv_pd(low, value, lower));
      _mm256_storeu_pd(row_of_low, _mm256_blendv_pd(_mm256_loadu_pd(row_of_low), row4, lower));
    }
    for (; j < side; ++j) {
      const bool lower = row_cost[j] < lowest[j];
      lowest[j] = lower ? row_cost[j] : lowest[j];
      lowest_row[j] = lower ? i : lowest_row[j];
    }
  }
}
#endif

template <class Isa>
LowestTwo lowest_two(Isa, const double* row_cost, const double* col_dual, int64_t cols) {
#if defined(__x86_64__)
  if constexpr (Isa::isa != simd::Isa::portable) {
    return lowest_two_avx2(row_cost, col_dual, cols);
  }
#endif
  return lowest_two_portable(row_cost, col_dual, cols);
}

template <class Isa>
int64_t first_column_at(Isa, const double* row_cost, const double* col_dual, int64_t cols,
                        double target, int64_t skip) {
#if defined(__x86_64__)
  if constexpr (Isa::isa != simd::Isa::portable) {
    return first_column_at_avx2(row_cost, col_dual, cols, target, skip);
  }
#endif
  return first_column_at_portable(row_cost, col_dual, cols, target, skip);
}

// Column reduction and reduction transfer of a square matrix: each column's
// dual is its lowest cost, and a row lowest in exactly one column takes it
// and hands its slack to that column's dual. The rows lowest in no column
// go to ws.free_rows. False when a column is all +inf (no assignment) or
// holds -inf (refused by the caller).
template <class Isa>
bool reduce_columns(Isa isa, Workspace& ws, int64_t side) {
  std::vector<double>& col_dual = ws.col_dual;
  std::vector<int64_t>& lowest_row = ws.path;  // free until the searches
  col_dual.assign(side, kInf);
  lowest_row.assign(side, 0);
#if defined(__x86_64__)
  if constexpr (Isa::isa != simd::Isa::portable) {
    column_minima_avx2(ws.matrix, side, col_dual.data(), lowest_row.data());
  } else
#endif
  {
    column_minima_portable(ws.matrix, side, col_dual.data(), lowest_row.data());
  }
  ws.row_matches.assign(side, 0);
  for (int64_t j = side - 1; j >= 0; --j) {
    if (!std::isfinite(col_dual[j])) {
      return false;  // all +inf (no assignment), or a -inf entry
    }
    const int64_t i = lowest_row[j];
    if (ws.row_matches[i]++ == 0) {
      ws.col_for_row[i] = j;
      ws.row_for_col[j] = i;
    }
  }
  ws.free_rows.clear();
  for (int64_t i = 0; i < side; ++i) {
    if (ws.row_matches[i] == 0) {
      ws.free_rows.push_back(i);
    } else if (ws.row_matches[i] == 1) {
      // Its own reduced cost is 0 and the lowest, so the second lowest is
      // the least over the other columns: the slack.
      const double slack = lowest_two(isa, ws.matrix + i * side, col_dual.data(), side).second;
      col_dual[ws.col_for_row[i]] -= slack == kInf ? 0.0 : slack;
    }
  }
  return true;
}

// A row as one step of augmenting row reduction sees it: its two lowest
// reduced costs (as a multiset) and the column of the lowest (-1: none).
struct RowLows {
  double lowest = kInf, second = kInf;
  int64_t col = -1;
};

// Augmenting row reduction over the rows in ws.free_rows: each free row takes
// the column of its lowest reduced cost, lowering that column's dual until
// the row's second-lowest ties it; the row it took the column from is freed
// and goes next. Two passes, as Jonker and Volgenant run it, each with a
// budget of `steps_per_row` steps a row (the reductions can be tiny on
// near-tied costs, and late steps cost more than the searches they save);
// the rows still free stay in ws.free_rows for the searches.
// `scan(row, lows)` fills `lows` (false: a cost it must not solve, which
// stops the reduction); `tied_col(row, col, value)` is another column of
// the row at reduced cost `value` (-1: the same refusal). Both read dense
// or sparse rows (reduce_rows here, reduce_sparse_rows in sparse_rows.h).
template <class Scan, class TiedCol>
bool augmenting_row_reduction(Workspace& ws, int64_t rows, int64_t steps_per_row, Scan scan,
                              TiedCol tied_col) {
  std::vector<int64_t>& free_rows = ws.free_rows;
  for (int pass = 0; pass < 2; ++pass) {
    const int64_t listed = static_cast<int64_t>(free_rows.size());
    int64_t budget = steps_per_row * rows + 64, kept = 0, next = 0;
    // Invariant: kept <= next, so the rows kept overwrite processed entries only.
    while (next < listed) {
      if (--budget < 0) {
        while (next < listed) {
          free_rows[kept++] = free_rows[next++];
        }
        break;
      }
      const int64_t row = free_rows[next++];
      RowLows lows;
      if (!scan(row, lows)) {
        return false;
      }
      int64_t col = lows.col;
      int64_t displaced = col >= 0 ? ws.row_for_col[col] : -1;
      if (col < 0 || (lows.second == kInf && displaced >= 0)) {
        // No column, or its one column, which lowering by an infinite slack
        // cannot win for good: the searches settle it.
        free_rows[kept++] = row;
        continue;
      }
      const bool strictly_lowest = lows.lowest < lows.second;
      if (strictly_lowest) {
        ws.col_dual[col] -= lows.second == kInf ? 0.0 : lows.second - lows.lowest;
      } else if (displaced >= 0) {  // tied: take the other column
        col = tied_col(row, col, lows.second);
        if (col < 0) {
          return false;
        }
        displaced = ws.row_for_col[col];
      }
      if (displaced >= 0) {
        ws.col_for_row[displaced] = -1;
      }
      ws.col_for_row[row] = col;
      ws.row_for_col[col] = row;
      if (displaced >= 0) {
        if (strictly_lowest) {
          free_rows[--next] = displaced;  // it goes next, against the raised dual
        } else {
          free_rows[kept++] = displaced;
        }
      }
    }
    free_rows.resize(kept);
  }
  return true;
}

// One step's scan of the dense row `row`: its two lowest reduced costs and
// the first column of the lowest. False on -inf or NaN in the way.
template <class Isa>
bool scan_dense_row(Isa isa, const Workspace& ws, int64_t row, int64_t cols, RowLows& lows) {
  const double* row_cost = ws.matrix + row * cols;
  const LowestTwo two = lowest_two(isa, row_cost, ws.col_dual.data(), cols);
  if (two.lowest == kInf) {
    return true;  // no column: the searches say so
  }
  lows.lowest = two.lowest, lows.second = two.second;
  lows.col = first_column_at(isa, row_cost, ws.col_dual.data(), cols, two.lowest, -1);
  return two.lowest > -kInf && lows.col >= 0;  // else -inf, or NaN in the way
}

// augmenting_row_reduction on the dense rows of ws.matrix. 2 steps a row: on
// uniform square costs more steps cost more than the searches they save
// (measured at 1, 2, 3, 4, 8 and 16 a row). False when a row holds -inf or
// NaN where it matters (refused by the caller).
// `on_scan(row)` hears of every row scanned (the claim start marks it).
template <class Isa, class OnScan = void (*)(int64_t)>
bool reduce_rows(
    Isa isa, Workspace& ws, int64_t rows, int64_t cols, OnScan on_scan = [](int64_t) {}) {
  const auto scan = [&](int64_t row, RowLows& lows) {
    on_scan(row);
    return scan_dense_row(isa, ws, row, cols, lows);
  };
  const auto tied_col = [&](int64_t row, int64_t col, double value) {
    return first_column_at(isa, ws.matrix + row * cols, ws.col_dual.data(), cols, value, col);
  };
  return augmenting_row_reduction(ws, rows, 2, scan, tied_col);
}

// Where each row's lows go: its lowest cost (`lowest`, first at column
// `lowest_col`) and second lowest (`second`, equal to it when tied, +inf
// for a row of one entry).
struct RowLowsOut {
  double* lowest;
  double* second;
  int64_t* lowest_col;
};

// The claim start, for items whose rows' lows come cheap (a transposed
// item's load, a sparse row's few pairs): each row claims the column of its
// lowest cost, with duals row_dual = that cost and col_dual = 0; a row whose
// column an earlier row claimed is left free (ws.free_rows). Augmenting row
// reduction then settles the free rows as far as its budget goes, and marks
// the rows it scans touched. An untouched row keeps its claimed pair as its
// lowest reduced cost, and its other pairs' reduced costs only rise as
// column duals fall: it has a tight pair besides its own only when its two
// lowest costs were within the tolerance to start with, so the checks read
// the touched rows and those alone.
//
// claim_lowest_columns takes the lows in ws.row_dual (lowest cost),
// ws.row_second and ws.col_for_row (the lowest's first column).
inline void claim_lowest_columns(Workspace& ws, int64_t rows, int64_t width) {
  ws.row_for_col.assign(width, -1);
  ws.col_dual.assign(width, 0.0);
  ws.row_touched.assign(rows, 0);
  ws.touched_rows.clear();
  ws.free_rows.clear();
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t col = ws.col_for_row[i];
    const int64_t holder = ws.row_for_col[col];
    if (holder < 0) {
      ws.row_for_col[col] = i;
      continue;
    }
    // Two rows want the column. The one with the smaller gap to its second
    // choice holds it: the other, free, takes it in row reduction, and the
    // holder moves to its second (two steps; the other way round, three).
    int64_t loser = i;
    if (ws.row_second[i] - ws.row_dual[i] < ws.row_second[holder] - ws.row_dual[holder]) {
      ws.row_for_col[col] = i;
      loser = holder;
    }
    ws.col_for_row[loser] = -1;
    ws.free_rows.push_back(loser);
  }
}

// The claim start of the dense `rows` x `cols` matrix ws.matrix (rows <=
// cols), its lows known; then, as jv_start leaves it, a partial assignment
// with valid duals and its free rows in ws.free_rows. False as jv_start.
template <class Isa>
bool claim_start(Isa isa, Workspace& ws, int64_t rows, int64_t cols) {
  ws.path.assign(cols, -1);
  ws.shortest.assign(cols, kInf);
  claim_lowest_columns(ws, rows, cols);
  if (ws.free_rows.empty()) {
    return true;
  }
  if (!reduce_rows(isa, ws, rows, cols, [&](int64_t row) { mark_touched(ws, row); })) {
    return false;
  }
  for (const int64_t row : ws.free_rows) {
    mark_touched(ws, row);
  }
  for (const int64_t i : ws.touched_rows) {
    const int64_t j = ws.col_for_row[i];
    ws.row_dual[i] = j >= 0 ? ws.matrix[i * cols + j] - ws.col_dual[j] : 0.0;
  }
  return true;
}

// The start on the `rows` x `cols` matrix ws.matrix (rows <= cols): ws holds
// a partial assignment with valid duals and its free rows in ws.free_rows.
// False when it proves there is no assignment or meets a cost it must not
// solve (-inf, NaN): the caller's fallback says which.
template <class Isa>
bool jv_start(Isa isa, Workspace& ws, int64_t rows, int64_t cols) {
  start_empty(ws, rows, cols);
  if (rows == cols) {
    if (!reduce_columns(isa, ws, rows)) {
      return false;
    }
  } else {
    ws.free_rows.resize(rows);
    for (int64_t i = 0; i < rows; ++i) {
      ws.free_rows[i] = i;
    }
  }
  if (!reduce_rows(isa, ws, rows, cols)) {
    return false;
  }
  // The row duals the searches read: tight on assigned pairs, 0 on free rows
  // (a search starts from its free row at path length 0).
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t j = ws.col_for_row[i];
    ws.row_dual[i] = j >= 0 ? ws.matrix[i * cols + j] - ws.col_dual[j] : 0.0;
  }
  ws.path.assign(cols, -1);
  return true;
}

}  // namespace mt::assignment
