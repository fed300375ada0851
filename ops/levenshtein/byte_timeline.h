// Row-wise batches of byte pairs (ASCII and Latin-1 text) whose pattern fits
// one word, streamed through SIMD lanes: edit_distance's common case on
// strings, where every pair brings its own pattern. x86-64 with AVX2 (4
// lanes) or AVX-512 (8 lanes); elsewhere ByteLanes' portable loop gives the
// same distances (exact integers: the order of work cannot change them).
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
// Measured on an Intel Xeon (AVX-512), 20 000 ASCII word pairs of 20-60
// characters: see docs/benchmarks.md, "Per-core speed".
#pragma once

#include <algorithm>
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

// advance_block() with carry_in = +1 on eight one-word lanes in one AVX-512
// register: FourLanesAvx2::advance() with vpternlogq's three-input logic.
// No scores: the timeline reads each pair's distance off its last column.
__attribute__((target("avx512f"), always_inline)) inline void advance_eight_lanes(__m512i match,
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

class ByteTimeline {
 public:
  // Steps per batch. Each batch end costs a mispredicted loop exit or two
  // and leaves lanes idle; its three arrays of kSteps x 8 words (16 KiB
  // each) must stay near L1. 256 measured faster than 128, 384 and 512.
  static constexpr int64_t kSteps = 256;  // < kNever: lane ends are 16-bit
  static constexpr int kMaxLanes = 8;

  // Lanes: 8 where AVX-512 is enabled, else 4 (AVX2; callers check it).
  ByteTimeline() : lanes_(simd::avx512_enabled() ? kMaxLanes : kLanes) {
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
  // has no room left for it (run() it first).
  __attribute__((target("sse4.1"))) bool add(const uint8_t* pattern, int64_t pattern_length,
                                             const uint8_t* text, int64_t text_length,
                                             int64_t index) {
    // The lane that frees first: one phminposuw over the eight lanes' ends
    // (a loop of compares took a tenth of a short pair's time, and a
    // min_element's mispredictions as much again).
    const __m128i ends = _mm_load_si128(reinterpret_cast<const __m128i*>(lane_ends_));
    const __m128i least = _mm_minpos_epu16(ends);
    const int64_t start = _mm_extract_epi16(least, 0);
    const int lane = _mm_extract_epi16(least, 1);
    if (start + text_length > kSteps) {
      return false;
    }
    const __m128i chosen = _mm_cmpeq_epi16(_mm_set1_epi16(static_cast<short>(lane)),
                                           _mm_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7));
    _mm_store_si128(
        reinterpret_cast<__m128i*>(lane_ends_),
        _mm_add_epi16(ends,
                      _mm_and_si128(chosen, _mm_set1_epi16(static_cast<short>(text_length)))));
    uint64_t* column = match_ + start * lanes_ + lane;
    if (lanes_ == kMaxLanes) {
      compare_avx512(pattern, pattern_length, text, text_length, column);
    } else {
      compare_avx2(pattern, pattern_length, text, text_length, column);
    }
    starts_[start] |= static_cast<uint8_t>(1u << lane);
    scheduled_[scheduled_count_++] = {index, pattern_length, text_length,
                                      (start + text_length - 1) * lanes_ + lane};
    return true;
  }

  // The scheduled pairs' distances, capped at bound + 1, into out[index];
  // empties the timeline. A pair's last column gives its distance: the DP's
  // bottom cell is its top cell (the text length) plus the vertical deltas
  // down the pattern's rows (the bits above them are padding's). Every AVX2
  // CPU has popcnt: without the target attribute, each popcount would be a
  // call into libgcc.
  __attribute__((target("popcnt"))) void run(int64_t bound, int64_t* out) {
    const int64_t steps = *std::max_element(lane_ends_, lane_ends_ + lanes_);  // the lanes run
    if (lanes_ == kMaxLanes) {
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
  // Every lane free from step 0; lanes this CPU does not run never free.
  void free_lanes() {
    std::fill(lane_ends_, lane_ends_ + kMaxLanes, kNever);
    std::fill(lane_ends_, lane_ends_ + lanes_, 0);
  }

  struct Scheduled {
    int64_t index, pattern_length, text_length;
    int64_t last;  // the cell of its last step: step * lanes_ + lane
  };

  // Match words by comparison with the pattern in one register, zero-padded
  // (a padding byte may match a text byte 0: harmless, as bits above the
  // pattern's last row never reach it; carries and shifts only move up).
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"))) void compare_avx512(
      const uint8_t* pattern, int64_t pattern_length, const uint8_t* text, int64_t text_length,
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
          column[(k + j) * kMaxLanes] = _cvtmask64_u64(
              _mm512_cmpeq_epi8_mask(held, _mm512_load_si512(broadcasts + offsets[k + j])));
        }
      }
      return;
    }
    for (int64_t k = 0; k < text_length; ++k) {
      column[k * kMaxLanes] =
          _cvtmask64_u64(_mm512_cmpeq_epi8_mask(held, _mm512_load_si512(broadcasts_[text[k]])));
    }
  }

  __attribute__((target("avx2"))) void compare_avx2(const uint8_t* pattern, int64_t pattern_length,
                                                    const uint8_t* text, int64_t text_length,
                                                    uint64_t* column) const {
    alignas(32) uint8_t padded[kWordBits] = {};
    std::memcpy(padded, pattern, static_cast<size_t>(pattern_length));
    const __m256i low = _mm256_load_si256(reinterpret_cast<const __m256i*>(padded));
    const __m256i high = _mm256_load_si256(reinterpret_cast<const __m256i*>(padded + 32));
    for (int64_t k = 0; k < text_length; ++k) {
      const __m256i byte = _mm256_set1_epi8(static_cast<char>(text[k]));
      const auto low_bits =
          static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(byte, low)));
      const auto high_bits =
          static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(byte, high)));
      column[k * kLanes] = (uint64_t{high_bits} << 32) | low_bits;
    }
  }

  // Every lane's words after every step, stored whole (no masked store: a
  // microcoded one on some CPUs). A lane's cells after its last pair hold
  // stale words: it computes garbage there, which no pair reads.
  __attribute__((target("avx512f,avx512bw,avx512dq"))) void steps_avx512(int64_t steps) {
    const __m512i all_ones = _mm512_set1_epi64(-1), zeros = _mm512_setzero_si512();
    __m512i plus = all_ones, minus = zeros;
    for (int64_t t = 0; t < steps; ++t) {
      // The lanes starting a pair, as a mask register straight from memory,
      // and the resets as masked moves: no broadcast on the shuffle port.
      const __mmask8 starting = _load_mask8(&starts_[t]);
      plus = _mm512_mask_mov_epi64(plus, starting, all_ones);
      minus = _mm512_mask_mov_epi64(minus, starting, zeros);
      advance_eight_lanes(_mm512_load_si512(match_ + t * kMaxLanes), plus, minus);
      _mm512_store_si512(plus_ + t * kMaxLanes, plus);
      _mm512_store_si512(minus_ + t * kMaxLanes, minus);
    }
  }

  __attribute__((target("avx2"))) void steps_avx2(int64_t steps) {
    __m256i plus = _mm256_set1_epi64x(-1), minus = _mm256_setzero_si256();
    const __m256i lane_bits = _mm256_setr_epi64x(1, 2, 4, 8);
    for (int64_t t = 0; t < steps; ++t) {
      // All ones in the lanes starting a pair: their bits of starts_[t].
      const __m256i reset = _mm256_cmpeq_epi64(
          _mm256_and_si256(_mm256_set1_epi64x(starts_[t]), lane_bits), lane_bits);
      plus = _mm256_or_si256(plus, reset);
      minus = _mm256_andnot_si256(reset, minus);
      __m256i horizontal_plus, horizontal_minus;  // unused: no scores here
      advance_four_lanes(_mm256_load_si256(reinterpret_cast<const __m256i*>(match_ + t * kLanes)),
                         plus, minus, horizontal_plus, horizontal_minus);
      _mm256_store_si256(reinterpret_cast<__m256i*>(plus_ + t * kLanes), plus);
      _mm256_store_si256(reinterpret_cast<__m256i*>(minus_ + t * kLanes), minus);
    }
  }

  int lanes_;
  // The next free step of each lane; kNever for the lanes not run here.
  static constexpr uint16_t kNever = 0xFFFF;
  alignas(16) uint16_t lane_ends_[kMaxLanes];
  Scheduled scheduled_[kSteps * kMaxLanes];  // at most a text byte a cell
  int64_t scheduled_count_ = 0;
  // Step t's words of lane l at [t * lanes_ + l]. Zeroed once: a lane's stale
  // cells are read (and ignored), never uninitialised.
  alignas(64) uint64_t match_[(kSteps + 7) * kMaxLanes] = {};  // + 7 spare rows
  alignas(64) uint64_t plus_[kSteps * kMaxLanes] = {};         // vertical +1 words after the step
  alignas(64) uint64_t minus_[kSteps * kMaxLanes] = {};        // vertical -1 words after the step
  // Every byte value 64 times over: a text byte's register is then a load,
  // where a broadcast would take the port the compare needs (the compare
  // of a byte then costs one cycle instead of two).
  alignas(64) uint8_t broadcasts_[256][kWordBits];
  uint8_t starts_[kSteps] = {};  // bit l: lane l starts a pair there
};

#endif

}  // namespace mt::levenshtein
