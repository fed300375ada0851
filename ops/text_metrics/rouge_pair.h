// One pair's ROUGE Scores, as rouge-score computes them, on token ids
// (rouge_tokens.h): the functions the kernels of rouge.cpp call per pair, and
// the scratch a thread keeps for them. Each Score is rouge-score's
// arithmetic on the same integers: precision and recall one division each,
// fmeasure 2 * p * r / (p + r).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "rouge.h"
#include "rouge_tokens.h"

namespace mt::text_metrics {

struct MT_ROUGE_INTERNAL Score {
  double precision = 0, recall = 0, fmeasure = 0;
};

// precision = hits / prediction_count, recall = hits / target_count.
MT_ROUGE_INTERNAL Score score_of(int64_t hits, int64_t prediction_count, int64_t target_count);

using Span = std::pair<const int32_t*, int64_t>;  // tokens, count

// The distinct n-grams of one token list, each with its count: open
// addressing on a hash of the n ids, equality checked on the ids.
class MT_ROUGE_INTERNAL NgramIndex {
 public:
  void build(Span tokens, int n) {
    tokens_ = tokens.first;
    n_ = n;
    const int64_t grams = std::max<int64_t>(0, tokens.second - n + 1);
    size_t size = 16;
    while (size < 2 * static_cast<size_t>(grams)) size *= 2;
    slots_.assign(size, -1);
    firsts_.clear();
    counts_.clear();
    for (int64_t at = 0; at < grams; ++at) {
      const size_t slot = probe(tokens_ + at);
      if (slots_[slot] < 0) {
        slots_[slot] = static_cast<int32_t>(firsts_.size());
        firsts_.push_back(static_cast<int32_t>(at));
        counts_.push_back(0);
      }
      ++counts_[slots_[slot]];
    }
  }

  // The index of the n-gram at `gram` among the distinct ones, or -1.
  int32_t find(const int32_t* gram) const { return slots_[probe(gram)]; }
  int32_t distinct() const { return static_cast<int32_t>(firsts_.size()); }
  int32_t count(int32_t index) const { return counts_[index]; }

 private:
  // The slot holding `gram`, or the empty slot where it would go.
  size_t probe(const int32_t* gram) const {
    uint64_t hash = 0x9E3779B97F4A7C15ull;
    for (int k = 0; k < n_; ++k) {
      hash = (hash ^ static_cast<uint32_t>(gram[k])) * 0xBF58476D1CE4E5B9ull;
      hash ^= hash >> 31;
    }
    const size_t mask = slots_.size() - 1;
    for (size_t slot = hash & mask;; slot = (slot + 1) & mask) {
      const int32_t index = slots_[slot];
      if (index < 0 || std::memcmp(tokens_ + firsts_[index], gram, sizeof(int32_t) * n_) == 0) {
        return slot;
      }
    }
  }

  const int32_t* tokens_ = nullptr;
  int n_ = 1;
  std::vector<int32_t> slots_, firsts_, counts_;
};

// Scratch one thread reuses across pairs.
struct MT_ROUGE_INTERNAL Workspace {
  // Indexed by token id, all zero between uses: unigram counts, and the
  // LCS's bit masks of a target of at most 64 tokens.
  std::vector<int32_t> id_counts, id_used;
  std::vector<uint64_t> id_masks;
  NgramIndex target_grams;           // the target's n-grams (n > 2; unigrams of a long LCS)
  std::vector<int32_t> id_heads;     // bigram chains' heads by id, all 0 between uses
  std::vector<int32_t> chain;        // the next target bigram with the same first id
  std::vector<unsigned char> taken;  // target bigrams matched
  std::vector<int32_t> used;
  std::vector<uint64_t> masks, row;
  std::vector<int32_t> table;
  std::vector<char> in_union;
  NgramIndex target_words, prediction_words;
  std::vector<int32_t> target_left, prediction_left;

  // Ids are below `vocabulary_size` from here on.
  void fit(int64_t vocabulary_size) {
    if (static_cast<int64_t>(id_counts.size()) >= vocabulary_size) return;
    const auto size = static_cast<size_t>(std::max<int64_t>(2 * vocabulary_size, 1024));
    id_counts.resize(size, 0);
    id_used.resize(size, 0);
    id_heads.resize(size, 0);
    id_masks.resize(size, 0);
  }
};

// The Score of `prediction` against `target`.
MT_ROUGE_INTERNAL Score rouge_score(RougeType type, const RougeTokens& target,
                                    const RougeTokens& prediction, Workspace& work);

// A pairwise row, its prediction's tables built once for every target:
// rouge1 (its counts) and an LCS of a prediction of at most 64 tokens (its
// bit masks; the LCS length does not care which side gives the bits). False
// for the other types, scored pair by pair.
MT_ROUGE_INTERNAL bool score_row_from_prediction(RougeType type, const RougeTokens& prediction,
                                                 const RougeTokens* targets, int64_t count,
                                                 double* row, Workspace& work);

}  // namespace mt::text_metrics
