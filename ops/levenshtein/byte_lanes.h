// Four one-word patterns of bytes (ASCII and Latin-1 text) at once, each
// against its own text: the row-wise batches' common case, where every pair
// brings a new pattern, so what a pattern costs to set up matters as much
// as its steps.
//
// On AVX2 a text byte's match word is computed, not looked up: the byte is
// compared with the lane's pattern held in 64 zero-padded bytes (two
// vpcmpeqb, two vpmovmskb). Setting a pattern is then one 64-byte copy. A
// table of match masks (the portable path here, and PatternMasks) costs a
// read-modify-write per pattern byte to fill and a store per byte to clear,
// which measured as much as the steps themselves on 40-byte pairs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "four_lanes.h"

namespace mt::levenshtein {

class ByteLanes {
 public:
  // Sets lane's pattern, 1..kWordBits bytes (release() first if one is set).
  void prepare(int lane, const uint8_t* pattern, int64_t length) {
    lengths_[lane] = length;
#if defined(__x86_64__)
    if (simd::avx2_enabled()) {
      std::memcpy(padded_[lane], pattern, static_cast<size_t>(length));
      std::memset(padded_[lane] + length, 0, static_cast<size_t>(kWordBits - length));
      return;
    }
#endif
    patterns_[lane] = pattern;
    uint64_t (*rows)[kLanes] = rows_;  // a local: the stores may alias members
    uint64_t bit = 1;  // shifted along: a shift by a variable count is 3 uops on many x86 cores
    for (int64_t i = 0; i < length; ++i, bit <<= 1) {
      rows[pattern[i]][lane] |= bit;
    }
  }

  // Forgets every lane's pattern. Call it before their memory goes.
  void release() {
    uint64_t (*rows)[kLanes] = rows_;
    for (int lane = 0; lane < kLanes; ++lane) {
      const uint8_t* pattern = patterns_[lane];
      for (int64_t i = 0; pattern != nullptr && i < lengths_[lane]; ++i) {
        rows[pattern[i]][lane] = 0;
      }
      patterns_[lane] = nullptr;
      lengths_[lane] = 0;
    }
  }

  // Distances of the kLanes prepared patterns, each against its text (any
  // length, 0 included), exact where at most `bound`. Texts are read only
  // within their lengths.
  void distances(const uint8_t* const texts[kLanes], const int64_t text_lengths[kLanes],
                 int64_t bound, int64_t out[kLanes]) const {
    const uint8_t none = 0;  // stands for an empty text's symbols, which never count
    const uint8_t* readable[kLanes];
    int64_t last[kLanes];
    for (int lane = 0; lane < kLanes; ++lane) {
      readable[lane] = text_lengths[lane] > 0 ? texts[lane] : &none;
      last[lane] = std::max<int64_t>(text_lengths[lane] - 1, 0);
    }
#if defined(__x86_64__)
    if (simd::avx2_enabled()) {
      four_lanes_avx2(lengths_, text_lengths, bound, out,
                      ComparedMatches{padded_, texts, readable, last});
      return;
    }
#endif
    four_lanes_with(
        lengths_, text_lengths, bound, out,
        [&](int lane, uint8_t byte) { return rows_[byte][lane]; },
        [&](int lane, int64_t k) { return readable[lane][std::min(k, last[lane])]; });
  }

 private:
#if defined(__x86_64__)
  // The match words of a text step by comparison, not lookup: the text byte
  // broadcast and compared with the lane's pattern (two 32-byte halves,
  // zero-padded). No table to fill and clear per pattern: those stores cost
  // as much as the steps themselves. A padding byte may match (a text byte
  // 0): harmless, as bits above the pattern's last row never reach it
  // (advance_block's carries and shifts only move bits upwards).
  struct ComparedMatches {
    const uint8_t (*patterns)[kWordBits];
    const uint8_t* const* texts;
    const uint8_t* const* readable;
    const int64_t* last;

    __attribute__((target("avx2"))) __m256i matches(int64_t k) const {
      return compared(texts[0][k], texts[1][k], texts[2][k], texts[3][k]);
    }
    __attribute__((target("avx2"))) __m256i clamped_matches(int64_t k) const {
      const auto at = [&](int lane) { return readable[lane][std::min(k, last[lane])]; };
      return compared(at(0), at(1), at(2), at(3));
    }
    __attribute__((target("avx2"))) __m256i compared(uint8_t c0, uint8_t c1, uint8_t c2,
                                                     uint8_t c3) const {
      return _mm256_set_epi64x(mask(3, c3), mask(2, c2), mask(1, c1), mask(0, c0));
    }
    __attribute__((target("avx2"), always_inline)) long long mask(int lane, uint8_t c) const {
      const __m256i byte = _mm256_set1_epi8(static_cast<char>(c));
      const auto* half = reinterpret_cast<const __m256i*>(patterns[lane]);
      const auto low = static_cast<uint32_t>(
          _mm256_movemask_epi8(_mm256_cmpeq_epi8(byte, _mm256_load_si256(half))));
      const auto high = static_cast<uint32_t>(
          _mm256_movemask_epi8(_mm256_cmpeq_epi8(byte, _mm256_load_si256(half + 1))));
      return static_cast<long long>((uint64_t{high} << 32) | low);
    }
  };
#endif

  alignas(32) uint8_t padded_[kLanes][kWordBits] = {};  // AVX2: the patterns, zero-padded
  alignas(32) uint64_t rows_[256][kLanes] = {};         // portable: the match masks
  const uint8_t* patterns_[kLanes] = {};                // portable: what rows_ holds
  int64_t lengths_[kLanes] = {};
};

}  // namespace mt::levenshtein
