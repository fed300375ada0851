// The distances of a row-wise batch's pairs, each pair with its own pattern:
// the per-thread workspace, the trimming of equal prefixes and suffixes,
// and the lanes that compute a chunk's trimmed pairs together. Shared by
// the tensor kernels (edit_distance_kernels.h) and the strings read in
// place (edit_distance_strings.cpp). No torch header: tokens and lengths only.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <torch_mt/parallel.h>
#include "byte_lanes.h"
#include "byte_timeline.h"
#include "four_lanes.h"
#include "grid_lanes.h"
#include "levenshtein_bitparallel.h"

namespace mt::levenshtein {

// Scratch kept by each thread across calls: the pattern tables are large
// enough (a 512 KiB dense table: 2^16 64-bit masks) that rebuilding them per chunk would show.
// A pair after trimming: the shorter side is the pattern.
template <typename Token>
struct TrimmedPair {
  const Token* pattern;
  int64_t pattern_length;
  const Token* text;
  int64_t text_length;
  int64_t index;  // of the pair in the batch
};

template <typename Token>
struct Workspace {
  levenshtein::PatternMasks<Token> pattern;
  std::vector<uint64_t> plus, minus;  // per-block DP state for long patterns
  // Row-wise batches: kLanes pairs' patterns at once, and the chunk's
  // trimmed pairs.
  std::array<levenshtein::PatternMasks<Token>, levenshtein::kLanes> lanes;
  std::vector<TrimmedPair<Token>> pairs;
  // Bytes: the kLanes patterns in ByteLanes instead (byte_lanes.h), or
  // with AVX2 the pairs streamed through the lanes (byte_timeline.h).
  std::conditional_t<sizeof(Token) == 1, levenshtein::ByteLanes, std::monostate> byte_lanes;
#if defined(__x86_64__)
  std::conditional_t<sizeof(Token) == 1, levenshtein::ByteTimeline, std::monostate> byte_timeline;
  // Grids of bytes: eight rows' match tables, kept across the columns.
  std::conditional_t<sizeof(Token) == 1, levenshtein::ByteGridLanes, std::monostate> grid_lanes;
#endif
};

// Borrows this thread's workspace; releases the pattern (which points into
// the caller's tensor) when the chunk ends, however it ends.
template <typename Token>
class BorrowedWorkspace {
 public:
  BorrowedWorkspace() : workspace_(instance()) {}
  ~BorrowedWorkspace() {
    workspace_.pattern.release();
    for (auto& lane : workspace_.lanes) {
      lane.release();
    }
    if constexpr (sizeof(Token) == 1) {
      workspace_.byte_lanes.release();
#if defined(__x86_64__)
      workspace_.byte_timeline.clear();  // pairs left by a chunk that stopped early
      workspace_.grid_lanes.release();
#endif
    }
  }
  Workspace<Token>* operator->() { return &workspace_; }
  Workspace<Token>& operator*() { return workspace_; }

 private:
  // Not inlined: GCC would recompute an inlined thread_local's address
  // (a __tls_get_addr call in a shared library) at every use in a loop.
  __attribute__((noinline)) static Workspace<Token>& instance() {
    thread_local Workspace<Token> workspace;
    return workspace;
  }
  Workspace<Token>& workspace_;
};

// The pair with its shorter side as the pattern, chosen without a branch:
// which side is shorter is a coin toss, and a mispredicted branch costs as
// much as a fifth of a short pair's work.
template <typename Token>
TrimmedPair<Token> shorter_first(const Token* x, int64_t n, const Token* y, int64_t m,
                                 int64_t index) {
  const uintptr_t swap = -static_cast<uintptr_t>(n > m);
  const uintptr_t pointers =
      (reinterpret_cast<uintptr_t>(x) ^ reinterpret_cast<uintptr_t>(y)) & swap;
  const int64_t lengths = (n ^ m) & static_cast<int64_t>(swap);
  return {reinterpret_cast<const Token*>(reinterpret_cast<uintptr_t>(x) ^ pointers), n ^ lengths,
          reinterpret_cast<const Token*>(reinterpret_cast<uintptr_t>(y) ^ pointers), m ^ lengths,
          index};
}

// Equal prefixes and suffixes never change the distance; stripping them
// makes near-identical pairs cheap. The shorter side becomes the pattern.
template <typename Token>
TrimmedPair<Token> trim(const Token* x, int64_t n, const Token* y, int64_t m, int64_t index) {
  while (n > 0 && m > 0 && *x == *y) {
    ++x, ++y, --n, --m;
  }
  while (n > 0 && m > 0 && x[n - 1] == y[m - 1]) {
    --n, --m;
  }
  return shorter_first(x, n, y, m, index);
}

#if defined(__x86_64__)
// The equal bytes at the start (`step` = +1) or the end (-1: `x` and `y`
// point one past their last byte) of two byte strings of which `k` bytes
// each may be read, 64 at a time: AVX-512's masked loads read no byte past
// those k. A scalar loop spent several cycles a byte here.
MT_TARGET_AVX512 inline int64_t equal_run_avx512(const uint8_t* x, const uint8_t* y, int64_t k,
                                                 int step) {
  for (int64_t done = 0; done < k;) {
    const int64_t chunk = std::min<int64_t>(levenshtein::kWordBits, k - done);
    const __mmask64 bytes = levenshtein::first_bytes(chunk);
    const int64_t offset = step > 0 ? done : -done - chunk;
    const __mmask64 differ =
        _mm512_mask_cmpneq_epi8_mask(bytes, _mm512_maskz_loadu_epi8(bytes, x + offset),
                                     _mm512_maskz_loadu_epi8(bytes, y + offset));
    if (differ != 0) {
      // From the start, the lowest differing byte ends the run; from the
      // end, the highest one.
      return done + (step > 0 ? __builtin_ctzll(differ) : __builtin_clzll(differ) - (64 - chunk));
    }
    done += chunk;
  }
  return k;
}

// trim() of byte strings on AVX-512. When the shorter string has at most
// 64 bytes, without a loop or a branch on the bytes: the first k bytes of
// both and their last k are compared at once (k the shorter length), and
// the run from the ends is cut where it would overlap the run from the
// starts. Both runs then come from independent loads, and the pair costs
// the same whatever the bytes.
MT_TARGET_AVX512 inline TrimmedPair<uint8_t> trim_avx512(const uint8_t* x, int64_t n,
                                                         const uint8_t* y, int64_t m,
                                                         int64_t index) {
  const int64_t k = std::min(n, m);
  if (k <= levenshtein::kWordBits) {
    const __mmask64 bytes = levenshtein::first_bytes(k);
    const uint64_t from_start = _cvtmask64_u64(_mm512_mask_cmpneq_epi8_mask(
        bytes, _mm512_maskz_loadu_epi8(bytes, x), _mm512_maskz_loadu_epi8(bytes, y)));
    const uint64_t from_end = _cvtmask64_u64(
        _mm512_mask_cmpneq_epi8_mask(bytes, _mm512_maskz_loadu_epi8(bytes, x + n - k),
                                     _mm512_maskz_loadu_epi8(bytes, y + m - k)));
    // A run that never differs is all k bytes; from the end, the highest
    // differing byte ends the run (counted down from bit k - 1).
    const int64_t prefix = from_start == 0 ? k : __builtin_ctzll(from_start);
    const int64_t suffix = std::min<int64_t>(
        from_end == 0 ? k : __builtin_clzll(from_end) - (levenshtein::kWordBits - k), k - prefix);
    return shorter_first(x + prefix, n - prefix - suffix, y + prefix, m - prefix - suffix, index);
  }
  const int64_t prefix = equal_run_avx512(x, y, k, 1);
  x += prefix, y += prefix, n -= prefix, m -= prefix;
  const int64_t suffix = equal_run_avx512(x + n, y + m, std::min(n, m), -1);
  n -= suffix, m -= suffix;
  return shorter_first(x, n, y, m, index);
}

// The bits of the equal bytes among the 32 at x and at y. (A function,
// not a lambda: a lambda does not get its enclosing function's target.)
MT_TARGET_AVX2 inline uint32_t equal_bytes_avx2(uintptr_t x, uintptr_t y) {
  return static_cast<uint32_t>(_mm256_movemask_epi8(
      _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)),
                        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y)))));
}

// The bits of the bytes that differ among the 64 at x and at y.
MT_TARGET_AVX2 inline uint64_t differing_bytes_avx2(uintptr_t x, uintptr_t y) {
  return ~((uint64_t{equal_bytes_avx2(x + 32, y + 32)} << 32) | equal_bytes_avx2(x, y));
}

// trim_avx512's branch-free form on AVX2, which has no masked byte loads:
// the 64-byte windows at both starts and both ends are loaded whole where
// each lies in one page (so no load can fault; the bytes outside the
// strings are masked off), which is all but about 6% of pairs whose
// shorter side has 1..64 bytes; the others take the scalar loops.
MT_TARGET_AVX2 inline TrimmedPair<uint8_t> trim_avx2(const uint8_t* x, int64_t n, const uint8_t* y,
                                                     int64_t m, int64_t index) {
  const int64_t k = std::min(n, m);
  const auto xs = reinterpret_cast<uintptr_t>(x), ys = reinterpret_cast<uintptr_t>(y);
  const int64_t word = levenshtein::kWordBits;
  if (k < 1 || k > word || !in_one_page(xs, word) || !in_one_page(ys, word) ||
      !in_one_page(xs + n - word, word) || !in_one_page(ys + m - word, word)) {
    return trim(x, n, y, m, index);
  }
  const uint64_t first_k = ~uint64_t{0} >> (word - k);  // bits 0..k-1
  const uint64_t from_start = differing_bytes_avx2(xs, ys) & first_k;
  // The end windows' bit 63 is each string's last byte: their top k bits.
  const uint64_t last_k = ~uint64_t{0} << (word - k);
  const uint64_t from_end = differing_bytes_avx2(xs + n - word, ys + m - word) & last_k;
  const int64_t prefix = std::min<int64_t>(static_cast<int64_t>(_tzcnt_u64(from_start)), k);
  const int64_t suffix = std::min<int64_t>(static_cast<int64_t>(_lzcnt_u64(from_end)), k - prefix);
  return shorter_first(x + prefix, n - prefix - suffix, y + prefix, m - prefix - suffix, index);
}
#endif

// trim() of byte strings on the kernel's instruction set.
template <class Isa>
MT_SIMD_INLINE TrimmedPair<uint8_t> trim_bytes(Isa, const uint8_t* x, int64_t n, const uint8_t* y,
                                               int64_t m, int64_t index) {
#if defined(__x86_64__)
  if constexpr (Isa::isa == simd::Isa::avx512) {
    return trim_avx512(x, n, y, m, index);
  } else if constexpr (Isa::isa == simd::Isa::avx2) {
    return trim_avx2(x, n, y, m, index);
  }
#endif
  return trim(x, n, y, m, index);
}

// A distance cut at `bound`: min(distance, bound + 1), for any value the
// kernels return (exact up to the bound, anything above it past it).
inline int64_t capped(int64_t distance, int64_t bound) { return std::min(distance, bound + 1); }

// Whether the lengths alone give a trimmed pair's capped distance: an empty
// pattern, or a length difference already above the bound.
template <typename Token>
bool settled_by_lengths(const TrimmedPair<Token>& pair, int64_t bound) {
  return pair.pattern_length == 0 || pair.text_length - pair.pattern_length > bound;
}

// The distance of a trimmed pair, capped at bound + 1 (cheap cases first).
template <typename Token>
int64_t trimmed_distance(Workspace<Token>& workspace, const TrimmedPair<Token>& pair,
                         int64_t bound) {
  if (settled_by_lengths(pair, bound)) {
    return capped(pair.text_length - pair.pattern_length, bound);
  }
  workspace.pattern.prepare(pair.pattern, pair.pattern_length);
  return capped(levenshtein::distance(workspace.pattern, pair.text, pair.text_length,
                                      workspace.plus, workspace.minus, bound),
                bound);
}

// Distance of one pair, capped at bound + 1; the shorter sequence becomes
// the bit-parallel pattern.
template <typename Token>
int64_t pair_distance(Workspace<Token>& workspace, const Token* x, int64_t n, const Token* y,
                      int64_t m, int64_t bound) {
  return trimmed_distance(workspace, trim(x, n, y, m, 0), bound);
}

// Distances of trimmed pairs, each into out[pair.index], capped at bound + 1.
// `pairs` is consumed: the pairs whose pattern fits one word (the common
// case: sequences of up to 64 tokens) are kept and run kLanes at a time, each
// lane with its own pattern, in the given order (sorting them by length to
// end lanes together was measured slower: the rows are then read out of
// memory order); the others are computed one by one first. Results are
// exact integers, so the order of work never changes them.
template <class Isa, typename Token>
MT_SIMD_INLINE void trimmed_pairs_distances(Isa isa, Workspace<Token>& workspace,
                                            std::vector<TrimmedPair<Token>>& pairs, int64_t bound,
                                            int64_t* out) {
  constexpr int kLanes = levenshtein::kLanes;
  size_t kept = 0;
  for (const TrimmedPair<Token>& pair : pairs) {
    if (pair.pattern_length <= levenshtein::kWordBits && !settled_by_lengths(pair, bound)) {
      pairs[kept++] = pair;
    } else {
      out[pair.index] = trimmed_distance(workspace, pair, bound);
    }
  }
  pairs.resize(kept);
  const std::vector<TrimmedPair<Token>>& one_word = pairs;
  // The rows are read once, so the group after this one is fetched from
  // memory while this one computes (the loads would otherwise wait on it).
  const auto prefetch_group = [&](size_t group) {
    for (size_t p = group; p < std::min(group + kLanes, one_word.size()); ++p) {
      const TrimmedPair<Token>& pair = one_word[p];
      for (int64_t k = 0; k < pair.pattern_length; k += 64 / sizeof(Token)) {
        __builtin_prefetch(pair.pattern + k);
      }
      for (int64_t k = 0; k < pair.text_length; k += 64 / sizeof(Token)) {
        __builtin_prefetch(pair.text + k);
      }
    }
  };
  size_t next = 0;
  for (; next + kLanes <= one_word.size(); next += kLanes) {
    prefetch_group(next + kLanes);
    const Token* texts[kLanes];
    int64_t text_lengths[kLanes], scores[kLanes];
    for (int lane = 0; lane < kLanes; ++lane) {
      texts[lane] = one_word[next + lane].text;
      text_lengths[lane] = one_word[next + lane].text_length;
    }
    if constexpr (sizeof(Token) == 1) {
      auto& lanes = workspace.byte_lanes;
      lanes.release();
      for (int lane = 0; lane < kLanes; ++lane) {
        lanes.prepare(lane, one_word[next + lane].pattern, one_word[next + lane].pattern_length);
      }
      lanes.distances(texts, text_lengths, bound, scores);
    } else {
      const levenshtein::PatternMasks<Token>* patterns[kLanes];
      for (int lane = 0; lane < kLanes; ++lane) {
        const TrimmedPair<Token>& pair = one_word[next + lane];
        workspace.lanes[lane].prepare(pair.pattern, pair.pattern_length);
        patterns[lane] = &workspace.lanes[lane];
      }
      levenshtein::distances_four_lanes(isa, patterns, texts, text_lengths, bound, scores);
    }
    for (int lane = 0; lane < kLanes; ++lane) {
      out[one_word[next + lane].index] = capped(scores[lane], bound);
    }
  }
  for (; next < one_word.size(); ++next) {
    out[one_word[next].index] = trimmed_distance(workspace, one_word[next], bound);
  }
}

// The distances of byte pairs pushed one by one as they are trimmed, each
// into out[pair.index], capped at bound + 1. Where AVX2 is enabled, a pair
// whose pattern fits one word goes straight into the SIMD timeline
// (byte_timeline.h) while its bytes are still in L1; elsewhere the pairs
// are collected and computed a block at a time by trimmed_pairs_distances.
// Call finish() after the last push. Isa: the kernel's instruction set.
template <class Isa>
class BytePairDistances {
 public:
  BytePairDistances(Workspace<uint8_t>& workspace, int64_t bound, int64_t* out)
      : workspace_(workspace), bound_(bound), out_(out) {
    workspace_.pairs.clear();
  }

  MT_SIMD_INLINE void push(const TrimmedPair<uint8_t>& pair) {
#if defined(__x86_64__)
    if constexpr (kStreamed) {
      // trimmed_distance() settles a pair by its lengths first.
      if (settled_by_lengths(pair, bound_) ||
          !levenshtein::ByteTimeline::fits(pair.pattern_length, pair.text_length)) {
        out_[pair.index] = trimmed_distance(workspace_, pair, bound_);
      } else if (!timeline().add(Isa{}, pair.pattern, pair.pattern_length, pair.text,
                                 pair.text_length, pair.index)) {
        timeline().run(Isa{}, bound_, out_);
        timeline().add(Isa{}, pair.pattern, pair.pattern_length, pair.text, pair.text_length,
                       pair.index);
      }
      return;
    }
#endif
    workspace_.pairs.push_back(pair);
    if (workspace_.pairs.size() == kBlock) {
      flush();
    }
  }

  MT_SIMD_INLINE void finish() {
#if defined(__x86_64__)
    if constexpr (kStreamed) {
      timeline().run(Isa{}, bound_, out_);
      return;
    }
#endif
    flush();
  }

 private:
  // The portable path's block: its pairs' bytes still in L2 when computed.
  static constexpr size_t kBlock = 256;

  MT_SIMD_INLINE void flush() {
    trimmed_pairs_distances(Isa{}, workspace_, workspace_.pairs, bound_, out_);
    workspace_.pairs.clear();
  }

#if defined(__x86_64__)
  levenshtein::ByteTimeline& timeline() { return workspace_.byte_timeline; }
  static constexpr bool kStreamed = Isa::isa != simd::Isa::portable;
#endif
  Workspace<uint8_t>& workspace_;
  int64_t bound_;
  int64_t* out_;
};

// Work of one pair in 64-bit word steps: one per text symbol per pattern block.
inline int64_t word_steps(int64_t pattern_width, int64_t text_width) {
  return std::max<int64_t>(1, (pattern_width + 63) / 64) * std::max<int64_t>(1, text_width);
}

// One word step costs about 4 ns here.
constexpr int64_t kWordStepNs = 4;

}  // namespace mt::levenshtein
