// The row-wise edit distance on strings read in place (string_distances.h): each
// worker reads its chunk's strings through the owner's reader, compares
// 1-byte pairs where they lie and widens the others on the worker, so
// no serial pass over the strings precedes the fan-out.
#include "string_distances.h"

#include <atomic>
#include <utility>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <torch_mt/parallel.h>
#include "pair_distances.h"

namespace mt::levenshtein {
// The runtime's strings read in place, which this file is built on.
using namespace strings;
namespace {

// Whether `size` bytes are all ASCII (then UTF-8 is one byte a code point).
inline bool all_ascii(const unsigned char* bytes, int64_t size) {
  unsigned bits = 0;
  for (int64_t i = 0; i < size; ++i) {
    bits |= bytes[i];  // no early exit: the loop vectorises
  }
  return bits < 0x80;
}

#if defined(__x86_64__)
// all_ascii() of at most 64 bytes: one masked load (no byte past them), no
// loop whose length the branch predictor would have to guess per string.
MT_TARGET_AVX512 inline bool all_ascii_avx512(const unsigned char* bytes, int64_t size) {
  if (size > 64) {
    return all_ascii(bytes, size);
  }
  return _mm512_movepi8_mask(_mm512_maskz_loadu_epi8(levenshtein::first_bytes(size), bytes)) == 0;
}

// The high bits of the 32 bytes at `at`.
MT_TARGET_AVX2 inline uint32_t high_bits_avx2(uintptr_t at) {
  return static_cast<uint32_t>(
      _mm256_movemask_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(at))));
}

// The same on AVX2: the 64-byte window loaded whole where it lies in one
// page (levenshtein::in_one_page), the bytes past the string masked off.
MT_TARGET_AVX2 inline bool all_ascii_avx2(const unsigned char* bytes, int64_t size) {
  const auto at = reinterpret_cast<uintptr_t>(bytes);
  if (size < 1 || size > 64 || !levenshtein::in_one_page(at, 64)) {
    return all_ascii(bytes, size);
  }
  const uint64_t high = (uint64_t{high_bits_avx2(at + 32)} << 32) | high_bits_avx2(at);
  return (high & (~uint64_t{0} >> (64 - size))) == 0;
}
#endif

// all_ascii() on the kernel's instruction set.
template <class Isa>
MT_SIMD_INLINE bool all_ascii(Isa, const unsigned char* bytes, int64_t size) {
#if defined(__x86_64__)
  if constexpr (Isa::isa == simd::Isa::avx512) {
    return all_ascii_avx512(bytes, size);
  } else if constexpr (Isa::isa == simd::Isa::avx2) {
    return all_ascii_avx2(bytes, size);
  }
#endif
  return all_ascii(bytes, size);
}

// Units of one width appended, widened, to a buffer of tokens.
template <typename Unit, typename Out>
void append_units(const void* data, int64_t length, std::vector<Out>& out) {
  const Unit* units = static_cast<const Unit*>(data);
  out.insert(out.end(), units, units + length);
}

// A view of ASCII-only UTF-8 as the 1-byte string it is.
template <class Isa>
MT_SIMD_INLINE StringView narrowed(Isa isa, StringView view) {
  if (view.unit_bytes == kUtf8 &&
      all_ascii(isa, static_cast<const unsigned char*>(view.data), view.length)) {
    view.unit_bytes = 1;
  }
  return view;
}

// Whether every code point of a view fits 16 bits (UTF-8 is decoded into
// 4-byte units: not known before decoding).
bool fits_two_bytes(const StringView& view) { return view.unit_bytes == 1 || view.unit_bytes == 2; }

// A chunk's pairs of wider strings as `Token` units, computed together
// (kLanes at a time where they fit a word): read in place when both strings
// are stored in units of that size, else widened into one buffer.
// int16 holds code points below 2**16 as their bit pattern: only equality
// matters, and its dense tables need no range check.
template <typename Token>
class WidenedPairs {
 public:
  void add(const char* op, int64_t index, const StringView& u, const char* u_name,
           const StringView& v, const char* v_name) {
    if (u.unit_bytes == sizeof(Token) && v.unit_bytes == sizeof(Token)) {
      in_place_.push_back(trim(static_cast<const Token*>(u.data), u.length,
                               static_cast<const Token*>(v.data), v.length, index));
      return;
    }
    const auto a_start = static_cast<int64_t>(units_.size());
    append(op, u, u_name, index);
    const auto b_start = static_cast<int64_t>(units_.size());
    append(op, v, v_name, index);
    pairs_.push_back({index, a_start, b_start, static_cast<int64_t>(units_.size())});
  }

  template <class Isa>
  MT_SIMD_INLINE void distances(Isa isa, int64_t bound, int64_t* out) {
    if (pairs_.empty() && in_place_.empty()) {
      return;
    }
    BorrowedWorkspace<Token> workspace;
    auto& trimmed = workspace->pairs;  // pointers only now: units_ has stopped growing
    trimmed.assign(in_place_.begin(), in_place_.end());
    for (const Pair& pair : pairs_) {
      const Token* units = units_.data();
      trimmed.push_back(trim(units + pair.a_start, pair.b_start - pair.a_start,
                             units + pair.b_start, pair.b_end - pair.b_start, pair.index));
    }
    trimmed_pairs_distances(isa, *workspace, trimmed, bound, out);
  }

 private:
  struct Pair {
    int64_t index, a_start, b_start, b_end;
  };

  void append(const char* op, const StringView& view, const char* name, int64_t item) {
    if constexpr (sizeof(Token) == 2) {
      if (view.unit_bytes == 1) {
        append_units<uint8_t>(view.data, view.length, units_);
      } else {
        append_units<uint16_t>(view.data, view.length, units_);
      }
    } else {
      append_code_points(op, view, name, item, units_);
    }
  }

  std::vector<Token> units_;
  std::vector<Pair> pairs_;
  std::vector<TrimmedPair<Token>> in_place_;
};

// The views of a chunk's pairs, each read kAhead pairs before it is used,
// with its characters' first and last cache lines prefetched then: the
// strings lie scattered over the heap, and a pair's work is short enough
// that waiting on its two cache misses took a fifth of its time.
class ReadAhead {
 public:
  ReadAhead(const StringSide& a, const StringSide& b, int64_t first, int64_t last)
      : a_(a), b_(b), last_(last) {
    for (int64_t i = first; i < std::min(first + kAhead, last); ++i) {
      read(i);
    }
  }

  // The views of pair i (the pairs are taken in order), reading pair i + kAhead.
  std::pair<StringView, StringView> next(int64_t i) {
    const std::pair<StringView, StringView> views = slots_[static_cast<uint64_t>(i) % kAhead];
    if (i + kAhead < last_) {
      read(i + kAhead);
    }
    return views;
  }

 private:
  static constexpr int64_t kAhead = 16;

  static void prefetch(const StringView& view) {
    if (view.unit_bytes != kUnreadable && view.length > 0) {
      const char* data = static_cast<const char*>(view.data);
      __builtin_prefetch(data);
      __builtin_prefetch(data + (view.length - 1) * std::max(view.unit_bytes, 1));  // kUtf8: 0
    }
  }

  void read(int64_t i) {
    auto& slot = slots_[static_cast<uint64_t>(i) % kAhead];
    slot = {a_.read(a_.items, i), b_.read(b_.items, i)};
    prefetch(slot.first);
    prefetch(slot.second);
  }

  const StringSide& a_;
  const StringSide& b_;
  int64_t last_;
  std::pair<StringView, StringView> slots_[kAhead];
};

// What a typical pair (20-60 characters a side) costs in ns: the grain's
// estimate, as the lengths are not known before the workers read them.
constexpr int64_t kTypicalPairNs = 80;

// Pairs [first, last): 1-byte pairs compared where they lie, the others
// widened by unit width (each kind borrows its workspace and releases it
// before its buffer goes). False when an item is unreadable. A template on
// the ISA tag, run through simd::dispatch(), which inlines everything into
// it (the trimming and the timeline's comparisons inline into this loop
// instead of being called per pair).
template <class Isa>
MT_SIMD_INLINE bool chunk_distances(Isa isa, const char* op, const StringSide& a,
                                    const StringSide& b, int64_t first, int64_t last, int64_t bound,
                                    int64_t* distances, ItemErrors& errors) {
  WidenedPairs<int16_t> two_byte;
  WidenedPairs<int32_t> four_byte;
  BorrowedWorkspace<uint8_t> bytes;
  BytePairDistances<Isa> byte_pairs(*bytes, bound, distances);
  ReadAhead ahead(a, b, first, last);
  for (int64_t i = first; i < last; ++i) {
    const auto [raw_u, raw_v] = ahead.next(i);
    const StringView u = narrowed(isa, raw_u), v = narrowed(isa, raw_v);
    if (u.unit_bytes == kUnreadable || v.unit_bytes == kUnreadable) {
      return false;
    }
    if (u.unit_bytes == 1 && v.unit_bytes == 1) {  // compared where they lie
      byte_pairs.push(trim_bytes(isa, static_cast<const uint8_t*>(u.data), u.length,
                                 static_cast<const uint8_t*>(v.data), v.length, i));
      continue;
    }
    errors.run(i, [&] {
      if (fits_two_bytes(u) && fits_two_bytes(v)) {
        two_byte.add(op, i, u, a.name, v, b.name);
      } else {
        four_byte.add(op, i, u, a.name, v, b.name);
      }
    });
  }
  byte_pairs.finish();
  two_byte.distances(isa, bound, distances);
  four_byte.distances(isa, bound, distances);
  return true;
}

}  // namespace

bool edit_distances(const char* op, StringSide a, StringSide b, int64_t count, int64_t bound,
                    int64_t* distances) {
  std::atomic<bool> unreadable{false};
  ItemErrors errors;
  const simd::Isa chosen = simd::isa();
  parallel_for(0, count, grain_for(kTypicalPairNs), [&](int64_t first, int64_t last) {
    simd::dispatch(chosen, [&](auto isa) {
      if (!chunk_distances(isa, op, a, b, first, last, bound, distances, errors)) {
        unreadable.store(true, std::memory_order_relaxed);
      }
    });
  });
  errors.rethrow();
  return !unreadable.load(std::memory_order_relaxed);
}

}  // namespace mt::levenshtein
