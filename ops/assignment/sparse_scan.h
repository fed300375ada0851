// Dense rows into sparse ones: the scans that keep a row's entries at or
// below a bound, a few of dozens or hundreds (a tracker's frame under
// cost_limit, sparse_rejection.h; a row's candidates, candidate_pairs.h),
// as a bit mask per 64 columns whose set bits are then taken without a
// branch; and a pass over sparse rows for each one's two lowest costs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "sparse_rows.h"

namespace mt::assignment {

// The sparse rows of an item: `offsets[i]..offsets[i + 1]` index row i's
// entries at or below the limit (column, cost), then its reject column
// cols + i at the limit. NaN entries are kept too, so that the pass over the
// rows (row_lows) finds NaN and -inf, not every block of the scan. The
// outputs have room for rows * (cols + 1) + 8 entries (a block's overhang).
struct SparseRowsOut {
  int64_t* offsets;
  int64_t* cols;
  double* costs;
};

// Ends row i of a scan at `kept` pairs with its reject column.
inline int64_t end_scanned_row(SparseRowsOut out, int64_t i, int64_t cols, double limit,
                               int64_t kept) {
  out.cols[kept] = cols + i, out.costs[kept] = limit;
  out.offsets[i + 1] = ++kept;
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

// The lows of the pairs first..last; false on a NaN or -inf cost.
inline bool lows_of_pairs(const int64_t* cols, const double* costs, int64_t first, int64_t last,
                          RowLowsOut out, int64_t row) {
  double lowest = kInf, second = kInf;
  int64_t lowest_col = -1;
  bool odd = false;
  for (int64_t e = first; e < last; ++e) {
    odd |= !(costs[e] >= -std::numeric_limits<double>::max());
    lowest_col = select_without_branch(costs[e] < lowest, cols[e], lowest_col);
    second = std::min(second, std::max(lowest, costs[e]));
    lowest = std::min(lowest, costs[e]);
  }
  out.lowest[row] = lowest, out.second[row] = second, out.lowest_col[row] = lowest_col;
  return !odd;
}

inline bool row_lows_portable(const SparseRowsOut& pairs, int64_t rows, RowLowsOut out) {
  bool ok = true;
  for (int64_t i = 0; i < rows; ++i) {
    ok &= lows_of_pairs(pairs.cols, pairs.costs, pairs.offsets[i], pairs.offsets[i + 1], out, i);
  }
  return ok;
}

#if defined(__x86_64__)
// Appends the kept entries of a chunk of at most 64 columns of a row (bit j
// of `bits`: column first_col + j is kept) from `kept` on. The first four are
// taken without a branch (a tracker's row keeps a few), written past the
// kept pairs where there are fewer (the room allows); a loop takes the rest.
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

// pairs_within_portable by chunks of 64 columns: four entries a compare
// into a bit mask of the chunk, then append_kept.
MT_ROW_SCAN_AVX2 inline int64_t pairs_within_avx2(const double* matrix, int64_t rows, int64_t cols,
                                                  double limit, SparseRowsOut out) {
  const __m256d limit4 = _mm256_set1_pd(limit);
  int64_t kept = 0;
  out.offsets[0] = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const double* row_cost = matrix + i * cols;
    for (int64_t first = 0; first < cols; first += 64) {
      const double* chunk = row_cost + first;
      const int64_t width = std::min<int64_t>(64, cols - first);
      uint64_t bits = 0;
      int64_t j = 0;
      for (; j + 4 <= width; j += 4) {
        const __m256d value = _mm256_loadu_pd(chunk + j);
        bits |= static_cast<uint64_t>(_mm256_movemask_pd(_mm256_cmp_pd(value, limit4, _CMP_NGT_UQ)))
                << j;
      }
      for (; j < width; ++j) {
        bits |= static_cast<uint64_t>(!(chunk[j] > limit)) << j;
      }
      kept = append_kept(bits, chunk, width, first, kept, out);
    }
    kept = end_scanned_row(out, i, cols, limit, kept);
  }
  return kept;
}

// The same eight entries a compare, the last partial block by a masked load.
MT_ROW_SCAN_AVX512 inline int64_t pairs_within_avx512(const double* matrix, int64_t rows,
                                                      int64_t cols, double limit,
                                                      SparseRowsOut out) {
  const __m512d limit8 = _mm512_set1_pd(limit);
  int64_t kept = 0;
  out.offsets[0] = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const double* row_cost = matrix + i * cols;
    for (int64_t first = 0; first < cols; first += 64) {
      const double* chunk = row_cost + first;
      const int64_t width = std::min<int64_t>(64, cols - first);
      uint64_t bits = 0;
      for (int64_t j = 0; j < width; j += 8) {
        const __mmask8 lanes =
            width - j >= 8 ? 0xff : static_cast<__mmask8>((1u << (width - j)) - 1);
        const __m512d value = _mm512_maskz_loadu_pd(lanes, chunk + j);
        bits |= static_cast<uint64_t>(_mm512_mask_cmp_pd_mask(lanes, value, limit8, _CMP_NGT_UQ))
                << j;
      }
      kept = append_kept(bits, chunk, width, first, kept, out);
    }
    kept = end_scanned_row(out, i, cols, limit, kept);
  }
  return kept;
}

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

// row_lows_portable with a row of at most four pairs in one register:
// independent of the other rows, without a branch or a loop exit that the
// rows' lengths would mispredict. Longer rows take lows_of_pairs.
MT_ROW_SCAN_AVX2 inline bool row_lows_avx2(const SparseRowsOut& pairs, int64_t rows,
                                           RowLowsOut out) {
  const __m256d inf4 = _mm256_set1_pd(kInf);
  const __m256d lowest_finite = _mm256_set1_pd(-std::numeric_limits<double>::max());
  __m256d odd = _mm256_setzero_pd();
  bool ok = true;
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t first = pairs.offsets[i], count = pairs.offsets[i + 1] - first;
    if (count > 4) {
      ok &= lows_of_pairs(pairs.cols, pairs.costs, first, first + count, out, i);
      continue;
    }
    // Lanes past the row's pairs (other rows', or the room) read as +inf.
    const __m256d past = _mm256_load_pd(reinterpret_cast<const double*>(kLanesFrom[count]));
    const __m256d value = _mm256_blendv_pd(_mm256_loadu_pd(pairs.costs + first), inf4, past);
    odd = _mm256_or_pd(odd, _mm256_cmp_pd(value, lowest_finite, _CMP_NGE_UQ));
    const __m256d lowest = lowest_of_four(value);
    const int lane = _tzcnt_u32(_mm256_movemask_pd(_mm256_cmp_pd(value, lowest, _CMP_EQ_OQ)) | 8);
    const __m256d alone = _mm256_load_pd(reinterpret_cast<const double*>(kLaneAlone[lane]));
    out.lowest[i] = _mm256_cvtsd_f64(lowest);
    out.second[i] = _mm256_cvtsd_f64(lowest_of_four(_mm256_blendv_pd(value, inf4, alone)));
    out.lowest_col[i] = pairs.cols[first + lane];
  }
  return ok && _mm256_movemask_pd(odd) == 0;
}
#endif

// The scan into `out`; returns how many pairs.
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

// Each row's lows into `out`; false on a NaN or -inf cost.
template <class Isa>
bool row_lows(Isa, const SparseRowsOut& pairs, int64_t rows, RowLowsOut out) {
#if defined(__x86_64__)
  if constexpr (Isa::isa != simd::Isa::portable) {
    return row_lows_avx2(pairs, rows, out);
  }
#endif
  return row_lows_portable(pairs, rows, out);
}

}  // namespace mt::assignment
