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
#include <limits>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "candidate_pairs.h"
#include "sparse_rows.h"

namespace mt::assignment {

// The sparse rows of an item, written by one scan of all of it:
// `offsets[i]..offsets[i + 1]` index row i's entries at or below `limit`
// (column, cost, row), then its reject column cols + i at `limit`. NaN
// entries are kept too, so that the pass over the pairs (claim_lowest_columns)
// finds NaN and -inf, not every block of the scan. The outputs have room for
// rows * (cols + 1) + 8 entries (a block's overhang). Returns how many pairs.
struct SparseRowsOut {
  int64_t* offsets;
  int64_t* cols;
  double* costs;
  int64_t* rows;  // each pair's row
};

// Ends row i of a scan at `kept` pairs: its reject column, and its row on
// all its pairs (eight stores at once, which the room allows, and a loop
// for longer rows).
inline int64_t end_scanned_row(SparseRowsOut out, int64_t i, int64_t cols, double limit,
                               int64_t kept) {
  out.cols[kept] = cols + i, out.costs[kept] = limit;
  out.offsets[i + 1] = ++kept;
  const int64_t first = out.offsets[i];
  for (int64_t k = first; k < first + 8; ++k) {
    out.rows[k] = i;
  }
  for (int64_t k = first + 8; k < kept; ++k) {
    out.rows[k] = i;
  }
  return kept;
}

inline int64_t pairs_within_portable(const double* matrix, int64_t rows, int64_t cols, double limit,
                                     SparseRowsOut out) {
  int64_t kept = 0;
  out.offsets[0] = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const double* row_cost = matrix + i * cols;
    for (int64_t j = 0; j < cols; ++j) {
      if (!(row_cost[j] > limit)) {
        out.cols[kept] = j, out.costs[kept] = row_cost[j];
        ++kept;
      }
    }
    kept = end_scanned_row(out, i, cols, limit, kept);
  }
  return kept;
}

#if defined(__x86_64__)
// pairs_within_portable four entries a step, packed as candidates_avx2 packs
// them (no branch per kept entry: they fall at random places in a row).
MT_ROW_SCAN_AVX2 inline int64_t pairs_within_avx2(const double* matrix, int64_t rows, int64_t cols,
                                                  double limit, SparseRowsOut out) {
  const __m256d limit4 = _mm256_set1_pd(limit);
  const __m256i four = _mm256_set1_epi64x(4);
  int64_t kept = 0;
  out.offsets[0] = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const double* row_cost = matrix + i * cols;
    __m256i col4 = _mm256_setr_epi64x(0, 1, 2, 3);
    int64_t j = 0;
    for (; j + 4 <= cols; j += 4) {
      const __m256d value = _mm256_loadu_pd(row_cost + j);
      const int mask = _mm256_movemask_pd(_mm256_cmp_pd(value, limit4, _CMP_NGT_UQ));
      const __m256i pack =
          _mm256_load_si256(reinterpret_cast<const __m256i*>(kLeftPack.lanes[mask]));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.cols + kept),
                          _mm256_permutevar8x32_epi32(col4, pack));
      _mm256_storeu_pd(out.costs + kept, _mm256_castsi256_pd(_mm256_permutevar8x32_epi32(
                                             _mm256_castpd_si256(value), pack)));
      kept += __builtin_popcount(static_cast<unsigned>(mask));
      col4 = _mm256_add_epi64(col4, four);
    }
    for (; j < cols; ++j) {
      out.cols[kept] = j, out.costs[kept] = row_cost[j];
      kept += !(row_cost[j] > limit);
    }
    kept = end_scanned_row(out, i, cols, limit, kept);
  }
  return kept;
}

// One block of pairs_within_avx512: the `lanes` of the 8 entries at `at`
// (columns col8) kept go to `out` from `kept` on.
MT_TARGET_AVX512 inline void pairs_within_block(const double* at, __mmask8 lanes, __m512i col8,
                                                __m512d limit8, int64_t& kept, SparseRowsOut out) {
  const __m512d value = _mm512_maskz_loadu_pd(lanes, at);
  const __mmask8 keep = _mm512_mask_cmp_pd_mask(lanes, value, limit8, _CMP_NGT_UQ);
  _mm512_storeu_pd(out.costs + kept, _mm512_maskz_compress_pd(keep, value));
  _mm512_storeu_si512(out.cols + kept, _mm512_maskz_compress_epi64(keep, col8));
  kept += __builtin_popcount(static_cast<unsigned>(keep));
}

// The same eight entries a step: AVX-512 packs with one compress per
// output, and reads a row's last partial block with a masked load.
MT_ROW_SCAN_AVX512 inline int64_t pairs_within_avx512(const double* matrix, int64_t rows,
                                                      int64_t cols, double limit,
                                                      SparseRowsOut out) {
  const __m512d limit8 = _mm512_set1_pd(limit);
  const __m512i eight = _mm512_set1_epi64(8);
  const __mmask8 last_block = static_cast<__mmask8>((1u << (cols % 8)) - 1);
  int64_t kept = 0;
  out.offsets[0] = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const double* row_cost = matrix + i * cols;
    __m512i col8 = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
    int64_t j = 0;
    for (; j + 8 <= cols; j += 8) {
      pairs_within_block(row_cost + j, 0xff, col8, limit8, kept, out);
      col8 = _mm512_add_epi64(col8, eight);
    }
    if (last_block != 0) {
      pairs_within_block(row_cost + j, last_block, col8, limit8, kept, out);
    }
    kept = end_scanned_row(out, i, cols, limit, kept);
  }
  return kept;
}
#endif

template <class Isa>
int64_t pairs_within(Isa, const double* matrix, int64_t rows, int64_t cols, double limit,
                     SparseRowsOut out) {
#if defined(__x86_64__)
  if constexpr (Isa::isa == simd::Isa::avx512) {
    return pairs_within_avx512(matrix, rows, cols, limit, out);
  } else if constexpr (Isa::isa == simd::Isa::avx2) {
    return pairs_within_avx2(matrix, rows, cols, limit, out);
  }
#endif
  return pairs_within_portable(matrix, rows, cols, limit, out);
}

// Each row's two lowest costs and the column of the lowest, over a run of
// whole rows of the pairs, flat: a row's few pairs would cost a mispredicted
// loop exit each. The row's last pair leaves its final values.
struct LowestTwoRun {
  double lowest = kInf, second = kInf;
  int64_t col = -1, row = -1;
  bool odd = false;  // a NaN or -inf cost met
};

MT_SIMD_INLINE void lowest_two_step(LowestTwoRun& run, int64_t e, const Workspace& ws,
                                    double* lowest_cost, double* second_cost, int64_t* lowest_col) {
  const bool first_of_row = ws.edge_rows[e] != run.row;
  run.row = ws.edge_rows[e];
  const double cost = ws.edge_costs[e];
  run.odd |= !(cost >= -std::numeric_limits<double>::max());
  const double lowest = first_of_row ? kInf : run.lowest;
  const double second = first_of_row ? kInf : run.second;
  const bool below = cost < lowest;
  run.second = below ? lowest : std::min(second, cost);
  run.col = below ? ws.edge_cols[e] : run.col;
  run.lowest = below ? cost : lowest;
  lowest_cost[run.row] = run.lowest, second_cost[run.row] = run.second;
  lowest_col[run.row] = run.col;
}

// The start of a sparse rejection item: each row claims the column of its
// lowest cost, with duals row_dual = that cost, col_dual = 0. A row whose
// column an earlier row claimed stays free, and augmenting row reduction
// (jv_start.h) then settles the free rows as far as its budget goes. The
// rows it scans (their duals change) are marked touched; an untouched row
// keeps its claimed pair as its lowest reduced cost, and its others only
// rise as column duals fall, which the check relies on. False on a NaN or
// -inf cost.
inline bool claim_lowest_columns(Workspace& ws, int64_t rows, int64_t width) {
  ws.row_dual.resize(rows);
  ws.row_second.resize(rows);
  ws.col_for_row.resize(rows);
  double* lowest_cost = ws.row_dual.data();
  double* second_cost = ws.row_second.data();
  int64_t* lowest_col = ws.col_for_row.data();
  // Two runs of rows side by side: each run's steps form one chain of
  // dependent selects, so two chains take the time of one.
  const int64_t middle = ws.edge_offsets[rows / 2], end = ws.edge_offsets[rows];
  LowestTwoRun upper, lower;
  int64_t e = 0;
  for (; e < middle && middle + e < end; ++e) {
    lowest_two_step(upper, e, ws, lowest_cost, second_cost, lowest_col);
    lowest_two_step(lower, middle + e, ws, lowest_cost, second_cost, lowest_col);
  }
  for (int64_t rest = e; rest < middle; ++rest) {
    lowest_two_step(upper, rest, ws, lowest_cost, second_cost, lowest_col);
  }
  for (int64_t rest = middle + e; rest < end; ++rest) {
    lowest_two_step(lower, rest, ws, lowest_cost, second_cost, lowest_col);
  }
  if (upper.odd || lower.odd) {
    return false;
  }
  ws.row_for_col.assign(width, -1);
  ws.col_dual.assign(width, 0.0);
  ws.row_touched.assign(rows, 0);
  ws.free_rows.clear();
  for (int64_t i = 0; i < rows; ++i) {
    if (ws.row_for_col[lowest_col[i]] < 0) {
      ws.row_for_col[lowest_col[i]] = i;
    } else {
      lowest_col[i] = -1;
      ws.free_rows.push_back(i);
    }
  }
  if (ws.free_rows.empty()) {
    return true;
  }
  // Augmenting row reduction on the free rows (as reduce_sparse_rows).
  int64_t second_col = -1;
  const auto scan = [&](int64_t scanned, RowLows& lows) {
    ws.row_touched[scanned] = 1;
    second_col = lowest_two_sparse(ws, scanned, lows);
    return true;
  };
  const auto tied_col = [&](int64_t, int64_t, double) { return second_col; };
  augmenting_row_reduction(ws, rows, 6, scan, tied_col);
  for (const int64_t free_row : ws.free_rows) {
    ws.row_touched[free_row] = 1;
  }
  // The touched rows' duals, as solve_sparse_rows sets them.
  for (int64_t i = 0; i < rows; ++i) {
    if (ws.row_touched[i]) {
      ws.row_dual[i] = own_reduced_cost(ws, i);
    }
  }
  return true;
}

// Solves the `rows` x `cols` item ws.matrix with implicit rejection at
// `limit`: ws.col_for_row gets each row's column, cols + row where it is
// rejected. False when the optimum is tied or a cost is NaN or -inf (the
// caller then checks the costs and solves the widened item in SciPy's order).
template <class Isa>
bool solve_sparse_rejection(Isa isa, Workspace& ws, int64_t rows, int64_t cols, double limit) {
  const int64_t width = cols + rows;
  const int64_t room = rows * (cols + 1) + 8;
  ws.edge_offsets.resize(rows + 1);
  ws.edge_cols.resize(room), ws.edge_costs.resize(room), ws.edge_rows.resize(room);
  pairs_within(
      isa, ws.matrix, rows, cols, limit,
      {ws.edge_offsets.data(), ws.edge_cols.data(), ws.edge_costs.data(), ws.edge_rows.data()});
  if (!claim_lowest_columns(ws, rows, width)) {
    return false;  // NaN or -inf
  }
  ws.path.assign(width, -1);
  ws.shortest.assign(width, kInf);
  ws.dfs_state.assign(width, 0);  // the searches' "final" marks
  for (const int64_t row : ws.free_rows) {
    if (!augment_sparse(ws, row)) {
      return false;
    }
    // The rows whose duals the search changed: its own and those of the
    // columns it made final.
    ws.row_touched[row] = 1;
    for (const int64_t col : ws.visited_rows) {
      ws.row_touched[ws.row_for_col[col]] = 1;
    }
  }
  // An untouched row has a tight pair besides its own only when its two
  // lowest costs were within the tolerance to start with.
  return unique_sparse_optimum(ws, rows, width, [&](int64_t row, double tolerance) {
    return ws.row_touched[row] || ws.row_second[row] - ws.row_dual[row] <= tolerance;
  });
}

}  // namespace mt::assignment
