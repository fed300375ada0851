// Reading the family's sentences: hypotheses, and references stream-major.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <torch_mt/parallel.h>
#include <torch_mt/strings.h>
#include "tokenize.h"

namespace mt::text_metrics {

// Reads items' code points; remembers whether an item was unreadable (the
// caller returns false then, and its slower path names the item).
class SentenceReader {
 public:
  SentenceReader(const char* op, strings::StringSide hypotheses, strings::StringSide references,
                 int64_t count, int64_t streams)
      : op_(op), hypotheses_(hypotheses), references_(references), count_(count) {
    for (int64_t r = 0; r < streams; ++r) {
      names_.push_back(std::string(references.name) + "[" + std::to_string(r) + "]");
    }
  }

  // Hypothesis i into `out` (replaced); false when unreadable.
  bool hypothesis(int64_t i, std::vector<int32_t>& out) {
    return read(hypotheses_, i, hypotheses_.name, i, out);
  }
  // Reference stream r of sentence i.
  bool reference(int64_t r, int64_t i, std::vector<int32_t>& out) {
    return read(references_, r * count_ + i, names_[r].c_str(), i, out);
  }
  bool unreadable() const { return unreadable_.load(std::memory_order_relaxed); }

 private:
  bool read(strings::StringSide side, int64_t index, const char* name, int64_t item,
            std::vector<int32_t>& out) {
    out.clear();
    const strings::StringView view = side.read(side.items, index);
    if (view.unit_bytes == strings::kUnreadable) {
      unreadable_.store(true, std::memory_order_relaxed);
      return false;
    }
    // Tokens are int32 spans of the processed line, which 13a's padding
    // makes up to three times as long as the string.
    TORCH_CHECK_VALUE(view.length <= kLongest, op_, ": ", name, "[", item, "] is longer than ",
                      kLongest, " characters");
    strings::append_code_points(op_, view, name, item, out);
    return true;
  }

  static constexpr int64_t kLongest = (int64_t{1} << 29) - 1;

  const char* op_;
  strings::StringSide hypotheses_, references_;
  int64_t count_;
  std::vector<std::string> names_;
  std::atomic<bool> unreadable_{false};
};

// The pairwise operators' first step: every sentence of `a`, then of `b`
// (sentence s < count_a is a[s], else b[s - count_a]), read on the pool and
// handed to prepare(s, codes, scratch) once. False when an item was
// unreadable; a reading error is the lowest sentence's.
template <typename Prepare>
bool read_both_sides(const char* op, strings::StringSide a, int64_t count_a, strings::StringSide b,
                     int64_t count_b, int64_t sentence_ns, Prepare prepare) {
  SentenceReader reader_a(op, a, b, count_a, 0), reader_b(op, b, a, count_b, 0);
  ItemErrors errors;
  parallel_for(0, count_a + count_b, grain_for(sentence_ns), [&](int64_t first, int64_t last) {
    TokenizerScratch scratch;
    std::vector<int32_t> codes;
    for (int64_t s = first; s < last; ++s) {
      errors.run(s, [&] {
        const bool read =
            s < count_a ? reader_a.hypothesis(s, codes) : reader_b.hypothesis(s - count_a, codes);
        if (read) prepare(s, codes, scratch);
      });
    }
  });
  errors.rethrow();
  return !reader_a.unreadable() && !reader_b.unreadable();
}

}  // namespace mt::text_metrics
