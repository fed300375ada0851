// Four (pattern, text) pairs at once, each pattern of one 64-bit block: the
// loop that row-wise batches and grid rows spend their time in. The lanes'
// dependency chains are independent, so the CPU overlaps them (several
// times the throughput of one pair at a time), and on AVX2 their words share
// one register. The portable loop and the AVX2 one give the same bits.
#pragma once

#include <algorithm>
#include <cstdint>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <torch_mt/parallel.h>
#include "levenshtein_bitparallel.h"

namespace mt::levenshtein {

// Four lanes at once: kLanes (pattern, text) pairs, each pattern of one block
// (1..64 tokens). The lanes' dependency chains are independent, so the CPU
// overlaps them (several times the throughput of one pair at a time), and on
// AVX2 their words share one register. The grid gives every lane the same
// pattern, row-wise batches four different ones.
constexpr int kLanes = 4;

// The portable loop. `symbol(lane, k)` is lane's k-th text symbol for k below
// its length, and some readable symbol after it (that step does not count).
// Stops early once every lane's distance exceeds `bound`.
template <typename MaskOf, typename SymbolOf>
void four_lanes_with(const int64_t pattern_lengths[kLanes], const int64_t text_lengths[kLanes],
                     int64_t bound, int64_t out[kLanes], MaskOf mask_of, SymbolOf symbol) {
  uint64_t plus[kLanes], minus[kLanes], last_row[kLanes];
  int64_t scores[kLanes];  // locals, so stores cannot alias the mask tables
  int64_t longest = 0;
  for (int lane = 0; lane < kLanes; ++lane) {
    plus[lane] = ~uint64_t{0};
    minus[lane] = 0;
    last_row[lane] = uint64_t{1} << (pattern_lengths[lane] - 1);
    scores[lane] = pattern_lengths[lane];
    longest = std::max(longest, text_lengths[lane]);
  }
  for (int64_t k = 0; k < longest; ++k) {
#pragma GCC unroll 4  // keep every lane's state in registers
    for (int lane = 0; lane < kLanes; ++lane) {
      const int carry =
          advance_block(plus[lane], minus[lane], mask_of(lane, symbol(lane, k)), 1, last_row[lane]);
      scores[lane] += k < text_lengths[lane] ? carry : 0;
    }
    if ((k + 1) % kCutoffStride == 0 && bound < kNoCutoff) {
      bool all_exceed = true;
      for (int lane = 0; lane < kLanes; ++lane) {
        const int64_t done = std::min(k + 1, text_lengths[lane]);
        all_exceed = all_exceed && exceeds(scores[lane], done, text_lengths[lane], bound);
      }
      if (all_exceed) {
        break;
      }
    }
  }
  std::copy(scores, scores + kLanes, out);
}

#if defined(__x86_64__)
// advance_block() with carry_in = +1 on four one-word lanes in one AVX2
// register, without the scores: the lanes' new vertical words, and their
// horizontal ones through the out-parameters.
MT_TARGET_AVX2 __attribute__((always_inline)) inline void advance_four_lanes(
    __m256i match, __m256i& plus, __m256i& minus, __m256i& horizontal_plus,
    __m256i& horizontal_minus) {
  const __m256i all_ones = _mm256_set1_epi64x(-1), one = _mm256_set1_epi64x(1);
  const __m256i vertical = _mm256_or_si256(match, minus);
  const __m256i sum = _mm256_add_epi64(_mm256_and_si256(match, plus), plus);
  const __m256i diagonal = _mm256_or_si256(_mm256_xor_si256(sum, plus), match);
  horizontal_plus =
      _mm256_or_si256(minus, _mm256_andnot_si256(_mm256_or_si256(diagonal, plus), all_ones));
  horizontal_minus = _mm256_and_si256(plus, diagonal);
  const __m256i shifted_plus = _mm256_or_si256(_mm256_slli_epi64(horizontal_plus, 1), one);
  const __m256i shifted_minus = _mm256_slli_epi64(horizontal_minus, 1);
  plus = _mm256_or_si256(shifted_minus,
                         _mm256_andnot_si256(_mm256_or_si256(vertical, shifted_plus), all_ones));
  minus = _mm256_and_si256(shifted_plus, vertical);
}

// The state of four one-block lanes on AVX2: advance_block() with
// carry_in = +1 on the four lanes' words in one register, each lane with its
// own score row. (Methods, not lambdas: GCC compiles a lambda for the
// enclosing function's target only if it is inlined, and these must be.)
struct FourLanesAvx2 {
  __m256i plus, minus, scores, score_rows, ends;

  MT_TARGET_AVX2 FourLanesAvx2(const int64_t pattern_lengths[kLanes],
                               const int64_t text_lengths[kLanes]) {
    plus = _mm256_set1_epi64x(-1);
    minus = _mm256_setzero_si256();
    scores = _mm256_set_epi64x(pattern_lengths[3], pattern_lengths[2], pattern_lengths[1],
                               pattern_lengths[0]);
    score_rows = _mm256_sllv_epi64(
        _mm256_set1_epi64x(1), _mm256_set_epi64x(pattern_lengths[3] - 1, pattern_lengths[2] - 1,
                                                 pattern_lengths[1] - 1, pattern_lengths[0] - 1));
    ends = _mm256_set_epi64x(text_lengths[3], text_lengths[2], text_lengths[1], text_lengths[0]);
  }

  // advance_four_lanes() on this state.
  MT_TARGET_AVX2 __attribute__((always_inline)) void advance(__m256i match,
                                                             __m256i& horizontal_plus,
                                                             __m256i& horizontal_minus) {
    advance_four_lanes(match, plus, minus, horizontal_plus, horizontal_minus);
  }

  // One text symbol on every lane; `active` masks the lanes it counts for.
  // A score moves by +1 where its row's horizontal delta is +1 and by -1
  // where it is -1 (cmpeq gives -1 on a set bit: subtract it, add it).
  MT_TARGET_AVX2 __attribute__((always_inline)) void step(__m256i match, __m256i active) {
    __m256i horizontal_plus, horizontal_minus;
    advance(match, horizontal_plus, horizontal_minus);
    const __m256i up =
        _mm256_cmpeq_epi64(_mm256_and_si256(horizontal_plus, score_rows), score_rows);
    const __m256i down =
        _mm256_cmpeq_epi64(_mm256_and_si256(horizontal_minus, score_rows), score_rows);
    scores = _mm256_add_epi64(scores, _mm256_and_si256(_mm256_sub_epi64(down, up), active));
  }

  // exceeds() on every lane after `done` symbols: score - max(end - done, 0) > bound.
  MT_TARGET_AVX2 __attribute__((always_inline)) bool all_exceed(int64_t done, int64_t bound) const {
    const __m256i left = _mm256_sub_epi64(ends, _mm256_set1_epi64x(done));
    const __m256i remaining =
        _mm256_and_si256(left, _mm256_cmpgt_epi64(left, _mm256_setzero_si256()));
    const __m256i lower = _mm256_sub_epi64(scores, remaining);
    const __m256i beyond = _mm256_cmpgt_epi64(lower, _mm256_set1_epi64x(bound));
    return _mm256_movemask_pd(_mm256_castsi256_pd(beyond)) == 0xF;
  }
};

// four_lanes_with() on AVX2. The match words come from the `source`'s AVX2
// methods: matches(k), symbol k of every lane for k below the shortest text
// (no lane's index needs clamping), then in the tail clamped_matches(k) (a
// lane past its end re-reads a readable symbol; that step does not count).
// Compiled for AVX2 only here: callers reach it from an AVX2 or AVX-512 entry.
template <typename MatchSource>
MT_TARGET_AVX2 void four_lanes_avx2(const int64_t pattern_lengths[kLanes],
                                    const int64_t text_lengths[kLanes], int64_t bound,
                                    int64_t out[kLanes], const MatchSource& source) {
  static_assert(kLanes == 4, "one AVX2 register holds four 64-bit lanes");
  FourLanesAvx2 lanes(pattern_lengths, text_lengths);
  const int64_t shortest = *std::min_element(text_lengths, text_lengths + kLanes);
  const int64_t longest = *std::max_element(text_lengths, text_lengths + kLanes);
  const bool cutoff = bound < kNoCutoff;
  int64_t k = 0;
  for (; k < shortest; ++k) {  // every lane active: no clamp, no mask
    lanes.step(source.matches(k), _mm256_set1_epi64x(-1));
    if (cutoff && (k + 1) % kCutoffStride == 0 && lanes.all_exceed(k + 1, bound)) {
      k = longest;
      break;
    }
  }
  for (; k < longest; ++k) {
    lanes.step(source.clamped_matches(k), _mm256_cmpgt_epi64(lanes.ends, _mm256_set1_epi64x(k)));
    if (cutoff && (k + 1) % kCutoffStride == 0 && lanes.all_exceed(k + 1, bound)) {
      break;
    }
  }
  alignas(32) int64_t scores[kLanes];
  _mm256_store_si256(reinterpret_cast<__m256i*>(scores), lanes.scores);
  std::copy(scores, scores + kLanes, out);
}

// The four lanes' match words from per-lane dense tables, gathered into one
// register. `texts`: the lanes' texts; `readable`/`last`: what clamped
// reads use (an empty text reads a stand-in symbol).
template <typename Token>
struct GatheredMatches {
  const DenseMaskLookup* lookups;
  const Token* const* texts;
  const Token* const* readable;
  const int64_t* last;

  MT_TARGET_AVX2 __m256i matches(int64_t k) const {
    return gather([&](int lane) { return texts[lane][k]; });
  }
  MT_TARGET_AVX2 __m256i clamped_matches(int64_t k) const {
    return gather([&](int lane) { return readable[lane][std::min(k, last[lane])]; });
  }

 private:
  template <typename SymbolOf>
  MT_TARGET_AVX2 __m256i gather(SymbolOf symbol) const {
    const auto match = [&](int lane) {
      return static_cast<long long>(lookups[lane](symbol(lane)));
    };
    return _mm256_set_epi64x(match(3), match(2), match(1), match(0));
  }
};
#endif

// Distances of kLanes prepared one-block patterns, each against its own text
// (any length, 0 included), exact where at most `bound`. Texts are read only
// within their lengths: a lane past its end re-reads its last symbol, so
// texts need no padding after them (packed sequences end where the buffer ends).
// Isa: the kernel's instruction set (<torch_mt/simd.h>).
template <class Isa, typename Token>
MT_SIMD_INLINE void distances_four_lanes(Isa, const PatternMasks<Token>* const patterns[kLanes],
                                         const Token* const texts[kLanes],
                                         const int64_t text_lengths[kLanes], int64_t bound,
                                         int64_t out[kLanes]) {
  const Token none{};  // stands for an empty text's symbols, which never count
  const Token* readable[kLanes];
  int64_t pattern_lengths[kLanes], last[kLanes];
  bool all_dense = true;
  for (int lane = 0; lane < kLanes; ++lane) {
    readable[lane] = text_lengths[lane] > 0 ? texts[lane] : &none;
    last[lane] = std::max<int64_t>(text_lengths[lane] - 1, 0);
    pattern_lengths[lane] = patterns[lane]->length();
    all_dense = all_dense && patterns[lane]->dense_one_block();
  }
  const auto symbol = [&](int lane, int64_t k) { return readable[lane][std::min(k, last[lane])]; };
#if defined(__x86_64__)
  if constexpr (Isa::isa != simd::Isa::portable) {
    if (all_dense) {
      const DenseMaskLookup lookups[kLanes] = {
          patterns[0]->one_block_lookup(), patterns[1]->one_block_lookup(),
          patterns[2]->one_block_lookup(), patterns[3]->one_block_lookup()};
      four_lanes_avx2(pattern_lengths, text_lengths, bound, out,
                      GatheredMatches<Token>{lookups, texts, readable, last});
      return;
    }
  }
#endif
  four_lanes_with(
      pattern_lengths, text_lengths, bound, out,
      [&](int lane, Token token) { return patterns[lane]->single_mask(token); }, symbol);
}

}  // namespace mt::levenshtein
