// Dense rows into sparse ones: the scan that keeps a row's entries not
// above a bound (NaN and -inf with them, for the caller to refuse), a few of
// dozens or hundreds (a row's candidates, candidate_pairs.h; a tracker's
// frame under cost_limit, whole items at a time, sparse_rejection.h), as a
// bit mask per 64 columns whose set bits are then taken without a branch;
// and a pass over sparse rows for each one's two lowest costs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "sparse_rows.h"

namespace mt::assignment {

// A scan's output: row i's pairs (column, cost) at offsets[i]..offsets[i +
// 1] of cols/costs (offsets: null where the caller keeps them).
struct SparseRowsOut {
  int64_t* offsets;
  int64_t* cols;
  double* costs;
};

// Where a row scan also folds the row into column minima (lowest cost,
// first row), as column reduction takes them; null: it does not.
struct ColumnMinima {
  double* lowest = nullptr;
  int64_t* lowest_row = nullptr;
};

// Writes row `row`'s entries not above `bound` (column, cost) to
// out.cols/out.costs, which have room for `cols` + 4, and folds the row
// into `minima`. Returns how many were kept. NaN is kept too ("not above"),
// as -inf is: the caller looks for both among the kept costs
// (holds_nan_or_minus_inf), a few entries a row, instead of a compare of
// every entry here.
inline int64_t row_within_portable(const double* row_cost, int64_t row, int64_t cols, double bound,
                                   ColumnMinima minima, SparseRowsOut out) {
  int64_t kept = 0;
  for (int64_t j = 0; j < cols; ++j) {
    if (!(row_cost[j] > bound)) {
      out.cols[kept] = j, out.costs[kept] = row_cost[j];
      ++kept;
    }
    if (minima.lowest != nullptr && row_cost[j] < minima.lowest[j]) {
      minima.lowest[j] = row_cost[j], minima.lowest_row[j] = row;
    }
  }
  return kept;
}

// Whether any of `count` kept costs is NaN or -inf (row_within keeps both).
inline bool holds_nan_or_minus_inf(const double* kept_costs, int64_t count) {
  bool odd = false;
  for (int64_t e = 0; e < count; ++e) {
    odd |= !(kept_costs[e] >= -std::numeric_limits<double>::max());
  }
  return odd;
}

#if defined(__x86_64__)
// Appends the kept entries of a chunk of at most 64 columns of a row (bit j
// of `bits`: column first_col + j is kept) from `kept` on. The first four are
// taken without a branch (a row keeps a few), written past the kept pairs
// where there are fewer (the room allows); a loop takes the rest.
MT_TARGET_AVX2 inline int64_t append_kept(uint64_t bits, const double* chunk_cost,
                                          int64_t chunk_cols, int64_t first_col, int64_t kept,
                                          SparseRowsOut out) {
  const int64_t count = _mm_popcnt_u64(bits);
  for (int64_t t = 0; t < 4; ++t) {
    // tzcnt of no bit is 64: clamped to a column of the chunk.
    const int64_t j = std::min<int64_t>(_tzcnt_u64(bits), chunk_cols - 1);
    out.cols[kept + t] = first_col + j, out.costs[kept + t] = chunk_cost[j];
    bits = _blsr_u64(bits);
  }
  for (int64_t t = 4; t < count; ++t) {
    const int64_t j = _tzcnt_u64(bits);
    out.cols[kept + t] = first_col + j, out.costs[kept + t] = chunk_cost[j];
    bits = _blsr_u64(bits);
  }
  return kept + count;
}

// Folds four entries (columns j..j + 3 of the item) into the column minima.
MT_TARGET_AVX2 inline void fold_into_minima_avx2(__m256d value, __m256d row4, int64_t j,
                                                 ColumnMinima minima) {
  double* low_at = minima.lowest + j;
  double* row_of_low = reinterpret_cast<double*>(minima.lowest_row + j);
  const __m256d low = _mm256_loadu_pd(low_at);
  const __m256d lower = _mm256_cmp_pd(value, low, _CMP_LT_OQ);
  _mm256_storeu_pd(low_at, _mm256_blendv_pd(low, value, lower));
  _mm256_storeu_pd(row_of_low, _mm256_blendv_pd(_mm256_loadu_pd(row_of_low), row4, lower));
}

// The four entries at `at` not above `bound4` (NaN included), as bits.
MT_TARGET_AVX2 inline uint64_t kept_mask_avx2(const double* at, __m256d bound4) {
  return static_cast<uint64_t>(
      _mm256_movemask_pd(_mm256_cmp_pd(_mm256_loadu_pd(at), bound4, _CMP_NGT_UQ)));
}

// row_within_portable a 64-column chunk at a time: four entries a compare
// into the chunk's bit mask (sixteen a loop step, by shifts of constants,
// where no column minima are taken), then append_kept.
MT_TARGET_AVX2 inline int64_t row_within_avx2(const double* row_cost, int64_t row, int64_t cols,
                                              double bound, ColumnMinima minima,
                                              SparseRowsOut out) {
  const __m256d bound4 = _mm256_set1_pd(bound);
  const __m256d row4 = _mm256_castsi256_pd(_mm256_set1_epi64x(row));
  int64_t kept = 0;
  for (int64_t first = 0; first < cols; first += 64) {
    const double* chunk = row_cost + first;
    const int64_t width = std::min<int64_t>(64, cols - first);
    uint64_t bits = 0;
    int64_t j = 0;
    if (minima.lowest == nullptr) {  // sixteen a step: 5% off a tracker frame's scan
      for (; j + 16 <= width; j += 16) {
        const uint64_t block = kept_mask_avx2(chunk + j, bound4) |
                               kept_mask_avx2(chunk + j + 4, bound4) << 4 |
                               kept_mask_avx2(chunk + j + 8, bound4) << 8 |
                               kept_mask_avx2(chunk + j + 12, bound4) << 12;
        bits |= block << j;
      }
    }
    for (; j + 4 <= width; j += 4) {
      bits |= kept_mask_avx2(chunk + j, bound4) << j;
      if (minima.lowest != nullptr) {
        fold_into_minima_avx2(_mm256_loadu_pd(chunk + j), row4, first + j, minima);
      }
    }
    for (; j < width; ++j) {
      bits |= static_cast<uint64_t>(!(chunk[j] > bound)) << j;
      if (minima.lowest != nullptr && chunk[j] < minima.lowest[first + j]) {
        minima.lowest[first + j] = chunk[j], minima.lowest_row[first + j] = row;
      }
    }
    kept = append_kept(bits, chunk, width, first, kept, out);
  }
  return kept;
}

// row_within_avx2 eight entries a compare, a chunk's last partial block by
// a masked load.
MT_TARGET_AVX512 inline int64_t row_within_avx512(const double* row_cost, int64_t row, int64_t cols,
                                                  double bound, ColumnMinima minima,
                                                  SparseRowsOut out) {
  const __m512d bound8 = _mm512_set1_pd(bound);
  const __m512i row8 = _mm512_set1_epi64(row);
  int64_t kept = 0;
  for (int64_t first = 0; first < cols; first += 64) {
    const double* chunk = row_cost + first;
    const int64_t width = std::min<int64_t>(64, cols - first);
    uint64_t bits = 0;
    for (int64_t j = 0; j < width; j += 8) {
      const __mmask8 lanes = width - j >= 8 ? 0xff : static_cast<__mmask8>((1u << (width - j)) - 1);
      const __m512d value = _mm512_maskz_loadu_pd(lanes, chunk + j);
      bits |= static_cast<uint64_t>(_mm512_mask_cmp_pd_mask(lanes, value, bound8, _CMP_NGT_UQ))
              << j;
      if (minima.lowest != nullptr) {
        double* low_at = minima.lowest + first + j;
        const __mmask8 lower =
            _mm512_mask_cmp_pd_mask(lanes, value, _mm512_maskz_loadu_pd(lanes, low_at), _CMP_LT_OQ);
        _mm512_mask_storeu_pd(low_at, lower, value);
        _mm512_mask_storeu_epi64(minima.lowest_row + first + j, lower, row8);
      }
    }
    kept = append_kept(bits, chunk, width, first, kept, out);
  }
  return kept;
}

// A row's scan as a function of its own, for the candidates' row at a time
// from the flattened solver (inlined there, its loop would compete for the
// solver's registers).
MT_ROW_SCAN_AVX2 inline int64_t row_within_avx2_call(const double* row_cost, int64_t row,
                                                     int64_t cols, double bound,
                                                     ColumnMinima minima, SparseRowsOut out) {
  return row_within_avx2(row_cost, row, cols, bound, minima, out);
}
MT_ROW_SCAN_AVX512 inline int64_t row_within_avx512_call(const double* row_cost, int64_t row,
                                                         int64_t cols, double bound,
                                                         ColumnMinima minima, SparseRowsOut out) {
  return row_within_avx512(row_cost, row, cols, bound, minima, out);
}
#endif

// row_within_portable on the instruction set `Isa`.
template <class Isa>
int64_t row_within(Isa, const double* row_cost, int64_t row, int64_t cols, double bound,
                   ColumnMinima minima, SparseRowsOut out) {
#if defined(__x86_64__)
  if constexpr (Isa::isa == simd::Isa::avx512) {
    return row_within_avx512_call(row_cost, row, cols, bound, minima, out);
  } else if constexpr (Isa::isa == simd::Isa::avx2) {
    return row_within_avx2_call(row_cost, row, cols, bound, minima, out);
  }
#endif
  return row_within_portable(row_cost, row, cols, bound, minima, out);
}

// The lows of the pairs first..last of row `row` (the scan refused NaN and
// -inf).
inline void lows_of_pairs(const int64_t* cols, const double* costs, int64_t first, int64_t last,
                          RowLowsOut out, int64_t row) {
  double lowest = kInf, second = kInf;
  int64_t lowest_col = -1;
  for (int64_t e = first; e < last; ++e) {
    lowest_col = select_without_branch(costs[e] < lowest, cols[e], lowest_col);
    second = std::min(second, std::max(lowest, costs[e]));
    lowest = std::min(lowest, costs[e]);
  }
  out.lowest[row] = lowest, out.second[row] = second, out.lowest_col[row] = lowest_col;
}

#if defined(__x86_64__)
// For each count of pairs up to 4, the lanes past it (all ones); and each
// lane alone.
alignas(32) inline constexpr int64_t kLanesFrom[5][4] = {
    {-1, -1, -1, -1}, {0, -1, -1, -1}, {0, 0, -1, -1}, {0, 0, 0, -1}, {0, 0, 0, 0}};
alignas(32) inline constexpr int64_t kLaneAlone[4][4] = {
    {-1, 0, 0, 0}, {0, -1, 0, 0}, {0, 0, -1, 0}, {0, 0, 0, -1}};

// The lowest of four doubles, in every lane.
MT_TARGET_AVX2 inline __m256d lowest_of_four(__m256d value) {
  const __m256d pairs = _mm256_min_pd(value, _mm256_permute_pd(value, 0b0101));
  return _mm256_min_pd(pairs, _mm256_permute2f128_pd(pairs, pairs, 1));
}

// lows_of_pairs with a row of at most four pairs in one register: without a
// branch or a loop exit that the rows' lengths would mispredict. The costs
// have room for four past `first`. Longer rows take lows_of_pairs.
MT_TARGET_AVX2 inline void lows_of_pairs_avx2(const int64_t* cols, const double* costs,
                                              int64_t first, int64_t last, RowLowsOut out,
                                              int64_t row) {
  const int64_t count = last - first;
  if (count > 4) {
    lows_of_pairs(cols, costs, first, last, out, row);
    return;
  }
  const __m256d inf4 = _mm256_set1_pd(kInf);
  // Lanes past the row's pairs (the room) read as +inf.
  const __m256d past = _mm256_load_pd(reinterpret_cast<const double*>(kLanesFrom[count]));
  const __m256d value = _mm256_blendv_pd(_mm256_loadu_pd(costs + first), inf4, past);
  const __m256d lowest = lowest_of_four(value);
  const int lane = _tzcnt_u32(_mm256_movemask_pd(_mm256_cmp_pd(value, lowest, _CMP_EQ_OQ)) | 8);
  const __m256d alone = _mm256_load_pd(reinterpret_cast<const double*>(kLaneAlone[lane]));
  out.lowest[row] = _mm256_cvtsd_f64(lowest);
  out.second[row] = _mm256_cvtsd_f64(lowest_of_four(_mm256_blendv_pd(value, inf4, alone)));
  out.lowest_col[row] = cols[first + lane];
}
#endif

// Asks for the lines kScanAhead bytes past a row of `cols` entries (later
// rows of the item, then the next item's: a batch is contiguous). A batch of
// trackers' frames is read once, from memory rather than cache, and the
// hardware's prefetch, which stops at each 4 KiB page, leaves the scan
// waiting. Measured here on 512 frames of 40 x 60 with a solve's worth of
// work between frames, the scan and the work took 1.34-1.50 us a frame
// without, 1.17 us 4 KiB ahead and 1.06-1.15 us 8-12 KiB ahead (0.74 us with
// the frames in cache). A prefetch never faults, so asking past the batch is
// harmless (the address is formed as an integer, not a pointer).
constexpr uintptr_t kScanAhead = 8192;
MT_SIMD_INLINE void prefetch_ahead(const double* row, int64_t cols) {
  const uintptr_t ahead = reinterpret_cast<uintptr_t>(row) + kScanAhead;
  for (uintptr_t byte = 0; byte < static_cast<uintptr_t>(cols) * sizeof(double); byte += 64) {
    __builtin_prefetch(reinterpret_cast<const void*>(ahead + byte));
  }
}

// The scan of a cost_limit item (sparse_rejection.h): each row's entries at
// or below the limit, then its reject column cols + i at the limit, as the
// sparse rows out.offsets[i]..[i + 1]. The outputs have room for rows *
// (cols + 1) + 4 entries. Returns how many pairs, or -1 when a cost is NaN
// or -inf.
template <class RowWithin>
MT_SIMD_INLINE int64_t pairs_within_rows(RowWithin row_within_one, const double* matrix,
                                         int64_t rows, int64_t cols, double limit,
                                         SparseRowsOut out) {
  int64_t kept = 0;
  out.offsets[0] = 0;
  for (int64_t i = 0; i < rows; ++i) {
    prefetch_ahead(matrix + i * cols, cols);
    kept += row_within_one(matrix + i * cols, i, cols, limit, ColumnMinima{},
                           {nullptr, out.cols + kept, out.costs + kept});
    out.cols[kept] = cols + i, out.costs[kept] = limit;
    out.offsets[i + 1] = ++kept;
  }
  // Once for the item, not a row at a time: a loop over a row's few pairs
  // ends at a mispredicted exit (13-14% of the scan).
  return holds_nan_or_minus_inf(out.costs, kept) ? -1 : kept;
}

#if defined(__x86_64__)
// The whole item as one function of its own, each row's scan inlined.
MT_ROW_SCAN_AVX2 inline int64_t pairs_within_avx2(const double* matrix, int64_t rows, int64_t cols,
                                                  double limit, SparseRowsOut out) {
  return pairs_within_rows(row_within_avx2, matrix, rows, cols, limit, out);
}
MT_ROW_SCAN_AVX512 inline int64_t pairs_within_avx512(const double* matrix, int64_t rows,
                                                      int64_t cols, double limit,
                                                      SparseRowsOut out) {
  return pairs_within_rows(row_within_avx512, matrix, rows, cols, limit, out);
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
  return pairs_within_rows(row_within_portable, matrix, rows, cols, limit, out);
}

// Each row's lows into `out`, in a pass of their own after the scan (in the
// scan, the vector load of a row's pairs just stored waits for the stores:
// that took longer than this pass).
inline void row_lows_portable(const SparseRowsOut& pairs, int64_t rows, RowLowsOut out) {
  for (int64_t i = 0; i < rows; ++i) {
    lows_of_pairs(pairs.cols, pairs.costs, pairs.offsets[i], pairs.offsets[i + 1], out, i);
  }
}

#if defined(__x86_64__)
MT_ROW_SCAN_AVX2 inline void row_lows_avx2(const SparseRowsOut& pairs, int64_t rows,
                                           RowLowsOut out) {
  for (int64_t i = 0; i < rows; ++i) {
    lows_of_pairs_avx2(pairs.cols, pairs.costs, pairs.offsets[i], pairs.offsets[i + 1], out, i);
  }
}
#endif

template <class Isa>
void row_lows(Isa, const SparseRowsOut& pairs, int64_t rows, RowLowsOut out) {
#if defined(__x86_64__)
  if constexpr (Isa::isa != simd::Isa::portable) {
    row_lows_avx2(pairs, rows, out);
    return;
  }
#endif
  row_lows_portable(pairs, rows, out);
}

}  // namespace mt::assignment
