// Character classes and lowercasing exactly as sacrebleu sees them through
// Python: str.split()'s whitespace, str.lower() (with U+0130's two-character
// form and the Final_Sigma rule) and the `regex` module's \p{P}, \p{S} and
// \p{N}. The tables are generated from Python and regex (unicode_tables.h).
//
// Only standard headers: the Python bindings compile the family's headers too.
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <vector>

#include "unicode_tables.h"

namespace mt::text_metrics::unicode {

template <size_t N>
bool in_ranges(const CodeRange (&table)[N], uint32_t code) {
  // The last range whose first code point is <= code.
  const CodeRange* after =
      std::upper_bound(std::begin(table), std::end(table), code,
                       [](uint32_t value, const CodeRange& range) { return value < range.first; });
  return after != std::begin(table) && code <= (after - 1)->last;
}

inline bool is_space(uint32_t code) {
  if (code < 128) {
    return code == ' ' || (code >= '\t' && code <= '\r') || (code >= 0x1C && code <= 0x1F);
  }
  return in_ranges(kWhitespace, code);
}
inline bool is_punctuation(uint32_t code) { return in_ranges(kPunctuation, code); }
inline bool is_symbol(uint32_t code) { return in_ranges(kSymbol, code); }
inline bool is_number(uint32_t code) { return in_ranges(kNumber, code); }
inline bool is_ascii_digit(uint32_t code) { return code >= '0' && code <= '9'; }

// str.lower() of one code point, other than U+0130 and U+03A3 (the caller's).
inline uint32_t lower_one(uint32_t code) {
  if (code < 128) {
    return code >= 'A' && code <= 'Z' ? code + 32 : code;
  }
  const LowerRun* after =
      std::upper_bound(std::begin(kLower), std::end(kLower), code,
                       [](uint32_t value, const LowerRun& run) { return value < run.first; });
  if (after == std::begin(kLower)) {
    return code;
  }
  const LowerRun& run = *(after - 1);
  if (code > run.last || (code - run.first) % run.stride != 0) {
    return code;
  }
  return static_cast<uint32_t>(static_cast<int32_t>(code) + run.delta);
}

// str.lower() of `codes` into `out` (replaced). Capital sigma lowers to the
// final form after a cased character and not before one, case-ignorable
// characters skipped on both sides, as CPython's handle_capital_sigma does.
inline void lower(const std::vector<int32_t>& codes, std::vector<int32_t>& out) {
  out.clear();
  out.reserve(codes.size());
  const auto count = static_cast<int64_t>(codes.size());
  for (int64_t i = 0; i < count; ++i) {
    const auto code = static_cast<uint32_t>(codes[i]);
    if (code == 0x130) {  // LATIN CAPITAL LETTER I WITH DOT ABOVE: "i" + COMBINING DOT ABOVE
      out.push_back('i');
      out.push_back(0x307);
    } else if (code == 0x3A3) {
      int64_t j = i - 1;
      while (j >= 0 && in_ranges(kCaseIgnorable, static_cast<uint32_t>(codes[j]))) {
        --j;
      }
      bool final_sigma = j >= 0 && in_ranges(kCased, static_cast<uint32_t>(codes[j]));
      if (final_sigma && i + 1 < count) {
        j = i + 1;
        while (j < count && in_ranges(kCaseIgnorable, static_cast<uint32_t>(codes[j]))) {
          ++j;
        }
        final_sigma = j == count || !in_ranges(kCased, static_cast<uint32_t>(codes[j]));
      }
      out.push_back(final_sigma ? 0x3C2 : 0x3C3);
    } else {
      out.push_back(static_cast<int32_t>(lower_one(code)));
    }
  }
}

}  // namespace mt::text_metrics::unicode
