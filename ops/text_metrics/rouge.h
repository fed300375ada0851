// ROUGE as Google's rouge-score 0.1.2 computes it (RougeScorer.score and
// score_multi), on the pool: its tokenizer (lowercase, every character but
// ASCII letters and digits a separator), NLTK's Porter stemmer on words of
// more than 3 letters, n-gram overlap, the LCS of the whole texts (rougeL) and
// the summary-level union LCS over lines (rougeLsum). Scores equal rouge-score's
// to the last bit: the same integers, divided and combined in the same order.
//
// Only standard headers: the Python bindings compile the family's headers too.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <torch_mt/strings.h>

namespace mt::text_metrics {

// A type as rouge-score names it: "rouge1" .. "rouge9" (n-gram overlap),
// "rougeL" (LCS of the token lists), "rougeLsum" (summary-level LCS, the
// texts split on "\n").
struct RougeType {
  enum Kind { kNgram, kLcs, kSummaryLcs } kind = kLcs;
  int n = 0;  // kNgram's n
};
std::optional<RougeType> parse_rouge_type(std::string_view name);
inline constexpr const char* kRougeTypes = "'rouge1' to 'rouge9', 'rougeL' or 'rougeLsum'";

// A Score's fields: precision, recall, fmeasure.
inline constexpr int kRougeFields = 3;

// scores[(t * count + i) * kRougeFields + field]: the Score of type t of
// prediction i against its references, items reference_offsets[i] to
// reference_offsets[i + 1] of `references`: the one with the highest
// fmeasure, the first of equals (score_multi; score for one reference).
// False when an item was unreadable (the caller's slower path names it).
bool rouge_scores(const char* op, strings::StringSide predictions, strings::StringSide references,
                  const int64_t* reference_offsets, int64_t count,
                  const std::vector<RougeType>& types, bool use_stemmer, double* scores);

// scores[i * count_b + j]: the fmeasure of a[i] as the prediction against
// b[j] as the target. Rows in parallel, each text tokenized once.
bool rouge_pairwise(const char* op, strings::StringSide a, int64_t count_a, strings::StringSide b,
                    int64_t count_b, RougeType type, bool use_stemmer, double* scores);

}  // namespace mt::text_metrics
