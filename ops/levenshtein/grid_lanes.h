// The all-pairs grid of byte strings (ASCII and Latin-1 text) on AVX2 or
// AVX-512: eight rows of the grid at once, as the lanes, each column's text
// run once through all eight. The grid is where one pattern meets many
// texts, so each lane's match words come from a table built once per group
// of rows and kept for every column: for a text byte c, the eight lanes'
// words lie together at table_[c], one load (two on AVX2) a step, with no
// comparison, gather or shuffle. All lanes share the text, so they start and
// end together: no lane idles, and no score is kept per step; a lane's
// distance is read off its last column (the text length plus the vertical
// deltas down its pattern's rows), as in the row-wise timeline.
//
// Rows of 0..64 bytes fit a lane (an empty row's word is all padding and its
// distance the text length). Longer rows take the one-pattern loops of
// edit_distance_kernels.h, as does everything on the portable path.
#pragma once

#include <algorithm>
#include <cstdint>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <torch_mt/parallel.h>
#include "byte_timeline.h"

namespace mt::levenshtein {

#if defined(__x86_64__)

class ByteGridLanes {
 public:
  static constexpr int kGroup = 8;  // rows per group: one AVX-512 register, two AVX2 ones

  // Whether a row of this length can be a lane.
  static bool fits(int64_t length) { return length <= kWordBits; }

  // Sets the group's rows, `count` of them (1..kGroup, each of 0..64 bytes);
  // the lanes past `count` get empty rows. release() first if a group is set.
  void prepare(const uint8_t* const rows[], const int64_t lengths[], int count) {
    for (int lane = 0; lane < kGroup; ++lane) {
      const int64_t length = lane < count ? lengths[lane] : 0;
      rows_[lane] = lane < count ? rows[lane] : nullptr;
      lengths_[lane] = length;
      row_masks_[lane] = length == 0 ? 0 : ~uint64_t{0} >> (kWordBits - length);
      uint64_t bit = 1;
      for (int64_t i = 0; i < length; ++i, bit <<= 1) {
        table_[rows_[lane][i]][lane] |= bit;
      }
    }
  }

  // Forgets the group's rows (clears only the table cells they set).
  void release() {
    for (int lane = 0; lane < kGroup; ++lane) {
      for (int64_t i = 0; i < lengths_[lane]; ++i) {
        table_[rows_[lane][i]][lane] = 0;
      }
      lengths_[lane] = 0;
    }
  }

  // The distances of the group's rows to `text`, into out[lane] (exact).
  template <class Isa>
  MT_SIMD_INLINE void distances(Isa, const uint8_t* text, int64_t length, int64_t out[kGroup]) {
    alignas(64) uint64_t plus[kGroup], minus[kGroup];
    if constexpr (Isa::isa == simd::Isa::avx512) {
      run_avx512(text, length, plus, minus);
    } else {
      static_assert(Isa::isa == simd::Isa::avx2, "the grid lanes run on AVX2 or AVX-512");
      run_avx2(text, length, plus, minus);
    }
    for (int lane = 0; lane < kGroup; ++lane) {
      out[lane] = length + __builtin_popcountll(plus[lane] & row_masks_[lane]) -
                  __builtin_popcountll(minus[lane] & row_masks_[lane]);
    }
  }

 private:
  MT_TARGET_AVX2 void run_avx2(const uint8_t* text, int64_t length, uint64_t* plus_out,
                               uint64_t* minus_out) const {
    __m256i plus[2] = {_mm256_set1_epi64x(-1), _mm256_set1_epi64x(-1)};
    __m256i minus[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int64_t k = 0; k < length; ++k) {
      const auto* words = reinterpret_cast<const __m256i*>(table_[text[k]]);
      // Two registers, two independent chains: their latencies overlap.
      advance_four_vertical(_mm256_load_si256(words), plus[0], minus[0]);
      advance_four_vertical(_mm256_load_si256(words + 1), plus[1], minus[1]);
    }
    for (int half = 0; half < 2; ++half) {
      _mm256_store_si256(reinterpret_cast<__m256i*>(plus_out) + half, plus[half]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(minus_out) + half, minus[half]);
    }
  }

  MT_TARGET_AVX512 void run_avx512(const uint8_t* text, int64_t length, uint64_t* plus_out,
                                   uint64_t* minus_out) const {
    __m512i plus = _mm512_set1_epi64(-1), minus = _mm512_setzero_si512();
    for (int64_t k = 0; k < length; ++k) {
      advance_eight_lanes(_mm512_load_si512(table_[text[k]]), plus, minus);
    }
    _mm512_store_si512(plus_out, plus);
    _mm512_store_si512(minus_out, minus);
  }

  // table_[c][lane]: the bits of lane's row where byte c stands. 16 KiB,
  // zero where no row sets a bit (release() restores that).
  alignas(64) uint64_t table_[256][kGroup] = {};
  const uint8_t* rows_[kGroup] = {};
  int64_t lengths_[kGroup] = {};
  uint64_t row_masks_[kGroup] = {};
};

#endif

}  // namespace mt::levenshtein
