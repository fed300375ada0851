// chrF's statistics (sacrebleu's CHRF._compute_segment_statistics) per
// sentence, and pairwise sentence chrF, on the pool.
#include <algorithm>

#include <torch_mt/parallel.h>
#include "ngrams.h"
#include "reading.h"
#include "text_metrics.h"

namespace mt::text_metrics {
namespace {

// A sentence's character and word n-gram counts, every order, sorted.
struct ChrfProfile {
  std::vector<int32_t> chars;
  const int32_t* words = nullptr;  // word ids (owned by an IdSequences)
  int64_t word_count = 0;
  std::vector<std::vector<NgramCount>> orders;  // characters 1..C, then words 1..W
  std::vector<int64_t> totals;

  void count(const ChrfOptions& options, NgramHashes& hashes) {
    orders.resize(static_cast<size_t>(options.orders()));
    totals.resize(orders.size());
    hashes.reset(chars.data(), static_cast<int64_t>(chars.size()));
    for (int64_t k = 0; k < options.char_order; ++k) {
      hashes.next_order(orders[k]);
      totals[k] = std::max<int64_t>(0, static_cast<int64_t>(chars.size()) - k);
    }
    hashes.reset(words, word_count);
    for (int64_t k = 0; k < options.word_order; ++k) {
      hashes.next_order(orders[options.char_order + k]);
      totals[options.char_order + k] = std::max<int64_t>(0, word_count - k);
    }
  }
  const int32_t* symbols(int64_t k, const ChrfOptions& options) const {
    return k < options.char_order ? chars.data() : words;
  }
};

// (hyp, ref, match) per order of a hypothesis against one reference.
void chrf_row(const ChrfProfile& hyp, const ChrfProfile& ref, const ChrfOptions& options,
              int64_t* out) {
  for (int64_t k = 0; k < options.orders(); ++k) {
    const int order = static_cast<int>(k < options.char_order ? k + 1 : k - options.char_order + 1);
    // sacrebleu counts no hypothesis n-grams of an order the reference lacks.
    out[3 * k] = ref.totals[k] > 0 ? hyp.totals[k] : 0;
    out[3 * k + 1] = ref.totals[k];
    out[3 * k + 2] = clipped_matches(hyp.orders[k], hyp.symbols(k, options), ref.orders[k],
                                     ref.symbols(k, options), order);
  }
}

// Reads, prepares and counts sentence `s` of `words` into `profile`.
void prepare(const std::vector<int32_t>& codes, const ChrfOptions& options,
             TokenizerScratch& scratch, ChrfProfile& profile, Tokens* words) {
  chrf_characters(codes, options.lowercase, options.whitespace, scratch, profile.chars);
  if (options.word_order > 0) {
    chrf_words(codes, options.lowercase, scratch, *words);
  }
}

constexpr int64_t kSentenceNs = 4000;  // ~100 characters, 6 orders

}  // namespace

bool chrf_statistics(const char* op, StringSide hypotheses, StringSide references, int64_t count,
                     int64_t streams, const ChrfOptions& options, int64_t* stats) {
  SentenceReader reader(op, hypotheses, references, count, streams);
  const int64_t columns = 3 * options.orders();
  ItemErrors errors;
  parallel_for(0, count, grain_for(kSentenceNs * (1 + streams)), [&](int64_t first, int64_t last) {
    TokenizerScratch scratch;
    NgramHashes hashes;
    std::vector<int32_t> codes;
    std::vector<ChrfProfile> profiles(static_cast<size_t>(streams + 1));
    IdSequences words;
    words.resize(static_cast<size_t>(streams + 1));
    std::vector<int64_t> row(static_cast<size_t>(columns));
    for (int64_t i = first; i < last; ++i) {
      errors.run(i, [&] {
        for (int64_t s = 0; s <= streams; ++s) {
          if (!(s == 0 ? reader.hypothesis(i, codes) : reader.reference(s - 1, i, codes))) return;
          prepare(codes, options, scratch, profiles[s], &words.tokens[s]);
        }
        if (options.word_order > 0) words.assign_ids();
        for (int64_t s = 0; s <= streams; ++s) {
          profiles[s].words = words.ids[s].data();
          profiles[s].word_count = options.word_order > 0 ? words.tokens[s].size() : 0;
          profiles[s].count(options, hashes);
        }
        // The reference with the best chrF; the first of equals.
        int64_t* out = stats + i * columns;
        double best = -1.0;
        for (int64_t s = 1; s <= streams; ++s) {
          chrf_row(profiles[0], profiles[s], options, row.data());
          const double f =
              chrf_score(row.data(), options.orders(), options.beta, options.eps_smoothing);
          if (f > best) {
            best = f;
            std::copy(row.begin(), row.end(), out);
          }
        }
      });
    }
  });
  errors.rethrow();
  return !reader.unreadable();
}

bool chrf_pairwise(const char* op, StringSide a, int64_t count_a, StringSide b, int64_t count_b,
                   const ChrfOptions& options, double* scores) {
  // Each sentence prepared and counted once, then every pair is a merge of
  // two sorted count lists per order.
  const int64_t total = count_a + count_b;
  SentenceReader reader_a(op, a, b, count_a, 0), reader_b(op, b, a, count_b, 0);
  std::vector<ChrfProfile> profiles(static_cast<size_t>(total));
  IdSequences words;
  words.resize(static_cast<size_t>(total));
  ItemErrors errors;
  parallel_for(0, total, grain_for(kSentenceNs), [&](int64_t first, int64_t last) {
    TokenizerScratch scratch;
    std::vector<int32_t> codes;
    for (int64_t s = first; s < last; ++s) {
      errors.run(s, [&] {
        const bool read =
            s < count_a ? reader_a.hypothesis(s, codes) : reader_b.hypothesis(s - count_a, codes);
        if (read) prepare(codes, options, scratch, profiles[s], &words.tokens[s]);
      });
    }
  });
  errors.rethrow();
  if (reader_a.unreadable() || reader_b.unreadable()) return false;
  if (options.word_order > 0) words.assign_ids();  // ids shared by every sentence
  parallel_for(0, total, grain_for(kSentenceNs), [&](int64_t first, int64_t last) {
    NgramHashes hashes;
    for (int64_t s = first; s < last; ++s) {
      profiles[s].words = words.ids[s].data();
      profiles[s].word_count = options.word_order > 0 ? words.tokens[s].size() : 0;
      profiles[s].count(options, hashes);
    }
  });
  const int64_t columns = 3 * options.orders();
  parallel_for(0, count_a, grain_for(kSentenceNs / 8 * count_b), [&](int64_t first, int64_t last) {
    std::vector<int64_t> row(static_cast<size_t>(columns));
    for (int64_t i = first; i < last; ++i) {
      for (int64_t j = 0; j < count_b; ++j) {
        chrf_row(profiles[i], profiles[count_a + j], options, row.data());
        scores[i * count_b + j] =
            chrf_score(row.data(), options.orders(), options.beta, options.eps_smoothing);
      }
    }
  });
  return true;
}

}  // namespace mt::text_metrics
