// Row-wise batches of byte pairs (ASCII and Latin-1 text) whose pattern fits
// one word, streamed through SIMD lanes: edit_distance's common case on
// strings, where every pair brings its own pattern. x86-64 with AVX2 (8
// lanes in two registers) or AVX-512 (8 lanes in one); elsewhere ByteLanes'
// portable loop gives the same distances (exact integers: the order of work
// cannot change them). The methods take the kernel's ISA tag (<torch_mt/simd.h>).
//
// Why a timeline. Lanes that take a group of pairs together wait for the
// group's longest text: on texts of 20-60 characters they idle about a third
// of their steps. Here each lane takes its next pair the step after its last
// one ends, so every lane stays busy to the batch's end. Scheduling a pair
// writes its match words into its lane's column of the timeline, one word a
// step, computed by comparison (the text byte against the pattern held in
// registers: no per-pattern table to fill and clear), and marks the step
// where it starts. The step loop then advances all lanes at once with no
// branch on the data, resetting the lanes that start a pair, and keeps each
// step's words: a pair's distance is read off its last column afterwards.
//
// Measured on an Intel Xeon, natively and as the AVX2 variant, 20 000 ASCII
// word pairs of 20-60 characters: see docs/benchmarks.md, "Per-core speed".
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <span>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <torch_mt/parallel.h>
#include "four_lanes.h"

namespace mt::levenshtein {

#if defined(__x86_64__)

// The mask of a register's first `count` bytes (0..64): what an AVX-512
// masked load of a string of `count` bytes may read.
inline __mmask64 first_bytes(int64_t count) {
  return count == kWordBits ? ~__mmask64{0} : (__mmask64{1} << count) - 1;
}

// Whether `size` bytes from `p` lie in one 4 KiB page. A load of them then
// cannot fault when one of them is the caller's, even if others lie past
// the object: the AVX2 paths' stand-in for AVX-512's masked loads, whose
// extra bytes are ignored. Never under AddressSanitizer, which would report
// the bytes read past the object (the callers then copy or loop instead).
inline bool in_one_page(uintptr_t address, int64_t size) {
#if defined(__SANITIZE_ADDRESS__)
  (void)address, (void)size;
  return false;
#else
  return (address & 4095) <= static_cast<uintptr_t>(4096 - size);
#endif
}

// advance_block() with carry_in = +1 on eight one-word lanes in one AVX-512
// register: FourLanesAvx2::advance() with vpternlogq's three-input logic.
// No scores: the timeline reads each pair's distance off its last column.
MT_TARGET_AVX512 __attribute__((always_inline)) inline void advance_eight_lanes(__m512i match,
                                                                                __m512i& plus,
                                                                                __m512i& minus) {
  const __m512i one = _mm512_set1_epi64(1);
  const __m512i vertical = _mm512_or_si512(match, minus);
  const __m512i sum = _mm512_add_epi64(_mm512_and_si512(match, plus), plus);
  // 0xBE: (a ^ b) | c, and 0xF1: a | ~(b | c), as vpternlogq tables.
  const __m512i diagonal = _mm512_ternarylogic_epi64(sum, plus, match, 0xBE);
  const __m512i horizontal_plus = _mm512_ternarylogic_epi64(minus, diagonal, plus, 0xF1);
  const __m512i horizontal_minus = _mm512_and_si512(plus, diagonal);
  // x + x shifts by one (and GCC 12 warns falsely on _mm512_slli_epi64).
  const __m512i shifted_plus =
      _mm512_or_si512(_mm512_add_epi64(horizontal_plus, horizontal_plus), one);
  const __m512i shifted_minus = _mm512_add_epi64(horizontal_minus, horizontal_minus);
  plus = _mm512_ternarylogic_epi64(shifted_minus, vertical, shifted_plus, 0xF1);
  minus = _mm512_and_si512(shifted_plus, vertical);
}

// advance_block() with carry_in = +1 on four one-word lanes in one AVX2
// register, vertical words only, written for the shortest dependency chain
// (AVX2 has no three-input logic): 16 operations, 8 of them in a chain from
// the old words to the new ones (an earlier form had 9; two registers'
// chains then overlap within the ports' throughput). With D0 the diagonal
// word, X = match | minus and Q = (D0 | plus) << 1, the shifted horizontal
// +1 word (HP << 1 | 1) is (minus << 1) | ~Q, so
//   plus'  = (HN << 1) | (Q & ~(X | minus << 1)),   HN = plus & D0
//   minus' = (X & minus << 1) | (X & ~Q)
// and only Q and HN << 1 wait on the sum's carries.
MT_TARGET_AVX2 __attribute__((always_inline)) inline void advance_four_vertical(__m256i match,
                                                                                __m256i& plus,
                                                                                __m256i& minus) {
  const __m256i vertical = _mm256_or_si256(match, minus);
  const __m256i minus_shifted = _mm256_slli_epi64(minus, 1);
  const __m256i sum = _mm256_add_epi64(_mm256_and_si256(match, plus), plus);
  const __m256i diagonal = _mm256_or_si256(_mm256_xor_si256(sum, plus), match);
  const __m256i q = _mm256_slli_epi64(_mm256_or_si256(diagonal, plus), 1);
  const __m256i shifted_minus = _mm256_slli_epi64(_mm256_and_si256(plus, diagonal), 1);
  plus = _mm256_or_si256(shifted_minus,
                         _mm256_andnot_si256(_mm256_or_si256(vertical, minus_shifted), q));
  minus =
      _mm256_or_si256(_mm256_and_si256(minus_shifted, vertical), _mm256_andnot_si256(q, vertical));
}

// One text byte's match word against a pattern of at most 32 bytes held in
// one register. vpbroadcastb from memory: a load and one shuffle-port uop
// (the shuffle port is otherwise idle here), no index arithmetic.
MT_TARGET_AVX2 __attribute__((always_inline)) inline uint64_t compare_byte_avx2(uint8_t text_byte,
                                                                                __m256i low) {
  const __m256i byte = _mm256_set1_epi8(static_cast<char>(text_byte));
  return static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(byte, low)));
}

// A 64-bit cell written as two 32-bit halves (x86 is little-endian: the
// low half first). may_alias: the cells are uint64_t elsewhere.
using MatchHalf = uint32_t __attribute__((may_alias));

// One text byte's match word against a 64-byte pattern held in two
// registers, into `cell`: each register's 32 bits stored as they come. On
// an AMD EPYC (Zen 4), as the AVX2 variant, the whole string row ran 4-5%
// faster than with the halves joined by a shift and an OR into one store.
MT_TARGET_AVX2 __attribute__((always_inline)) inline void compare_byte_avx2(uint8_t text_byte,
                                                                            __m256i low,
                                                                            __m256i high,
                                                                            uint64_t* cell) {
  const __m256i byte = _mm256_set1_epi8(static_cast<char>(text_byte));
  auto* halves = reinterpret_cast<MatchHalf*>(cell);
  halves[0] = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(byte, low)));
  halves[1] = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(byte, high)));
}

class ByteTimeline {
 public:
  // Steps per batch. Each batch end costs a mispredicted loop exit or two
  // and leaves lanes idle; its three arrays of kSteps x 8 words (16 KiB
  // each) must stay near L1. 256 measured faster than 128, 384 and 512.
  static constexpr int64_t kSteps = 256;  // < kNever: lane ends are 16-bit
  // One AVX-512 register of 64-bit words, or two AVX2 ones: with two, the
  // step loop runs two independent dependency chains (one alone waited on
  // its latency, the ports half idle).
  static constexpr int kTimelineLanes = 8;

  ByteTimeline() {
    free_lanes();
    for (int value = 0; value < 256; ++value) {
      std::memset(broadcasts_[value], value, sizeof broadcasts_[value]);
    }
  }

  // Whether a pair can ever be scheduled: a pattern of 1..64 bytes, a text
  // of 1..kSteps bytes.
  static bool fits(int64_t pattern_length, int64_t text_length) {
    return pattern_length >= 1 && pattern_length <= kWordBits && text_length >= 1 &&
           text_length <= kSteps;
  }

  // Schedules a pair that fits(): false, with nothing done, when the timeline
  // has no room left for it (run() it first). Isa: simd::Avx2 or simd::Avx512.
  template <class Isa>
  MT_SIMD_INLINE bool add(Isa, const uint8_t* pattern, int64_t pattern_length, const uint8_t* text,
                          int64_t text_length, int64_t index) {
    const int64_t free_at = take_lane(text_length);
    if (free_at < 0) {
      return false;
    }
    const int64_t start = free_at >> 3, lane = free_at & 7;
    uint64_t* column = match_ + start * kTimelineLanes + lane;
    if constexpr (Isa::isa == simd::Isa::avx512) {
      compare_avx512(pattern, pattern_length, text, text_length, column);
    } else {
      static_assert(Isa::isa == simd::Isa::avx2, "the timeline runs on AVX2 or AVX-512");
      compare_avx2(pattern, pattern_length, text, text_length, column);
    }
    starts_[start] |= static_cast<uint8_t>(1u << lane);
    scheduled_[scheduled_count_++] = {index, pattern_length, text_length,
                                      (start + text_length - 1) * kTimelineLanes + lane};
    return true;
  }

  // The scheduled pairs' distances, capped at bound + 1, into out[index];
  // empties the timeline. A pair's last column gives its distance: the DP's
  // bottom cell is its top cell (the text length) plus the vertical deltas
  // down the pattern's rows (the bits above them are padding's).
  template <class Isa>
  MT_SIMD_INLINE void run(Isa, int64_t bound, int64_t* out) {
    const int64_t steps = *std::max_element(lane_ends_, lane_ends_ + kTimelineLanes);
    if constexpr (Isa::isa == simd::Isa::avx512) {
      steps_avx512(steps);
    } else {
      steps_avx2(steps);
    }
    for (const Scheduled& pair : std::span(scheduled_, scheduled_count_)) {
      const uint64_t rows = ~uint64_t{0} >> (kWordBits - pair.pattern_length);
      const int64_t distance = pair.text_length + __builtin_popcountll(plus_[pair.last] & rows) -
                               __builtin_popcountll(minus_[pair.last] & rows);
      out[pair.index] = std::min(distance, bound + 1);
    }
    clear();
  }

  // Forgets the scheduled pairs.
  void clear() {
    std::memset(starts_, 0, sizeof starts_);
    free_lanes();
    scheduled_count_ = 0;
  }

 private:
  // The lane that frees first, given `text_length` steps from then on if
  // they fit: start * 8 + lane, or -1 (nothing taken) if they do not. One
  // phminposuw over the eight lanes' ends (a loop of compares took a tenth
  // of a short pair's time, and a min_element's mispredictions as much again).
  MT_TARGET_AVX2 int64_t take_lane(int64_t text_length) {
    const __m128i ends = _mm_load_si128(reinterpret_cast<const __m128i*>(lane_ends_));
    const __m128i least = _mm_minpos_epu16(ends);
    const int64_t start = _mm_extract_epi16(least, 0);
    const int lane = _mm_extract_epi16(least, 1);
    if (start + text_length > kSteps) {
      return -1;
    }
    const __m128i chosen = _mm_cmpeq_epi16(_mm_set1_epi16(static_cast<short>(lane)),
                                           _mm_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7));
    _mm_store_si128(
        reinterpret_cast<__m128i*>(lane_ends_),
        _mm_add_epi16(ends,
                      _mm_and_si128(chosen, _mm_set1_epi16(static_cast<short>(text_length)))));
    return start * kTimelineLanes + lane;
  }

  // Every lane free from step 0.
  void free_lanes() { std::fill(lane_ends_, lane_ends_ + kTimelineLanes, 0); }

  struct Scheduled {
    int64_t index, pattern_length, text_length;
    int64_t last;  // the cell of its last step: step * kTimelineLanes + lane
  };

  // Match words by comparison with the pattern in one register, zero-padded
  // (a padding byte may match a text byte 0: harmless, as bits above the
  // pattern's last row never reach it; carries and shifts only move up).
  MT_TARGET_AVX512 void compare_avx512(const uint8_t* pattern, int64_t pattern_length,
                                       const uint8_t* text, int64_t text_length,
                                       uint64_t* column) const {
    const __m512i held =
        _mm512_maskz_loadu_epi8(first_bytes(pattern_length), pattern);  // reads no byte past it
    const auto* broadcasts = reinterpret_cast<const char*>(broadcasts_);
    if (text_length <= kWordBits) {
      // Each text byte's offset into broadcasts_, 64 of them at once (zero
      // past the text); then eight compares a round with no bounds to check.
      // A round writes up to seven cells past the pair: of the lane's next
      // pair, written after, or spare rows.
      const __mmask64 text_bytes = first_bytes(text_length);
      // 16-bit offsets (255 * 64 fits): two widenings of 32 bytes each.
      alignas(64) uint16_t offsets[kWordBits];
#pragma GCC unroll 2
      for (int half = 0; half < 2; ++half) {
        const auto half_bytes = static_cast<__mmask32>(text_bytes >> (32 * half));
        // (The zero-masked forms: GCC 12 warns falsely on the plain ones.)
        const __m512i widened = _mm512_maskz_cvtepu8_epi16(
            ~__mmask32{0}, _mm256_maskz_loadu_epi8(half_bytes, text + 32 * half));
        _mm512_store_si512(offsets + 32 * half, _mm512_maskz_slli_epi16(~__mmask32{0}, widened, 6));
      }
      for (int64_t k = 0; k < text_length; k += 8) {
#pragma GCC unroll 8
        for (int64_t j = 0; j < 8; ++j) {
          column[(k + j) * kTimelineLanes] = _cvtmask64_u64(
              _mm512_cmpeq_epi8_mask(held, _mm512_load_si512(broadcasts + offsets[k + j])));
        }
      }
      return;
    }
    for (int64_t k = 0; k < text_length; ++k) {
      column[k * kTimelineLanes] =
          _cvtmask64_u64(_mm512_cmpeq_epi8_mask(held, _mm512_load_si512(broadcasts_[text[k]])));
    }
  }

  // AVX2 has no masked byte load: the pattern's 64-byte window is loaded
  // whole where it lies in one page (so the load cannot fault), else copied.
  // Bytes past the pattern are padding, harmless as above.
  MT_TARGET_AVX2 static void compare_avx2(const uint8_t* pattern, int64_t pattern_length,
                                          const uint8_t* text, int64_t text_length,
                                          uint64_t* column) {
    alignas(32) uint8_t padded[kWordBits];
    const uint8_t* window = pattern;
    if (!in_one_page(reinterpret_cast<uintptr_t>(pattern), kWordBits)) {
      std::memcpy(padded, pattern, static_cast<size_t>(pattern_length));
      window = padded;
    }
    const __m256i low = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(window));
    const __m256i high = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(window + 32));
    // Rounds of eight text bytes (a round writes up to seven cells past
    // the pair, as compare_avx512's do): a loop exit a round instead of one
    // a byte, which the lengths' spread made the branch predictor miss on
    // every pair. Bytes past the text are read only where they lie in its
    // page (their words land in cells no pair reads, or that the lane's
    // next pair overwrites).
    const int64_t rounded = (text_length + 7) & ~int64_t{7};
    const bool whole_rounds = in_one_page(reinterpret_cast<uintptr_t>(text), rounded);
    // Most trimmed text pairs have patterns of at most 32 bytes: one
    // compare a byte then (the branch's mispredictions cost less than the
    // second compare saves).
    if (pattern_length <= 32) {
      if (whole_rounds) {
        for (int64_t k = 0; k < rounded; k += 8) {
#pragma GCC unroll 8
          for (int64_t j = 0; j < 8; ++j) {
            column[(k + j) * kTimelineLanes] = compare_byte_avx2(text[k + j], low);
          }
        }
      } else {
        for (int64_t k = 0; k < text_length; ++k) {
          column[k * kTimelineLanes] = compare_byte_avx2(text[k], low);
        }
      }
      return;
    }
    if (whole_rounds) {
      for (int64_t k = 0; k < rounded; k += 8) {
#pragma GCC unroll 8
        for (int64_t j = 0; j < 8; ++j) {
          compare_byte_avx2(text[k + j], low, high, column + (k + j) * kTimelineLanes);
        }
      }
      return;
    }
    for (int64_t k = 0; k < text_length; ++k) {
      compare_byte_avx2(text[k], low, high, column + k * kTimelineLanes);
    }
  }

  // Every lane's words after every step, stored whole (no masked store: a
  // microcoded one on some CPUs). A lane's cells after its last pair hold
  // stale words: it computes garbage there, which no pair reads.
  MT_TARGET_AVX512 void steps_avx512(int64_t steps) {
    const __m512i all_ones = _mm512_set1_epi64(-1), zeros = _mm512_setzero_si512();
    __m512i plus = all_ones, minus = zeros;
    for (int64_t t = 0; t < steps; ++t) {
      // The lanes starting a pair, as a mask register straight from memory,
      // and the resets as masked moves: no broadcast on the shuffle port.
      const __mmask8 starting = _load_mask8(&starts_[t]);
      plus = _mm512_mask_mov_epi64(plus, starting, all_ones);
      minus = _mm512_mask_mov_epi64(minus, starting, zeros);
      advance_eight_lanes(_mm512_load_si512(match_ + t * kTimelineLanes), plus, minus);
      _mm512_store_si512(plus_ + t * kTimelineLanes, plus);
      _mm512_store_si512(minus_ + t * kTimelineLanes, minus);
    }
  }

  // Lanes 0-3 in one register, 4-7 in the other. A register's resets come
  // from kLaneResets by its four bits of starts_[t]: a load instead of a
  // broadcast, an AND and a compare (the loop is bound by its vector
  // operations as much as by its chains' latency).
  MT_TARGET_AVX2 void steps_avx2(int64_t steps) {
    __m256i plus[2] = {_mm256_set1_epi64x(-1), _mm256_set1_epi64x(-1)};
    __m256i minus[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int64_t t = 0; t < steps; ++t) {
      const unsigned starting = starts_[t];
#pragma GCC unroll 2
      for (int half = 0; half < 2; ++half) {
        const __m256i reset = _mm256_load_si256(
            reinterpret_cast<const __m256i*>(kLaneResets[(starting >> (4 * half)) & 15].words));
        plus[half] = _mm256_or_si256(plus[half], reset);
        minus[half] = _mm256_andnot_si256(reset, minus[half]);
        const int64_t cell = t * kTimelineLanes + 4 * half;
        advance_four_vertical(_mm256_load_si256(reinterpret_cast<const __m256i*>(match_ + cell)),
                              plus[half], minus[half]);
        _mm256_store_si256(reinterpret_cast<__m256i*>(plus_ + cell), plus[half]);
        _mm256_store_si256(reinterpret_cast<__m256i*>(minus_ + cell), minus[half]);
      }
    }
  }

  // kLaneResets[bits][l]: all ones where bit l of `bits` is set.
  struct alignas(32) LaneResets {
    uint64_t words[4];
  };
  static constexpr auto kLaneResets = [] {
    std::array<LaneResets, 16> table{};
    for (int bits = 0; bits < 16; ++bits) {
      for (int lane = 0; lane < 4; ++lane) {
        table[bits].words[lane] = (bits >> lane & 1) != 0 ? ~uint64_t{0} : 0;
      }
    }
    return table;
  }();

  alignas(16) uint16_t lane_ends_[kTimelineLanes];  // the next free step of each lane
  Scheduled scheduled_[kSteps * kTimelineLanes];    // at most a text byte a cell
  int64_t scheduled_count_ = 0;
  // Step t's words of lane l at [t * kTimelineLanes + l]. Zeroed once: a
  // lane's stale cells are read (and ignored), never uninitialised.
  alignas(64) uint64_t match_[(kSteps + 7) * kTimelineLanes] = {};  // + 7 spare rows
  alignas(64) uint64_t plus_[kSteps * kTimelineLanes] = {};   // vertical +1 words after the step
  alignas(64) uint64_t minus_[kSteps * kTimelineLanes] = {};  // vertical -1 words after the step
  // Every byte value 64 times over: a text byte's register is then a load,
  // where a broadcast would take the port the compare needs (the compare
  // of a byte then costs one cycle instead of two).
  alignas(64) uint8_t broadcasts_[256][kWordBits];
  uint8_t starts_[kSteps] = {};  // bit l: lane l starts a pair there
};

#endif

}  // namespace mt::levenshtein
