// One pair's ROUGE Scores (rouge_pair.h): rouge-score's _score_ngrams,
// _score_lcs and _summary_level_lcs on token ids.
#include "rouge_pair.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace mt::text_metrics {
namespace {

// rouge_score.scoring.fmeasure.
double fmeasure(double precision, double recall) {
  return precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
}

}  // namespace

Score score_of(int64_t hits, int64_t prediction_count, int64_t target_count) {
  Score score;
  score.precision = static_cast<double>(hits) / static_cast<double>(prediction_count);
  score.recall = static_cast<double>(hits) / static_cast<double>(target_count);
  score.fmeasure = fmeasure(score.precision, score.recall);
  return score;
}

namespace {

// rouge-score's _score_ngrams for n = 1: each prediction token is a hit
// while the target's count of it lasts.
Score unigram_score(Span target, Span prediction, Workspace& work) {
  int32_t* counts = work.id_counts.data();
  for (int64_t at = 0; at < target.second; ++at) ++counts[target.first[at]];
  int64_t hits = 0;
  for (int64_t at = 0; at < prediction.second; ++at) {
    int32_t& left = counts[prediction.first[at]];
    hits += left > 0;
    left -= left > 0;
  }
  for (int64_t at = 0; at < target.second; ++at) counts[target.first[at]] = 0;
  return score_of(hits, std::max<int64_t>(prediction.second, 1),
                  std::max<int64_t>(target.second, 1));
}

// n = 2, without hashing: the target's bigrams are chained by their first
// token's id (dense per-thread ids index the chain heads); a prediction
// bigram walks its first token's chain for an untaken target bigram with the
// same second token. Taking one match each counts min(count in target,
// count in prediction) per distinct bigram, as rouge-score's clipped sum.
Score bigram_score(Span target, Span prediction, Workspace& work) {
  const int64_t target_grams = std::max<int64_t>(0, target.second - 1);
  const int64_t prediction_grams = std::max<int64_t>(0, prediction.second - 1);
  int64_t hits = 0;
  if (target_grams > 0 && prediction_grams > 0) {
    const int32_t* t = target.first;
    const int32_t* p = prediction.first;
    int32_t* heads = work.id_heads.data();  // 1 + the latest position, 0: none
    work.chain.resize(target_grams);
    work.taken.assign(target_grams, 0);
    for (int64_t k = 0; k < target_grams; ++k) {
      work.chain[k] = heads[t[k]];
      heads[t[k]] = static_cast<int32_t>(k + 1);
    }
    for (int64_t j = 0; j < prediction_grams; ++j) {
      for (int32_t at = heads[p[j]]; at != 0; at = work.chain[at - 1]) {
        if (!work.taken[at - 1] && t[at] == p[j + 1]) {
          work.taken[at - 1] = 1;
          ++hits;
          break;
        }
      }
    }
    for (int64_t k = 0; k < target_grams; ++k) heads[t[k]] = 0;
  }
  return score_of(hits, std::max<int64_t>(prediction_grams, 1), std::max<int64_t>(target_grams, 1));
}

// rouge-score's _score_ngrams: the clipped overlap of n-gram counts.
Score ngram_score(Span target, Span prediction, int n, Workspace& work) {
  if (n == 1) return unigram_score(target, prediction, work);
  if (n == 2) return bigram_score(target, prediction, work);
  const int64_t target_grams = std::max<int64_t>(0, target.second - n + 1);
  const int64_t prediction_grams = std::max<int64_t>(0, prediction.second - n + 1);
  int64_t hits = 0;
  if (target_grams > 0 && prediction_grams > 0) {
    work.target_grams.build(target, n);
    work.used.assign(work.target_grams.distinct(), 0);
    for (int64_t at = 0; at < prediction_grams; ++at) {
      const int32_t index = work.target_grams.find(prediction.first + at);
      if (index >= 0 && work.used[index] < work.target_grams.count(index)) {
        ++work.used[index];
        ++hits;
      }
    }
  }
  return score_of(hits, std::max<int64_t>(prediction_grams, 1), std::max<int64_t>(target_grams, 1));
}

// The LCS length, bit-parallel (Allison-Dix / Hyyrö): one bit per target
// token, one word operation per 64 of them for each prediction token.
int64_t lcs_length(Span target, Span prediction, Workspace& work) {
  if (target.second <= 64) {
    // One word: masks straight from the id-indexed table.
    uint64_t* masks = work.id_masks.data();
    for (int64_t at = 0; at < target.second; ++at) masks[target.first[at]] |= uint64_t{1} << at;
    uint64_t v = ~uint64_t{0};
    for (int64_t at = 0; at < prediction.second; ++at) {
      const uint64_t u = v & masks[prediction.first[at]];
      v = (v + u) | (v ^ u);
    }
    for (int64_t at = 0; at < target.second; ++at) masks[target.first[at]] = 0;
    const uint64_t low = target.second == 64 ? ~uint64_t{0} : (uint64_t{1} << target.second) - 1;
    return target.second - std::popcount(v & low);
  }
  work.target_grams.build(target, 1);
  const int64_t words = (target.second + 63) / 64;
  const int32_t distinct = work.target_grams.distinct();
  work.masks.assign(static_cast<size_t>(distinct) * words, 0);
  for (int64_t at = 0; at < target.second; ++at) {
    const int32_t index = work.target_grams.find(target.first + at);
    work.masks[index * words + at / 64] |= uint64_t{1} << (at % 64);
  }
  // V starts all ones; a zero bit in its low `target.second` bits ends as
  // one unit of the LCS. U = V & M is a subset of V, so V - U = V ^ U.
  work.row.assign(words, ~uint64_t{0});
  uint64_t* v = work.row.data();
  for (int64_t at = 0; at < prediction.second; ++at) {
    const int32_t index = work.target_grams.find(prediction.first + at);
    if (index < 0) continue;
    const uint64_t* mask = work.masks.data() + index * words;
    uint64_t carry = 0;
    for (int64_t w = 0; w < words; ++w) {
      const uint64_t u = v[w] & mask[w];
      const uint64_t sum = v[w] + u + carry;
      carry = (sum < v[w]) || (carry && sum == v[w]) ? 1 : 0;
      v[w] = sum | (v[w] ^ u);
    }
  }
  int64_t ones = 0;
  for (int64_t w = 0; w < words; ++w) {
    const int64_t bits = std::min<int64_t>(64, target.second - 64 * w);
    const uint64_t low = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
    ones += std::popcount(v[w] & low);
  }
  return target.second - ones;
}

// rouge-score's _score_lcs.
Score lcs_score(Span target, Span prediction, Workspace& work) {
  if (target.second == 0 || prediction.second == 0) return {};
  return score_of(lcs_length(target, prediction, work), prediction.second, target.second);
}

// rouge-score's lcs_ind: the target positions of the one LCS its table and
// backtrack pick (ties step left in the prediction only when that keeps more),
// marked in work.in_union.
void mark_lcs(Span target, Span prediction, Workspace& work) {
  const int64_t rows = target.second, cols = prediction.second;
  work.table.assign(static_cast<size_t>((rows + 1) * (cols + 1)), 0);
  int32_t* t = work.table.data();
  const auto at = [&](int64_t i, int64_t j) -> int32_t& { return t[i * (cols + 1) + j]; };
  for (int64_t i = 1; i <= rows; ++i) {
    for (int64_t j = 1; j <= cols; ++j) {
      at(i, j) = target.first[i - 1] == prediction.first[j - 1]
                     ? at(i - 1, j - 1) + 1
                     : std::max(at(i - 1, j), at(i, j - 1));
    }
  }
  int64_t i = rows, j = cols;
  while (i > 0 && j > 0) {
    if (target.first[i - 1] == prediction.first[j - 1]) {
      work.in_union[i - 1] = 1;
      --i;
      --j;
    } else if (at(i, j - 1) > at(i - 1, j)) {
      --j;
    } else {
      --i;
    }
  }
}

// rouge-score's _summary_level_lcs: for each target line, the union of its
// LCS with every prediction line; each union token is a hit while both
// texts' counts of it last.
Score summary_lcs_score(const RougeTokens& target, const RougeTokens& prediction, Workspace& work) {
  const int64_t m = static_cast<int64_t>(target.ids.size());
  const int64_t n = static_cast<int64_t>(prediction.ids.size());
  if (m == 0 || n == 0) return {};
  work.target_words.build({target.ids.data(), m}, 1);
  work.prediction_words.build({prediction.ids.data(), n}, 1);
  work.target_left.resize(work.target_words.distinct());
  for (int32_t k = 0; k < work.target_words.distinct(); ++k) {
    work.target_left[k] = work.target_words.count(k);
  }
  work.prediction_left.resize(work.prediction_words.distinct());
  for (int32_t k = 0; k < work.prediction_words.distinct(); ++k) {
    work.prediction_left[k] = work.prediction_words.count(k);
  }
  int64_t hits = 0, target_start = 0;
  for (const int32_t target_end : target.line_ends) {
    const Span line{target.ids.data() + target_start, target_end - target_start};
    work.in_union.assign(line.second, 0);
    int64_t prediction_start = 0;
    for (const int32_t prediction_end : prediction.line_ends) {
      mark_lcs(line, {prediction.ids.data() + prediction_start, prediction_end - prediction_start},
               work);
      prediction_start = prediction_end;
    }
    for (int64_t k = 0; k < line.second; ++k) {
      if (!work.in_union[k]) continue;
      const int32_t in_prediction = work.prediction_words.find(line.first + k);
      if (in_prediction < 0 || work.prediction_left[in_prediction] == 0) continue;
      int32_t& in_target = work.target_left[work.target_words.find(line.first + k)];
      if (in_target == 0) continue;
      ++hits;
      --in_target;
      --work.prediction_left[in_prediction];
    }
    target_start = target_end;
  }
  return score_of(hits, n, m);
}

}  // namespace

Score rouge_score(RougeType type, const RougeTokens& target, const RougeTokens& prediction,
                  Workspace& work) {
  const Span target_span{target.ids.data(), static_cast<int64_t>(target.ids.size())};
  const Span prediction_span{prediction.ids.data(), static_cast<int64_t>(prediction.ids.size())};
  switch (type.kind) {
    case RougeType::kNgram: return ngram_score(target_span, prediction_span, type.n, work);
    case RougeType::kLcs: return lcs_score(target_span, prediction_span, work);
    case RougeType::kSummaryLcs:
      // One line each: the union is the one LCS, every token of it a hit.
      if (target.line_ends.size() == 1 && prediction.line_ends.size() == 1) {
        return lcs_score(target_span, prediction_span, work);
      }
      return summary_lcs_score(target, prediction, work);
  }
  return {};
}

bool score_row_from_prediction(RougeType type, const RougeTokens& prediction,
                               const RougeTokens* targets, int64_t count, double* row,
                               Workspace& work) {
  const int32_t* p = prediction.ids.data();
  const auto p_size = static_cast<int64_t>(prediction.ids.size());
  const bool one_line_each = [&] {
    if (prediction.line_ends.size() > 1) return false;
    for (int64_t j = 0; j < count; ++j) {
      if (targets[j].line_ends.size() > 1) return false;
    }
    return true;
  }();
  const bool lcs =
      type.kind == RougeType::kLcs || (type.kind == RougeType::kSummaryLcs && one_line_each);
  if (type.kind == RougeType::kNgram && type.n == 1) {
    for (int64_t at = 0; at < p_size; ++at) ++work.id_counts[p[at]];
    for (int64_t j = 0; j < count; ++j) {
      const std::vector<int32_t>& t = targets[j].ids;
      int64_t hits = 0;
      for (const int32_t id : t) hits += ++work.id_used[id] <= work.id_counts[id];
      for (const int32_t id : t) work.id_used[id] = 0;
      row[j] = score_of(hits, std::max<int64_t>(p_size, 1),
                        std::max<int64_t>(static_cast<int64_t>(t.size()), 1))
                   .fmeasure;
    }
    for (int64_t at = 0; at < p_size; ++at) work.id_counts[p[at]] = 0;
    return true;
  }
  if (!lcs || p_size > 64) return false;
  uint64_t* masks = work.id_masks.data();
  for (int64_t at = 0; at < p_size; ++at) masks[p[at]] |= uint64_t{1} << at;
  const uint64_t low = p_size == 64 ? ~uint64_t{0} : (uint64_t{1} << p_size) - 1;
  for (int64_t j = 0; j < count; ++j) {
    const std::vector<int32_t>& t = targets[j].ids;
    if (t.empty() || p_size == 0) {
      row[j] = 0.0;
      continue;
    }
    uint64_t v = ~uint64_t{0};
    for (const int32_t id : t) {
      const uint64_t u = v & masks[id];
      v = (v + u) | (v ^ u);
    }
    const int64_t lcs_length = p_size - std::popcount(v & low);
    row[j] = score_of(lcs_length, p_size, static_cast<int64_t>(t.size())).fmeasure;
  }
  for (int64_t at = 0; at < p_size; ++at) masks[p[at]] = 0;
  return true;
}

}  // namespace mt::text_metrics
