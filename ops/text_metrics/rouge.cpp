// ROUGE's kernels (rouge.h): pairs, and pairwise rows, on the pool; each
// pair scored by rouge_pair.h on a thread's token ids.
#include "rouge.h"

#include <algorithm>
#include <atomic>

#include <torch_mt/parallel.h>
#include "rouge_pair.h"
#include "rouge_tokens.h"

namespace mt::text_metrics {
namespace {

// A thread's vocabulary, kept across chunks and calls so that a word is
// stemmed once per thread (ids only ever meet ids of the same thread).
RougeVocabulary& thread_vocabulary(bool use_stemmer) {
  thread_local RougeVocabulary stemmed(true), plain(false);
  RougeVocabulary& vocabulary = use_stemmer ? stemmed : plain;
  vocabulary.bound_memory();
  return vocabulary;
}

// A thread's scratch, kept likewise (a chunk is a few dozen pairs: fresh
// tables for each would cost as much as scoring them).
Workspace& thread_workspace() {
  thread_local Workspace work;
  return work;
}

// What scoring a pair costs, in ns per token, for the grain.
constexpr int64_t kTokenNs = 60;
constexpr int64_t kPairNs = 40 * kTokenNs;

}  // namespace

std::optional<RougeType> parse_rouge_type(std::string_view name) {
  if (name == "rougeL") return RougeType{RougeType::kLcs, 0};
  if (name == "rougeLsum") return RougeType{RougeType::kSummaryLcs, 0};
  if (name.size() == 6 && name.substr(0, 5) == "rouge" && name[5] >= '1' && name[5] <= '9') {
    return RougeType{RougeType::kNgram, name[5] - '0'};
  }
  return std::nullopt;
}

bool rouge_scores(const char* op, strings::StringSide predictions, strings::StringSide references,
                  const int64_t* reference_offsets, int64_t count,
                  const std::vector<RougeType>& types, bool use_stemmer, double* scores) {
  const int64_t type_count = static_cast<int64_t>(types.size());
  std::atomic<bool> unreadable{false};
  ItemErrors errors;
  parallel_for(0, count, grain_for(kPairNs), [&](int64_t first, int64_t last) {
    RougeVocabulary& vocabulary = thread_vocabulary(use_stemmer);
    Workspace& work = thread_workspace();
    RougeTokens prediction, target;
    std::vector<Score> best(type_count);
    for (int64_t i = first; i < last; ++i) {
      errors.run(i, [&] {
        if (!vocabulary.tokenize(op, predictions, i, prediction)) {
          unreadable.store(true, std::memory_order_relaxed);
          return;
        }
        for (int64_t r = reference_offsets[i]; r < reference_offsets[i + 1]; ++r) {
          if (!vocabulary.tokenize(op, references, r, target)) {
            unreadable.store(true, std::memory_order_relaxed);
            return;
          }
          work.fit(vocabulary.size());
          for (int64_t t = 0; t < type_count; ++t) {
            const Score score = rouge_score(types[t], target, prediction, work);
            if (r == reference_offsets[i] || score.fmeasure > best[t].fmeasure) best[t] = score;
          }
        }
        for (int64_t t = 0; t < type_count; ++t) {
          double* out = scores + (t * count + i) * kRougeFields;
          out[0] = best[t].precision;
          out[1] = best[t].recall;
          out[2] = best[t].fmeasure;
        }
      });
    }
  });
  errors.rethrow();
  return !unreadable.load();
}

bool rouge_pairwise(const char* op, strings::StringSide a, int64_t count_a, strings::StringSide b,
                    int64_t count_b, RougeType type, bool use_stemmer, double* scores) {
  // One vocabulary for both sides, so that ids compare across rows: the
  // texts are tokenized on this thread (a pass over each text once; the
  // grid's count_a * count_b pairs are what the pool shares).
  RougeVocabulary vocabulary(use_stemmer);
  std::vector<RougeTokens> texts(count_a + count_b);
  for (int64_t s = 0; s < count_a + count_b; ++s) {
    const bool read = s < count_a ? vocabulary.tokenize(op, a, s, texts[s])
                                  : vocabulary.tokenize(op, b, s - count_a, texts[s]);
    if (!read) return false;
  }
  int64_t tokens_b = 0;
  const int64_t vocabulary_size = vocabulary.size();
  for (int64_t j = 0; j < count_b; ++j) tokens_b += texts[count_a + j].ids.size() + 1;
  parallel_for(0, count_a, grain_for(kTokenNs * tokens_b), [&](int64_t first, int64_t last) {
    Workspace& work = thread_workspace();
    work.fit(vocabulary_size);
    for (int64_t i = first; i < last; ++i) {
      double* row = scores + i * count_b;
      const RougeTokens& prediction = texts[i];
      if (!score_row_from_prediction(type, prediction, texts.data() + count_a, count_b, row,
                                     work)) {
        for (int64_t j = 0; j < count_b; ++j) {
          row[j] = rouge_score(type, texts[count_a + j], prediction, work).fmeasure;
        }
      }
    }
  });
  return true;
}

}  // namespace mt::text_metrics
