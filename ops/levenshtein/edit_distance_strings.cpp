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

#if defined(__x86_64__)
// all_ascii() of at most 64 bytes: one masked load (no byte past them), no
// loop whose length the branch predictor would have to guess per string.
__attribute__((target("avx512f,avx512bw"))) inline bool all_ascii_avx512(const unsigned char* bytes,
                                                                         int64_t size) {
  return _mm512_movepi8_mask(_mm512_maskz_loadu_epi8(levenshtein::first_bytes(size), bytes)) == 0;
}
#endif

// Whether `size` bytes are all ASCII (then UTF-8 is one byte a code point).
inline bool all_ascii(const unsigned char* bytes, int64_t size) {
#if defined(__x86_64__)
  if (size <= 64 && simd::avx512_enabled()) {
    return all_ascii_avx512(bytes, size);
  }
#endif
  unsigned bits = 0;
  for (int64_t i = 0; i < size; ++i) {
    bits |= bytes[i];  // no early exit: the loop vectorises
  }
  return bits < 0x80;
}

// Units of one width appended, widened, to a buffer of tokens.
template <typename Unit, typename Out>
void append_units(const void* data, int64_t length, std::vector<Out>& out) {
  const Unit* units = static_cast<const Unit*>(data);
  out.insert(out.end(), units, units + length);
}

// A view of ASCII-only UTF-8 as the 1-byte string it is.
StringView narrowed(StringView view) {
  if (view.unit_bytes == kUtf8 &&
      all_ascii(static_cast<const unsigned char*>(view.data), view.length)) {
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

  void distances(int64_t bound, int64_t* out) {
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
    trimmed_pairs_distances(*workspace, trimmed, bound, out);
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
// before its buffer goes). False when an item is unreadable.
// Inlined into one function per instruction set (below: AVX-512, AVX2 and
// portable), so that the trimming and the timeline's comparisons inline
// into this loop instead of being called per pair.
__attribute__((always_inline)) inline bool chunk_distances(const char* op, const StringSide& a,
                                                           const StringSide& b, int64_t first,
                                                           int64_t last, int64_t bound,
                                                           int64_t* distances, ItemErrors& errors) {
  WidenedPairs<int16_t> two_byte;
  WidenedPairs<int32_t> four_byte;
  BorrowedWorkspace<uint8_t> bytes;
  BytePairDistances byte_pairs(*bytes, bound, distances);
  ReadAhead ahead(a, b, first, last);
  for (int64_t i = first; i < last; ++i) {
    const auto [raw_u, raw_v] = ahead.next(i);
    const StringView u = narrowed(raw_u), v = narrowed(raw_v);
    if (u.unit_bytes == kUnreadable || v.unit_bytes == kUnreadable) {
      return false;
    }
    if (u.unit_bytes == 1 && v.unit_bytes == 1) {  // compared where they lie
      byte_pairs.push(trim(static_cast<const uint8_t*>(u.data), u.length,
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
  two_byte.distances(bound, distances);
  four_byte.distances(bound, distances);
  return true;
}

bool chunk_distances_portable(const char* op, const StringSide& a, const StringSide& b,
                              int64_t first, int64_t last, int64_t bound, int64_t* distances,
                              ItemErrors& errors) {
  return chunk_distances(op, a, b, first, last, bound, distances, errors);
}

#if defined(__x86_64__)
__attribute__((target("avx2,popcnt"), flatten)) bool chunk_distances_avx2(
    const char* op, const StringSide& a, const StringSide& b, int64_t first, int64_t last,
    int64_t bound, int64_t* distances, ItemErrors& errors) {
  return chunk_distances(op, a, b, first, last, bound, distances, errors);
}

__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,popcnt"), flatten)) bool
chunk_distances_avx512(const char* op, const StringSide& a, const StringSide& b, int64_t first,
                       int64_t last, int64_t bound, int64_t* distances, ItemErrors& errors) {
  return chunk_distances(op, a, b, first, last, bound, distances, errors);
}
#endif

}  // namespace

bool edit_distances(const char* op, StringSide a, StringSide b, int64_t count, int64_t bound,
                    int64_t* distances) {
  std::atomic<bool> unreadable{false};
  ItemErrors errors;
  auto* chunk = &chunk_distances_portable;
#if defined(__x86_64__)
  if (simd::avx512_enabled()) {
    chunk = &chunk_distances_avx512;
  } else if (simd::avx2_enabled()) {
    chunk = &chunk_distances_avx2;
  }
#endif
  parallel_for(0, count, grain_for(kTypicalPairNs), [&](int64_t first, int64_t last) {
    if (!chunk(op, a, b, first, last, bound, distances, errors)) {
      unreadable.store(true, std::memory_order_relaxed);
    }
  });
  errors.rethrow();
  return !unreadable.load(std::memory_order_relaxed);
}

}  // namespace mt::levenshtein
