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
// branch on the data, resetting the lanes that start a pair. The lanes'
// scores run on across their pairs: a pair's distance is its pattern length
// plus its lane's score at its last step minus the score before its first.
//
// Measured on an Intel Xeon (AVX-512), 20 000 ASCII word pairs of 20-60
// characters: see docs/benchmarks.md, "Per-core speed".
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <torch_mt/parallel.h>
#include "four_lanes.h"

namespace mt::levenshtein {

#if defined(__x86_64__)

// The Myers step on eight one-word lanes in one AVX-512 register: what
// FourLanesAvx2::step() does on four, with the three-input logic of
// vpternlogq and the score moved under a mask.
struct EightLanesAvx512 {
  __m512i plus, minus, scores, score_rows;

  __attribute__((target("avx512f"))) EightLanesAvx512()
      : plus(_mm512_set1_epi64(-1)),
        minus(_mm512_setzero_si512()),
        scores(_mm512_setzero_si512()),
        score_rows(_mm512_setzero_si512()) {}

  __attribute__((target("avx512f"), always_inline)) void step(__m512i match) {
    const __m512i one = _mm512_set1_epi64(1);
    const __m512i vertical = _mm512_or_si512(match, minus);
    const __m512i sum = _mm512_add_epi64(_mm512_and_si512(match, plus), plus);
    // 0xBE: (a ^ b) | c, and 0xF1: a | ~(b | c), as vpternlogq tables.
    const __m512i diagonal = _mm512_ternarylogic_epi64(sum, plus, match, 0xBE);
    const __m512i horizontal_plus = _mm512_ternarylogic_epi64(minus, diagonal, plus, 0xF1);
    const __m512i horizontal_minus = _mm512_and_si512(plus, diagonal);
    scores = _mm512_mask_add_epi64(scores, _mm512_test_epi64_mask(horizontal_plus, score_rows),
                                   scores, one);
    scores = _mm512_mask_sub_epi64(scores, _mm512_test_epi64_mask(horizontal_minus, score_rows),
                                   scores, one);
    // x + x shifts by one (and GCC 12 warns falsely on _mm512_slli_epi64).
    const __m512i shifted_plus =
        _mm512_or_si512(_mm512_add_epi64(horizontal_plus, horizontal_plus), one);
    const __m512i shifted_minus = _mm512_add_epi64(horizontal_minus, horizontal_minus);
    plus = _mm512_ternarylogic_epi64(shifted_minus, vertical, shifted_plus, 0xF1);
    minus = _mm512_and_si512(shifted_plus, vertical);
  }
};

class ByteTimeline {
 public:
  // Steps per batch: three arrays of kSteps x 8 words (24 KiB) stay in L1.
  static constexpr int64_t kSteps = 128;
  static constexpr int kMaxLanes = 8;

  // Lanes: 8 where AVX-512 is enabled, else 4 (AVX2; callers check it).
  ByteTimeline() : lanes_(simd::avx512_enabled() ? kMaxLanes : 4) { free_lanes(); }

  // Whether a pair can ever be scheduled: a pattern of 1..64 bytes, a text
  // of 1..kSteps bytes.
  static bool fits(int64_t pattern_length, int64_t text_length) {
    return pattern_length >= 1 && pattern_length <= kWordBits && text_length >= 1 &&
           text_length <= kSteps;
  }

  // Schedules a pair that fits(): false, with nothing done, when the timeline
  // has no room left for it (run() it first).
  bool add(const uint8_t* pattern, int64_t pattern_length, const uint8_t* text, int64_t text_length,
           int64_t index) {
    // The lane that frees first, without branches (a min_element's
    // mispredictions cost as much as the rest of the scheduling).
    int lane = 0;
    int64_t start = lane_ends_[0];
#pragma GCC unroll 8
    for (int candidate = 1; candidate < kMaxLanes; ++candidate) {
      const bool earlier = lane_ends_[candidate] < start;
      start = earlier ? lane_ends_[candidate] : start;
      lane = earlier ? candidate : lane;
    }
    if (start + text_length > kSteps) {
      return false;
    }
    uint64_t* column = match_ + start * lanes_ + lane;
    if (lanes_ == kMaxLanes) {
      compare_avx512(pattern, pattern_length, text, text_length, column);
    } else {
      compare_avx2(pattern, pattern_length, text, text_length, column);
    }
    starts_[start] |= static_cast<uint8_t>(1u << lane);
    start_rows_[start * lanes_ + lane] = uint64_t{1} << (pattern_length - 1);
    lane_ends_[lane] = start + text_length;
    scheduled_.push_back({index, pattern_length, start, lane_ends_[lane] - 1, lane});
    return true;
  }

  // The scheduled pairs' distances, capped at bound + 1, into out[index];
  // empties the timeline.
  void run(int64_t bound, int64_t* out) {
    const int64_t steps = *std::max_element(lane_ends_, lane_ends_ + lanes_);  // lanes_ in use
    if (lanes_ == kMaxLanes) {
      steps_avx512(steps);
    } else {
      steps_avx2(steps);
    }
    for (const Scheduled& pair : scheduled_) {
      const int64_t before = pair.first > 0 ? scores_[(pair.first - 1) * lanes_ + pair.lane] : 0;
      const int64_t distance =
          pair.pattern_length + scores_[pair.last * lanes_ + pair.lane] - before;
      out[pair.index] = std::min(distance, bound + 1);
    }
    std::memset(starts_, 0, static_cast<size_t>(steps));
    free_lanes();
    scheduled_.clear();
  }

 private:
  // Every lane free from step 0; lanes this CPU does not run never free.
  void free_lanes() {
    std::fill(lane_ends_, lane_ends_ + kMaxLanes, kSteps + 1);
    std::fill(lane_ends_, lane_ends_ + lanes_, 0);
  }

  struct Scheduled {
    int64_t index, pattern_length, first, last;  // first and last step on its lane
    int lane;
  };

  // Match words by comparison with the pattern in one register, zero-padded
  // (a padding byte may match a text byte 0: harmless, as bits above the
  // pattern's last row never reach it; carries and shifts only move up).
  __attribute__((target("avx512f,avx512bw"))) void compare_avx512(const uint8_t* pattern,
                                                                  int64_t pattern_length,
                                                                  const uint8_t* text,
                                                                  int64_t text_length,
                                                                  uint64_t* column) const {
    const __mmask64 bytes =
        pattern_length == kWordBits ? ~__mmask64{0} : (__mmask64{1} << pattern_length) - 1;
    const __m512i held = _mm512_maskz_loadu_epi8(bytes, pattern);  // reads no byte past it
    for (int64_t k = 0; k < text_length; ++k) {
      column[k * 8] = _cvtmask64_u64(
          _mm512_cmpeq_epi8_mask(held, _mm512_set1_epi8(static_cast<char>(text[k]))));
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
      column[k * 4] = (uint64_t{high_bits} << 32) | low_bits;
    }
  }

  // A lane's cells after its last pair hold stale words: it computes
  // garbage there, which no pair reads.
  __attribute__((target("avx512f,avx512bw"))) void steps_avx512(int64_t steps) {
    EightLanesAvx512 lanes;
    for (int64_t t = 0; t < steps; ++t) {
      const __mmask8 starting = starts_[t];
      lanes.score_rows = _mm512_mask_loadu_epi64(lanes.score_rows, starting, start_rows_ + t * 8);
      lanes.plus = _mm512_mask_set1_epi64(lanes.plus, starting, -1);
      lanes.minus = _mm512_maskz_mov_epi64(static_cast<__mmask8>(~starting), lanes.minus);
      lanes.step(_mm512_load_si512(match_ + t * 8));
      _mm512_store_si512(scores_ + t * 8, lanes.scores);
    }
  }

  __attribute__((target("avx2"))) void steps_avx2(int64_t steps) {
    const int64_t none[kLanes] = {1, 1, 1, 1};  // any lengths: every member is set below
    FourLanesAvx2 lanes(none, none);
    lanes.scores = _mm256_setzero_si256();
    const __m256i all = _mm256_set1_epi64x(-1);
    for (int64_t t = 0; t < steps; ++t) {
      const unsigned starting = starts_[t];
      const __m256i reset = _mm256_set_epi64x(
          -static_cast<int64_t>((starting >> 3) & 1), -static_cast<int64_t>((starting >> 2) & 1),
          -static_cast<int64_t>((starting >> 1) & 1), -static_cast<int64_t>(starting & 1));
      lanes.score_rows = _mm256_blendv_epi8(
          lanes.score_rows,
          _mm256_load_si256(reinterpret_cast<const __m256i*>(start_rows_ + t * 4)), reset);
      lanes.plus = _mm256_or_si256(lanes.plus, reset);
      lanes.minus = _mm256_andnot_si256(reset, lanes.minus);
      lanes.step(_mm256_load_si256(reinterpret_cast<const __m256i*>(match_ + t * 4)), all);
      _mm256_store_si256(reinterpret_cast<__m256i*>(scores_ + t * 4), lanes.scores);
    }
  }

  int lanes_;
  int64_t lane_ends_[kMaxLanes];  // the next free step of each lane
  std::vector<Scheduled> scheduled_;
  // Step t's words of lane l at [t * lanes_ + l]. Zeroed once: a lane's stale
  // cells are read (and ignored), never uninitialised.
  alignas(64) uint64_t match_[kSteps * kMaxLanes] = {};
  alignas(64) uint64_t start_rows_[kSteps * kMaxLanes] = {};  // score row of a pair starting there
  alignas(64) int64_t scores_[kSteps * kMaxLanes] = {};       // each lane's running score after it
  uint8_t starts_[kSteps] = {};  // bit l: lane l starts a pair at the step
};

#endif

}  // namespace mt::levenshtein
