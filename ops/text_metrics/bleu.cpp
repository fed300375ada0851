// BLEU's statistics (sacrebleu's BLEU._compute_segment_statistics) per
// sentence, and pairwise sentence BLEU, on the pool.
#include <algorithm>
#include <cstdlib>

#include <torch_mt/parallel.h>
#include "ngrams.h"
#include "reading.h"
#include "text_metrics.h"

namespace mt::text_metrics {
namespace {

// sacrebleu's _get_closest_ref_len: the closest length, ties to the shorter.
int64_t closest_length(int64_t hyp_len, const std::vector<int64_t>& ref_lens) {
  int64_t closest_diff = -1, closest_len = -1;
  for (const int64_t ref_len : ref_lens) {
    const int64_t diff = std::llabs(hyp_len - ref_len);
    if (closest_diff == -1 || diff < closest_diff) {
      closest_diff = diff;
      closest_len = ref_len;
    } else if (diff == closest_diff && ref_len < closest_len) {
      closest_len = ref_len;
    }
  }
  return closest_len;
}

// Counts of one order's n-grams of token ids packed exactly into a u64
// (16 bits a token, ids + 1, so at most 4 tokens of ids below 65535): plain
// integer sorts and merges, the common case. Keys raised one order at a time.
struct PackedNgrams {
  std::vector<uint64_t> running, sorted;
  std::vector<std::pair<uint64_t, int32_t>> counts;

  void reset(const std::vector<int32_t>& ids) { running.assign(ids.size(), 0); }
  void next_order(const std::vector<int32_t>& ids, int n) {
    const int64_t count = std::max<int64_t>(0, static_cast<int64_t>(ids.size()) - n + 1);
    for (int64_t i = 0; i < count; ++i) {
      running[i] |= static_cast<uint64_t>(ids[i + n - 1] + 1) << (16 * (n - 1));
    }
    sorted.assign(running.begin(), running.begin() + count);
    std::sort(sorted.begin(), sorted.end());
    counts.clear();
    for (const uint64_t key : sorted) {
      if (!counts.empty() && counts.back().first == key) {
        ++counts.back().second;
      } else {
        counts.emplace_back(key, 1);
      }
    }
  }
};

// One sentence's statistics row from its token ids: sequence 0 the
// hypothesis, 1.. the references; `distinct` ids in all.
struct BleuCounter {
  NgramHashes hyp;
  std::vector<NgramHashes> refs;
  std::vector<NgramCount> hyp_counts, ref_counts;
  PackedNgrams packed_hyp;
  std::vector<PackedNgrams> packed_refs;
  std::vector<int32_t> ref_max;
  std::vector<int64_t> ref_lens;

  void row(const std::vector<std::vector<int32_t>>& ids, int32_t distinct, int64_t* out) {
    const size_t streams = ids.size() - 1;
    ref_lens.clear();
    for (size_t r = 0; r < streams; ++r)
      ref_lens.push_back(static_cast<int64_t>(ids[r + 1].size()));
    const auto hyp_len = static_cast<int64_t>(ids[0].size());
    out[0] = hyp_len;
    out[1] = closest_length(hyp_len, ref_lens);
    for (int n = 1; n <= kBleuOrder; ++n)
      out[1 + kBleuOrder + n] = std::max<int64_t>(0, hyp_len - n + 1);
    if (distinct < 65535) {
      packed_row(ids, out);
    } else {
      hashed_row(ids, out);
    }
  }

 private:
  // Multiple references: each n-gram's largest count in any of them.
  void packed_row(const std::vector<std::vector<int32_t>>& ids, int64_t* out) {
    const size_t streams = ids.size() - 1;
    packed_refs.resize(streams);
    packed_hyp.reset(ids[0]);
    for (size_t r = 0; r < streams; ++r) packed_refs[r].reset(ids[r + 1]);
    for (int n = 1; n <= kBleuOrder; ++n) {
      packed_hyp.next_order(ids[0], n);
      const auto& hyp_keys = packed_hyp.counts;
      ref_max.assign(hyp_keys.size(), 0);
      for (size_t r = 0; r < streams; ++r) {
        packed_refs[r].next_order(ids[r + 1], n);
        const auto& ref_keys = packed_refs[r].counts;
        size_t i = 0, j = 0;
        while (i < hyp_keys.size() && j < ref_keys.size()) {
          if (hyp_keys[i].first < ref_keys[j].first) {
            ++i;
          } else if (ref_keys[j].first < hyp_keys[i].first) {
            ++j;
          } else {
            ref_max[i] = std::max(ref_max[i], ref_keys[j].second);
            ++i, ++j;
          }
        }
      }
      int64_t correct = 0;
      for (size_t i = 0; i < hyp_keys.size(); ++i)
        correct += std::min(hyp_keys[i].second, ref_max[i]);
      out[1 + n] = correct;
    }
  }

  // Any number of distinct tokens: n-grams by hash, symbols compared.
  void hashed_row(const std::vector<std::vector<int32_t>>& ids, int64_t* out) {
    const size_t streams = ids.size() - 1;
    refs.resize(streams);
    hyp.reset(ids[0].data(), static_cast<int64_t>(ids[0].size()));
    for (size_t r = 0; r < streams; ++r) {
      refs[r].reset(ids[r + 1].data(), static_cast<int64_t>(ids[r + 1].size()));
    }
    for (int n = 1; n <= kBleuOrder; ++n) {
      hyp.next_order(hyp_counts);
      ref_max.assign(hyp_counts.size(), 0);
      for (size_t r = 0; r < streams; ++r) {
        refs[r].next_order(ref_counts);
        for_each_match(hyp_counts, ids[0].data(), ref_counts, ids[r + 1].data(), n,
                       [&](size_t i, int32_t count) { ref_max[i] = std::max(ref_max[i], count); });
      }
      int64_t correct = 0;
      for (size_t i = 0; i < hyp_counts.size(); ++i) {
        correct += std::min(hyp_counts[i].count, ref_max[i]);
      }
      out[1 + n] = correct;
    }
  }
};

// A sentence of ~20 words and its references cost ~2 us to tokenize and count.
constexpr int64_t kSentenceNs = 2000;

}  // namespace

bool bleu_statistics(const char* op, StringSide hypotheses, StringSide references, int64_t count,
                     int64_t streams, const BleuOptions& options, int64_t* stats) {
  SentenceReader reader(op, hypotheses, references, count, streams);
  ItemErrors errors;
  parallel_for(0, count, grain_for(kSentenceNs * (1 + streams)), [&](int64_t first, int64_t last) {
    TokenizerScratch scratch;
    std::vector<int32_t> codes;
    IdSequences sentence;
    sentence.resize(static_cast<size_t>(streams + 1));
    BleuCounter counter;
    for (int64_t i = first; i < last; ++i) {
      errors.run(i, [&] {
        if (!reader.hypothesis(i, codes)) return;
        bleu_tokens(codes, options.tokenizer, options.lowercase, scratch, sentence.tokens[0]);
        for (int64_t r = 0; r < streams; ++r) {
          if (!reader.reference(r, i, codes)) return;
          bleu_tokens(codes, options.tokenizer, options.lowercase, scratch, sentence.tokens[r + 1]);
        }
        sentence.assign_ids();
        counter.row(sentence.ids, sentence.distinct, stats + i * kBleuColumns);
      });
    }
  });
  errors.rethrow();
  return !reader.unreadable();
}

bool bleu_pairwise(const char* op, StringSide a, int64_t count_a, StringSide b, int64_t count_b,
                   const BleuOptions& options, const BleuSmoothing& smoothing, double* scores) {
  // Every sentence tokenized once (in parallel), then one id per distinct
  // token across both sides, so that any two sentences' n-grams compare.
  const int64_t total = count_a + count_b;
  IdSequences sentences;
  sentences.resize(static_cast<size_t>(total));
  const bool read = read_both_sides(
      op, a, count_a, b, count_b, kSentenceNs,
      [&](int64_t s, const std::vector<int32_t>& codes, TokenizerScratch& scratch) {
        bleu_tokens(codes, options.tokenizer, options.lowercase, scratch, sentences.tokens[s]);
      });
  if (!read) return false;
  sentences.assign_ids();
  // Rows in parallel: a[i] against each b[j] as its one reference.
  parallel_for(0, count_a, grain_for(kSentenceNs / 4 * count_b), [&](int64_t first, int64_t last) {
    BleuCounter counter;
    std::vector<std::vector<int32_t>> pair(2);
    int64_t row[kBleuColumns];
    for (int64_t i = first; i < last; ++i) {
      pair[0] = sentences.ids[i];
      for (int64_t j = 0; j < count_b; ++j) {
        pair[1] = sentences.ids[count_a + j];
        counter.row(pair, sentences.distinct, row);
        scores[i * count_b + j] = bleu_score(row, smoothing);
      }
    }
  });
  return true;
}

}  // namespace mt::text_metrics
