// Loading one item of the batch for the solver: a float64 minimisation
// with rows <= cols, read in place where the caller's memory is that
// already, else converted (negated for maximize, transposed when it has
// more rows than columns). A transposing load also finds each row's lows
// for the claim start (jv_start.h).
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "jv_start.h"
#include "shortest_paths.h"

namespace mt::assignment {

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
inline void load_item(Workspace& ws, const Item<scalar_t>& item, bool maximize, bool transpose) {
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

}  // namespace mt::assignment
