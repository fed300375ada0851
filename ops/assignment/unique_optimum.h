// Is the assignment in ws the only optimal one? If so, every exact solver
// returns it, SciPy's included, whatever order it scans in.
//
// Complementary slackness: with optimal duals, an assignment is optimal
// exactly when all its pairs are tight (zero reduced cost) and every column
// it leaves free has a zero dual. So another optimum differs from ours by
// alternating chains of tight pairs, which in the digraph
//   row i -> row_for_col[j]  for each tight pair (i, j) not assigned,
//   row i -> free            for a tight pair (i, j) whose column j is free,
//   free  -> row i           for each row whose column has a zero dual,
// are cycles: a cycle through rows only swaps columns around it, one
// through `free` hands a zero-dual column's row a free column. Uniqueness
// is the absence of a cycle.
//
// The duals come out of floating-point sums, so "tight" and "zero" are read
// with a tolerance far above their rounding error and far below any real
// gap: an assignment within the tolerance of ours counts as a tie. A
// reduced cost below minus the tolerance (duals not optimal) also answers
// "not unique", so the caller's fallback decides.
//
// A row need not be read whole where its start proves more (RowRead): a
// candidate row's left-out entries are bounded below by its candidate
// threshold, and a row the claim start never touched keeps its start's
// lows (jv_start.h).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "shortest_paths.h"

namespace mt::assignment {

// The tolerance of "tight": 2^-42 (about 2.3e-13) of the largest magnitude
// among the duals and the assigned costs, per row and column. Sums of n
// doubles of that magnitude round by at most about n * 2^-53 of it. (A cost
// much larger than those is far from tight whatever its rounding.)
// Returns -1 when a free column has a dual beyond the tolerance (then the
// assignment is not optimal): one pass over the columns reads both.
struct ColumnDualScale {
  double largest = 0.0, largest_free = 0.0;  // magnitudes: all, free columns'
};

inline ColumnDualScale column_dual_scale_portable(const double* col_dual,
                                                  const int64_t* row_for_col, int64_t cols) {
  ColumnDualScale scale;
  for (int64_t j = 0; j < cols; ++j) {
    const double magnitude = std::abs(col_dual[j]);
    scale.largest = std::max(scale.largest, magnitude);
    scale.largest_free = std::max(scale.largest_free, row_for_col[j] < 0 ? magnitude : 0.0);
  }
  return scale;
}

#if defined(__x86_64__)
// column_dual_scale_portable four columns a step (GCC does not vectorise a
// max over doubles by itself).
MT_ROW_SCAN_AVX2 inline ColumnDualScale column_dual_scale_avx2(const double* col_dual,
                                                               const int64_t* row_for_col,
                                                               int64_t cols) {
  const __m256d magnitude_bits = _mm256_castsi256_pd(_mm256_set1_epi64x(INT64_MAX));
  __m256d largest = _mm256_setzero_pd(), largest_free = _mm256_setzero_pd();
  int64_t j = 0;
  for (; j + 4 <= cols; j += 4) {
    const __m256d magnitude = _mm256_and_pd(_mm256_loadu_pd(col_dual + j), magnitude_bits);
    const __m256i assigned_row =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row_for_col + j));
    const __m256d free =
        _mm256_castsi256_pd(_mm256_cmpgt_epi64(_mm256_setzero_si256(), assigned_row));
    largest = _mm256_max_pd(largest, magnitude);
    largest_free = _mm256_max_pd(largest_free, _mm256_and_pd(magnitude, free));
  }
  alignas(32) double lanes[2][4];
  _mm256_store_pd(lanes[0], largest), _mm256_store_pd(lanes[1], largest_free);
  ColumnDualScale scale = column_dual_scale_portable(col_dual + j, row_for_col + j, cols - j);
  for (int lane = 0; lane < 4; ++lane) {
    scale.largest = std::max(scale.largest, lanes[0][lane]);
    scale.largest_free = std::max(scale.largest_free, lanes[1][lane]);
  }
  return scale;
}
#endif

template <class Isa>
ColumnDualScale column_dual_scale(Isa, const Workspace& ws, int64_t cols) {
#if defined(__x86_64__)
  if constexpr (Isa::isa != simd::Isa::portable) {
    return column_dual_scale_avx2(ws.col_dual.data(), ws.row_for_col.data(), cols);
  }
#endif
  return column_dual_scale_portable(ws.col_dual.data(), ws.row_for_col.data(), cols);
}

// The check's scale: the tolerance (-1 when a free column has a dual
// beyond it), and the largest column dual's magnitude.
struct CheckScale {
  double tolerance;
  double largest_col_dual;
};

template <class Isa>
CheckScale tie_tolerance(Isa isa, const Workspace& ws, int64_t rows, int64_t cols) {
  double scale = 1e-300;
  for (int64_t i = 0; i < rows; ++i) {
    scale = std::max(scale, std::abs(ws.row_dual[i]));
    scale = std::max(scale, std::abs(ws.matrix[i * cols + ws.col_for_row[i]]));
  }
  const ColumnDualScale columns = column_dual_scale(isa, ws, cols);
  scale = std::max(scale, columns.largest);
  const double tolerance = std::ldexp(scale * static_cast<double>(rows + cols), -42);
  return {columns.largest_free <= tolerance ? tolerance : -1.0, columns.largest};
}

// One pair of the tight-pair scan: appends to ws.tight_rows the digraph
// node of a tight pair other than the row's own (the column's row, or
// `free_node`); false when its reduced cost is below -tolerance (a -inf cost
// too) or NaN.
inline bool note_tight_pair(Workspace& ws, double reduced, int64_t col, int64_t own,
                            double tolerance, int64_t free_node) {
  if (reduced > tolerance) {
    return true;
  }
  if (!(reduced >= -tolerance)) {
    return false;
  }
  if (col != own) {
    const int64_t other = ws.row_for_col[col];
    ws.tight_rows.push_back(other >= 0 ? other : free_node);
  }
  return true;
}

// note_tight_pair for row `row`'s columns from `first` on; false also when
// its own pair is not tight.
inline bool tight_pairs_portable(Workspace& ws, int64_t row, int64_t first, int64_t cols,
                                 double tolerance, int64_t free_node) {
  const double* row_cost = ws.matrix + row * cols;
  const double row_dual = ws.row_dual[row];
  const int64_t own = ws.col_for_row[row];
  for (int64_t j = first; j < cols; ++j) {
    if (!note_tight_pair(ws, row_cost[j] - row_dual - ws.col_dual[j], j, own, tolerance,
                         free_node)) {
      return false;
    }
  }
  const double own_reduced = row_cost[own] - row_dual - ws.col_dual[own];
  return std::abs(own_reduced) <= tolerance;
}

#if defined(__x86_64__)
// tight_pairs_portable, four columns per compare: only blocks holding a
// reduced cost at or below the tolerance (rare) are looked at one by one.
MT_ROW_SCAN_AVX2 inline bool tight_pairs_avx2(Workspace& ws, int64_t row, int64_t cols,
                                              double tolerance, int64_t free_node) {
  const double* row_cost = ws.matrix + row * cols;
  const double* col_dual = ws.col_dual.data();
  const double row_dual = ws.row_dual[row];
  const int64_t own = ws.col_for_row[row];
  const __m256d dual4 = _mm256_set1_pd(row_dual), tolerance4 = _mm256_set1_pd(tolerance);
  int64_t j = 0;
  for (; j + 4 <= cols; j += 4) {
    const __m256d reduced = _mm256_sub_pd(_mm256_sub_pd(_mm256_loadu_pd(row_cost + j), dual4),
                                          _mm256_loadu_pd(col_dual + j));
    // Not above the tolerance: tight, negative or NaN.
    for (int hits = _mm256_movemask_pd(_mm256_cmp_pd(reduced, tolerance4, _CMP_NGT_UQ)); hits != 0;
         hits &= hits - 1) {
      const int64_t at = j + __builtin_ctz(static_cast<unsigned>(hits));
      if (!note_tight_pair(ws, row_cost[at] - row_dual - col_dual[at], at, own, tolerance,
                           free_node)) {
        return false;
      }
    }
  }
  return tight_pairs_portable(ws, row, j, cols, tolerance, free_node);
}
#endif

// Whether the digraph in ws.tight_offsets/tight_rows (nodes 0..nodes-1) has
// a cycle: a depth-first search that meets a node still on its path.
inline bool has_cycle(Workspace& ws, int64_t nodes) {
  enum : uint8_t { kUnseen, kOnPath, kDone };
  ws.dfs_state.assign(nodes, kUnseen);
  std::vector<int64_t>& stack = ws.dfs_stack;  // (node, next edge) pairs
  for (int64_t root = 0; root < nodes; ++root) {
    if (ws.dfs_state[root] != kUnseen || ws.tight_offsets[root] == ws.tight_offsets[root + 1]) {
      continue;
    }
    stack.clear();
    stack.push_back(root);
    stack.push_back(ws.tight_offsets[root]);
    ws.dfs_state[root] = kOnPath;
    while (!stack.empty()) {
      const int64_t node = stack[stack.size() - 2];
      int64_t& edge = stack.back();
      if (edge == ws.tight_offsets[node + 1]) {
        ws.dfs_state[node] = kDone;
        stack.resize(stack.size() - 2);
        continue;
      }
      const int64_t next = ws.tight_rows[edge++];
      if (ws.tight_offsets[next] == ws.tight_offsets[next + 1]) {
        continue;  // no way on from it: on no cycle
      }
      if (ws.dfs_state[next] == kOnPath) {
        return true;
      }
      if (ws.dfs_state[next] == kUnseen) {
        ws.dfs_state[next] = kOnPath;
        stack.push_back(next);
        stack.push_back(ws.tight_offsets[next]);
      }
    }
  }
  return false;
}

// Whether another optimum exists, once ws.tight_rows and ws.tight_offsets
// hold the tight pairs of rows 0..rows-1 (node `rows` is `free`): adds the
// edges out of `free` and looks for a cycle.
inline bool tied_among_tight_pairs(Workspace& ws, int64_t rows, double tolerance) {
  if (ws.tight_rows.empty()) {
    return false;  // no tight pair but the assigned ones: no other optimum
  }
  const int64_t free_node = rows;
  // `free` matters only when some tight pair reaches a free column.
  if (std::find(ws.tight_rows.begin(), ws.tight_rows.end(), free_node) != ws.tight_rows.end()) {
    // (Only to rows with a way on: the others are on no cycle.)
    for (int64_t i = 0; i < rows; ++i) {
      if (ws.col_dual[ws.col_for_row[i]] >= -tolerance &&
          ws.tight_offsets[i] != ws.tight_offsets[i + 1]) {
        ws.tight_rows.push_back(i);
      }
    }
  }
  ws.tight_offsets[rows + 1] = static_cast<int64_t>(ws.tight_rows.size());
  // A cycle needs an edge into a node with a way on; most digraphs here have
  // none (each edge ends at `free` or at a row without tight pairs).
  bool chained = false;
  for (const int64_t next : ws.tight_rows) {
    chained |= ws.tight_offsets[next] != ws.tight_offsets[next + 1];
  }
  return chained && has_cycle(ws, rows + 1);
}

// What the check finds of a complete assignment and its duals.
enum class Optimum {
  kUnique,     // optimal, and no other assignment is
  kTied,       // optimal, and so is another (the caller solves in SciPy's order)
  kNotProven,  // the duals are not optimal (or a cost is NaN or -inf)
};

// note_tight_pair for row `row`'s sparse pairs (ws.edge_*) only; false also
// when its own pair is not among them or not tight.
inline bool tight_pairs_sparse(Workspace& ws, int64_t row, double tolerance, int64_t free_node) {
  const double row_dual = ws.row_dual[row];
  const int64_t own = ws.col_for_row[row];
  bool own_tight = false;
  for (int64_t e = ws.edge_offsets[row]; e < ws.edge_offsets[row + 1]; ++e) {
    const int64_t col = ws.edge_cols[e];
    const double reduced = ws.edge_costs[e] - row_dual - ws.col_dual[col];
    if (!note_tight_pair(ws, reduced, col, own, tolerance, free_node)) {
      return false;
    }
    own_tight |= col == own && std::abs(reduced) <= tolerance;
  }
  return own_tight;
}

// How the check reads a row: not at all (known to have no tight pair but
// its own and no negative reduced cost: it has no way on in the digraph),
// its sparse pairs only (every other entry known to be far above tight), or
// whole.
enum class RowRead { kKnown, kPairs, kWhole };

// The verdict on ws's complete assignment of the `rows` x `cols` matrix
// ws.matrix (rows <= cols), up to the tolerance; `how_to_read(row, scale)`
// says how each row is read (RowRead).
template <class Isa, class HowToRead>
Optimum unique_optimum(Isa isa, Workspace& ws, int64_t rows, int64_t cols, HowToRead how_to_read) {
  const CheckScale scale = tie_tolerance(isa, ws, rows, cols);
  const double tolerance = scale.tolerance;
  if (tolerance < 0) {
    return Optimum::kNotProven;  // a free column needs a zero dual
  }
  const int64_t free_node = rows;
  ws.tight_offsets.assign(rows + 2, 0);
  ws.tight_rows.clear();
  for (int64_t i = 0; i < rows; ++i) {
    bool optimal = true;
    const RowRead read = how_to_read(i, scale);
    if (read == RowRead::kPairs) {
      optimal = tight_pairs_sparse(ws, i, tolerance, free_node);
    } else if (read == RowRead::kWhole) {
#if defined(__x86_64__)
      if constexpr (Isa::isa != simd::Isa::portable) {
        optimal = tight_pairs_avx2(ws, i, cols, tolerance, free_node);
      } else
#endif
      {
        optimal = tight_pairs_portable(ws, i, 0, cols, tolerance, free_node);
      }
    }
    if (!optimal) {
      return Optimum::kNotProven;
    }
    ws.tight_offsets[i + 1] = static_cast<int64_t>(ws.tight_rows.size());
  }
  return tied_among_tight_pairs(ws, rows, tolerance) ? Optimum::kTied : Optimum::kUnique;
}

// unique_optimum reading every row whole.
template <class Isa>
Optimum unique_optimum(Isa isa, Workspace& ws, int64_t rows, int64_t cols) {
  return unique_optimum(isa, ws, rows, cols,
                        [](int64_t, const CheckScale&) { return RowRead::kWhole; });
}

}  // namespace mt::assignment
