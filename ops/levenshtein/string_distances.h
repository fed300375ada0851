// Strings read where their owner keeps them: the row-wise edit distance on
// Python's str objects (torch_mt._text, python_strings.cpp) and on TorchScript's
// str values (mt::edit_distance_text), with no copy into a packed buffer
// first. The pool's workers read each string through the owner's ReadString
// (<torch_mt/strings.h>, the runtime's strings read in place).
//
// Only standard headers: python_strings.cpp includes this without torch's.
#pragma once

#include <cstdint>

#include <torch_mt/strings.h>

namespace mt::levenshtein {

// distances[i] = min(Levenshtein distance of a[i] and b[i], bound + 1) by
// code point, for i in [0, count), pairs in parallel on the pool. Pairs of
// 1-byte strings (ASCII and Latin-1; ASCII-only UTF-8) are compared in
// place; others are widened to code points on the worker, a chunk at a time.
// Returns false, with `distances` incomplete, when an item is kUnreadable.
// Throws a ValueError naming `op`, the side and the item for invalid UTF-8.
bool edit_distances(const char* op, strings::StringSide a, strings::StringSide b, int64_t count,
                    int64_t bound, int64_t* distances);

}  // namespace mt::levenshtein
