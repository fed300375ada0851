// Shortest augmenting paths, as SciPy's solver takes them: a free row gets a
// column by a Dijkstra search over reduced costs, and the path found flips
// the assignments along it. Columns are scanned in SciPy's order and each
// reduced cost is summed in SciPy's order, so from SciPy's start (no row
// assigned, zero duals) the rows entering one at a time end in SciPy's
// assignment, among tied optima too. The scan of a search step keeps the
// unvisited columns' data side by side in that order and, on AVX2, relaxes
// four columns per instruction (same bits as the portable loop).
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <torch_mt/parallel.h>

namespace mt::assignment {

constexpr double kInf = std::numeric_limits<double>::infinity();

#if defined(__x86_64__)
// An AVX2 row scan compiled as a function of its own. Inlined into the
// flattened dispatch entry, whose registers the whole solver competes for,
// its loop kept its pointers and constants on the stack (measured: the
// check pass of a 100 x 300 item ran at half speed).
#define MT_ROW_SCAN_AVX2 MT_TARGET_AVX2 __attribute__((noinline))
#define MT_ROW_SCAN_AVX512 MT_TARGET_AVX512 __attribute__((noinline))
#endif

// An allocator whose resize() leaves new elements of trivial types
// uninitialised: the candidate scans resize their output by a whole row
// before packing into it, and zeroing that row each time cost more than
// the scan (tracker-sized items).
template <typename T>
struct UninitializedAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  UninitializedAllocator() = default;
  template <typename U>
  UninitializedAllocator(const UninitializedAllocator<U>&) noexcept {}
  template <typename U>
  void construct(U* at) noexcept {
    ::new (static_cast<void*>(at)) U;  // default-initialised: no zeroing
  }
  template <typename U, typename... Args>
  void construct(U* at, Args&&... args) {
    ::new (static_cast<void*>(at)) U(std::forward<Args>(args)...);
  }
};

// One item's state, reused across the items of a chunk: its cost matrix, the
// duals (reduced costs cost(i, j) - row_dual[i] - col_dual[j] stay >= 0, and
// are 0 on assigned pairs) and the assignment (-1: none yet).
struct Workspace {
  // The item, rows x cols with rows <= cols, row-major, as the minimisation
  // solved: the caller's own float64 rows where it can be read as it is,
  // else `cost`, a converted copy.
  const double* matrix = nullptr;
  std::vector<double> cost;
  std::vector<double> row_dual, col_dual, shortest;
  std::vector<int64_t> col_for_row, row_for_col, path;
  std::vector<int64_t> visited_rows, visited_cols;  // the tree of the current row's search
  std::vector<int64_t> final_cols;            // the sparse search's columns made final, in order
  std::vector<int64_t> col_for_original_row;  // output order of transposed items
  std::vector<int64_t> pair_rows, pair_cols;  // the pairs, before the output
  // The columns not yet in the shortest-path tree, in SciPy's scan order, with
  // their tentative distance, predecessor row and dual beside them: the scan
  // then reads consecutive memory (and four columns per AVX2 instruction).
  std::vector<int64_t> unvisited_col, unvisited_path;
  std::vector<double> unvisited_shortest, unvisited_dual;
  // The Jonker-Volgenant start's (jv_start.h) and the uniqueness check's
  // (unique_optimum.h) scratch.
  std::vector<int64_t> free_rows, row_matches, tight_offsets, tight_rows, dfs_stack;
  std::vector<uint8_t> dfs_state;
  // The sparse rows of a cost_limit item (sparse_rejection.h): each row's
  // pairs that can be kept, and its searches' heap of (distance, column).
  std::vector<int64_t> edge_offsets;
  std::vector<int64_t, UninitializedAllocator<int64_t>> edge_cols;
  std::vector<double, UninitializedAllocator<double>> edge_costs;
  std::vector<double> candidate_bound;  // a candidate row's entries left out cost more
  // The claim start's (jv_start.h): each row's second-lowest cost, whether
  // the row's lows are known before the start (a transposed item's load
  // finds them), the rows whose duals the start's reduction or a search
  // changed (the checks read them), and each read row's node in the
  // sparse check's digraph.
  std::vector<double> row_second;
  bool lows_known = false;
  std::vector<uint8_t> row_touched;
  std::vector<int64_t> touched_rows, node_of_row;
  std::vector<std::pair<double, int64_t>> heap;
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
inline double relax_portable(Unvisited u, const double* row_cost, int64_t row, double path_length,
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
inline int64_t pick_portable(Unvisited u, const int64_t* row_for_col, double nearest, int64_t start,
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
// order per column (no FMA), so the same bits. The predecessors are written
// with a blend and a plain store, not a masked store: AMD's Zen microcodes
// vpmaskmov stores (tens of cycles each).
MT_ROW_SCAN_AVX2 inline double relax_avx2(Unvisited u, const double* row_cost, int64_t row,
                                          double path_length, double row_dual, int64_t count) {
  const __m256d length = _mm256_set1_pd(path_length), dual = _mm256_set1_pd(row_dual);
  const __m256d rows4 = _mm256_castsi256_pd(_mm256_set1_epi64x(row));
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
    const __m256d closer = _mm256_cmp_pd(reduced, before, _CMP_LT_OQ);
    double* path = reinterpret_cast<double*>(u.path + k);
    _mm256_storeu_pd(path, _mm256_blendv_pd(_mm256_loadu_pd(path), rows4, closer));
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
MT_ROW_SCAN_AVX2 inline int64_t pick_avx2(Unvisited u, const int64_t* row_for_col, double nearest,
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

// Marks `row` touched: a start's row reduction or a search changed its
// dual, so the check reads its pairs (jv_start.h, claim start).
inline void mark_touched(Workspace& ws, int64_t row) {
  if (!ws.row_touched[row]) {
    ws.row_touched[row] = 1;
    ws.touched_rows.push_back(row);
  }
}

// Augments along a search's path: flips the assignments from the free column
// `sink` back to `new_row` along the predecessors in ws.path.
inline void flip_path(Workspace& ws, int64_t sink, int64_t new_row) {
  for (int64_t col = sink;;) {
    const int64_t row_on_path = ws.path[col];
    ws.row_for_col[col] = row_on_path;
    std::swap(ws.col_for_row[row_on_path], col);
    if (row_on_path == new_row) {
      break;
    }
  }
}

// Gives the free row `new_row` of the `rows` x `cols` matrix ws.matrix a column
// along a shortest augmenting path, keeping the duals' invariant; false when
// every column still reachable is forbidden (+inf) to it. Isa: the
// instruction set (simd::dispatch's tag) of the column scans.
template <class Isa>
bool augment_row(Isa, Workspace& ws, int64_t cols, int64_t new_row) {
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
    const double* row_cost = ws.matrix + row * cols;
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
  flip_path(ws, sink, new_row);
  return true;
}

// Starts ws from nothing assigned and zero duals.
inline void start_empty(Workspace& ws, int64_t rows, int64_t cols) {
  ws.row_dual.assign(rows, 0.0);
  ws.col_dual.assign(cols, 0.0);
  ws.col_for_row.assign(rows, -1);
  ws.row_for_col.assign(cols, -1);
  ws.path.assign(cols, -1);
  ws.shortest.assign(cols, kInf);
}

// SciPy's solve of the `rows` x `cols` matrix ws.matrix (rows <= cols, entries
// finite or +inf): rows enter one at a time from nothing assigned, so among
// tied optima the one SciPy returns. False when no assignment of every row
// avoids the forbidden entries.
template <class Isa>
bool solve_in_scipy_order(Isa isa, Workspace& ws, int64_t rows, int64_t cols) {
  start_empty(ws, rows, cols);
  for (int64_t new_row = 0; new_row < rows; ++new_row) {
    if (!augment_row(isa, ws, cols, new_row)) {
      return false;
    }
  }
  return true;
}

}  // namespace mt::assignment
