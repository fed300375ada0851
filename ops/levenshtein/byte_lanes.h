// Four one-word patterns of bytes (ASCII and Latin-1 text) at once, each
// against its own text: the row-wise batches' common case, where every pair
// brings a new pattern, on CPUs without AVX2 (or with TORCH_MT_DISABLE_SIMD).
// With AVX2 the SIMD timeline (byte_timeline.h) takes these pairs instead.
// A table of match masks, one column per lane: a pattern costs a
// read-modify-write per byte to set and a store per byte to clear.
#pragma once

#include <algorithm>
#include <cstdint>

#include "four_lanes.h"

namespace mt::levenshtein {

class ByteLanes {
 public:
  // Sets lane's pattern, 1..kWordBits bytes (release() first if one is set).
  void prepare(int lane, const uint8_t* pattern, int64_t length) {
    lengths_[lane] = length;
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
    four_lanes_with(
        lengths_, text_lengths, bound, out,
        [&](int lane, uint8_t byte) { return rows_[byte][lane]; },
        [&](int lane, int64_t k) { return readable[lane][std::min(k, last[lane])]; });
  }

 private:
  alignas(32) uint64_t rows_[256][kLanes] = {};  // the match masks
  const uint8_t* patterns_[kLanes] = {};         // what rows_ holds
  int64_t lengths_[kLanes] = {};
};

}  // namespace mt::levenshtein
