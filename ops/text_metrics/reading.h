// Reading the family's sentences: hypotheses, and references stream-major.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <torch_mt/strings.h>

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
    strings::append_code_points(op_, view, name, item, out);
    return true;
  }

  const char* op_;
  strings::StringSide hypotheses_, references_;
  int64_t count_;
  std::vector<std::string> names_;
  std::atomic<bool> unreadable_{false};
};

}  // namespace mt::text_metrics
