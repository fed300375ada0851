// Strings read where their owner keeps them: the row-wise edit distance on
// Python's str objects (torch_mt._text, ops/python/) and on TorchScript's
// str values (mt::edit_distance_text), with no copy into a packed buffer
// first. The pool's workers read each string through the owner's ReadString.
//
// Only standard headers: ops/python/ includes this without torch's.
#pragma once

#include <cstdint>
#include <vector>

namespace mt::strings {

// One string as stored: `length` code units of `unit_bytes` bytes each
// (1, 2 or 4: CPython's compact kinds, each unit a code point), or
// `length` bytes of UTF-8 (kUtf8). kUnreadable: not a string this reader
// can read in place (the caller's slower path names the item).
struct StringView {
  const void* data;
  int64_t length;
  int unit_bytes;
};
inline constexpr int kUtf8 = 0;
inline constexpr int kUnreadable = -1;

// Item i of a side. Called by the pool's workers, concurrently: it may only
// read memory that no one changes while edit_distances() runs.
using ReadString = StringView (*)(const void* items, int64_t i);

struct StringSide {
  const void* items;
  ReadString read;
  const char* name;  // the argument, for error messages
};

// distances[i] = min(Levenshtein distance of a[i] and b[i], bound + 1) by
// code point, for i in [0, count), pairs in parallel on the pool. Pairs of
// 1-byte strings (ASCII and Latin-1; ASCII-only UTF-8) are compared in
// place; others are widened to code points on the worker, a chunk at a time.
// Returns false, with `distances` incomplete, when an item is kUnreadable.
// Throws a ValueError naming `op`, the side and the item for invalid UTF-8.
bool edit_distances(const char* op, StringSide a, StringSide b, int64_t count, int64_t bound,
                    int64_t* distances);

// Appends the code points of `size` bytes of UTF-8 at `text` to `out`.
// Strings from Python and TorchScript are valid UTF-8; a C++ caller's bytes
// may not be, and get an error naming `op`, the argument and the item.
void decode_utf8(const char* op, const char* text, int64_t size, const char* name, int64_t item,
                 std::vector<int32_t>& out);

}  // namespace mt::strings
