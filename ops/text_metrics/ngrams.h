// N-gram counts of symbol sequences (code points, or token ids), exact.
//
// An n-gram is known by a 64-bit hash of its symbols; lists are sorted by
// (hash, symbols), so a hash collision only costs a comparison of the
// symbols and never merges two different n-grams. Any order works, and two
// lists from different sentences compare directly (a hypothesis against
// each of its references).
//
// Only standard headers: the Python bindings compile the family's headers too.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "tokenize.h"

namespace mt::text_metrics {

// One distinct n-gram of a sequence: where it first starts, how often it occurs.
struct NgramCount {
  uint64_t hash;
  int32_t start;
  int32_t count;
};

// A sequence and the hashes of its n-grams of the current order, raised one
// order at a time: hashes[i] covers symbols [i, i + order).
class NgramHashes {
 public:
  void reset(const int32_t* symbols, int64_t length) {
    symbols_ = symbols;
    length_ = length;
    order_ = 0;
    hashes_.assign(static_cast<size_t>(length), 0x243F6A8885A308D3ULL);
  }

  // Moves to the next order; the counts of its n-grams, sorted, into `out`.
  void next_order(std::vector<NgramCount>& out) {
    ++order_;
    const int64_t count = std::max<int64_t>(0, length_ - order_ + 1);
    for (int64_t i = 0; i < count; ++i) {
      hashes_[i] = mix(hashes_[i], symbols_[i + order_ - 1]);
    }
    out.resize(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
      out[i] = {hashes_[i], static_cast<int32_t>(i), 1};
    }
    const int32_t* symbols = symbols_;
    const int order = order_;
    std::sort(out.begin(), out.end(), [&](const NgramCount& a, const NgramCount& b) {
      if (a.hash != b.hash) return a.hash < b.hash;
      return std::lexicographical_compare(symbols + a.start, symbols + a.start + order,
                                          symbols + b.start, symbols + b.start + order);
    });
    // Runs of equal n-grams into one entry each.
    size_t kept = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      if (kept > 0 && out[kept - 1].hash == out[i].hash &&
          std::equal(symbols + out[i].start, symbols + out[i].start + order,
                     symbols + out[kept - 1].start)) {
        ++out[kept - 1].count;
      } else {
        out[kept++] = out[i];
      }
    }
    out.resize(kept);
  }

  int order() const { return order_; }

 private:
  static uint64_t mix(uint64_t hash, int32_t symbol) {
    hash = (hash ^ static_cast<uint32_t>(symbol)) * 0x9E3779B97F4A7C15ULL;
    return hash ^ (hash >> 31);
  }

  const int32_t* symbols_ = nullptr;
  int64_t length_ = 0;
  int order_ = 0;
  std::vector<uint64_t> hashes_;
};

// Orders n-grams of the same order across two sequences, as NgramHashes sorts.
// Negative, zero or positive, as memcmp.
inline int compare_ngrams(const NgramCount& a, const int32_t* a_symbols, const NgramCount& b,
                          const int32_t* b_symbols, int order) {
  if (a.hash != b.hash) return a.hash < b.hash ? -1 : 1;
  for (int k = 0; k < order; ++k) {
    const int32_t x = a_symbols[a.start + k], y = b_symbols[b.start + k];
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

// For each n-gram of `hyp`, calls matched(index in hyp, count in ref) when
// `ref` has it too: one merge of the two sorted lists.
template <typename Matched>
void for_each_match(const std::vector<NgramCount>& hyp, const int32_t* hyp_symbols,
                    const std::vector<NgramCount>& ref, const int32_t* ref_symbols, int order,
                    Matched matched) {
  size_t i = 0, j = 0;
  while (i < hyp.size() && j < ref.size()) {
    const int c = compare_ngrams(hyp[i], hyp_symbols, ref[j], ref_symbols, order);
    if (c < 0) {
      ++i;
    } else if (c > 0) {
      ++j;
    } else {
      matched(i, ref[j].count);
      ++i;
      ++j;
    }
  }
}

// Sum over shared n-grams of min(count in hyp, count in ref).
inline int64_t clipped_matches(const std::vector<NgramCount>& hyp, const int32_t* hyp_symbols,
                               const std::vector<NgramCount>& ref, const int32_t* ref_symbols,
                               int order) {
  int64_t total = 0;
  for_each_match(hyp, hyp_symbols, ref, ref_symbols, order,
                 [&](size_t i, int32_t ref_count) { total += std::min(hyp[i].count, ref_count); });
  return total;
}

// Token ids: equal tokens (as code-point spans) get equal ids, across every
// sequence interned since clear(): ids count up from 0 in order of first
// appearance, so they depend only on the tokens and their order. An
// open-addressing table keyed by the token's hash; a hit compares the spans.
class TokenInterner {
 public:
  void clear(size_t expected_tokens) {
    size_t slots = 64;
    while (slots < 2 * expected_tokens) slots *= 2;
    slots_.assign(slots, Slot{0, nullptr, 0, -1});
    next_id_ = 0;
  }
  int32_t id(const int32_t* text, int32_t length) {
    uint64_t hash = 0x13198A2E03707344ULL ^ static_cast<uint64_t>(length);
    for (int32_t k = 0; k < length; ++k) {
      hash = (hash ^ static_cast<uint32_t>(text[k])) * 0x9E3779B97F4A7C15ULL;
      hash ^= hash >> 29;
    }
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.id < 0) {
        slot = {hash, text, length, next_id_};
        return next_id_++;
      }
      if (slot.hash == hash && slot.length == length &&
          std::equal(text, text + length, slot.text)) {
        return slot.id;
      }
    }
  }
  int32_t size() const { return next_id_; }

 private:
  struct Slot {
    uint64_t hash;
    const int32_t* text;
    int32_t length;
    int32_t id;
  };
  std::vector<Slot> slots_;
  int32_t next_id_ = 0;
};

// Sentences' tokens as ids shared across them (equal tokens, equal ids).
struct IdSequences {
  std::vector<Tokens> tokens;
  std::vector<std::vector<int32_t>> ids;
  TokenInterner interner;

  void resize(size_t count) {
    tokens.resize(count);
    ids.resize(count);
  }
  int32_t distinct = 0;  // tokens' distinct count after assign_ids()

  void assign_ids() {
    size_t total = 0;
    for (const Tokens& t : tokens) total += static_cast<size_t>(t.size());
    interner.clear(total);
    for (size_t s = 0; s < tokens.size(); ++s) {
      const Tokens& t = tokens[s];
      ids[s].resize(static_cast<size_t>(t.size()));
      for (int64_t k = 0; k < t.size(); ++k) {
        ids[s][k] = interner.id(t.text.data() + t.starts[k], t.lengths[k]);
      }
    }
    distinct = interner.size();
  }
};

}  // namespace mt::text_metrics
