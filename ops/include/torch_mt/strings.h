// <torch_mt/strings.h>: strings read where their owner keeps them.
//
// An operator that takes many strings (Python's str objects, TorchScript's
// str[] values) reads each one in place through a StringSide instead of
// copying them into a packed buffer first: the pool's workers call the
// owner's ReadString, concurrently. The edit-distance and text-metrics
// families read their inputs this way.
//
// Only standard headers: the Python bindings (ops/<family>/python_*.cpp) include this
// without torch's, and <torch_mt/parallel.h> includes it for operators.
#pragma once

#include <cstdint>
#include <string>
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
// read memory that no one changes while the operator runs.
using ReadString = StringView (*)(const void* items, int64_t i);

struct StringSide {
  const void* items;
  ReadString read;
  const char* name;  // the argument, for error messages
};

// The ReadString of a std::string array (an unboxed str[] argument): its
// UTF-8 bytes.
inline StringView read_std_string(const void* items, int64_t i) {
  const std::string& text = static_cast<const std::string*>(items)[i];
  return {text.data(), static_cast<int64_t>(text.size()), kUtf8};
}

// Appends the code points of `size` bytes of UTF-8 at `text` to `out`.
// Strings from Python and TorchScript are valid UTF-8; a C++ caller's bytes
// may not be, and get an error naming `op`, the argument and the item.
void decode_utf8(const char* op, const char* text, int64_t size, const char* name, int64_t item,
                 std::vector<int32_t>& out);

// Appends the code points of `text` (any unit width, or UTF-8) to `out`:
// item `item` of argument `name`, for decode_utf8's error. `text` must be
// readable (unit_bytes != kUnreadable).
void append_code_points(const char* op, StringView text, const char* name, int64_t item,
                        std::vector<int32_t>& out);

}  // namespace mt::strings
