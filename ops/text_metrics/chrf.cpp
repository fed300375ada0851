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

// A sentence's chrF characters (into `profile`) and, for chrF++, its words.
void prepare(const std::vector<int32_t>& codes, const ChrfOptions& options,
             TokenizerScratch& scratch, ChrfProfile& profile, Tokens* words) {
  chrf_characters(codes, options.lowercase, options.whitespace, scratch, profile.chars);
  if (options.word_order > 0) {
    chrf_words(codes, options.lowercase, scratch, *words);
  }
}

constexpr int64_t kSentenceNs = 4000;  // ~100 characters, 6 orders
constexpr int64_t kPairNs = 1000;      // a pair's lookups (~0.4 us measured), rounded up

// A sentence's distinct n-grams as ids shared by every sentence of the call
// (per order, ascending), with their counts.
struct DenseProfile {
  std::vector<uint32_t> ids;
  std::vector<int32_t> counts;
  std::vector<int64_t> offsets;  // order k's n-grams: [offsets[k], offsets[k + 1])
  std::vector<int64_t> totals;
};

// Ids by sorting every sentence's n-grams of one order together by (hash,
// symbols), exactly as each sentence's own list is sorted: so each
// sentence's ids come out ascending. Orders in parallel.
std::vector<DenseProfile> dense_profiles(const std::vector<ChrfProfile>& profiles,
                                         const ChrfOptions& options, uint32_t& id_count) {
  const auto count = static_cast<int64_t>(profiles.size());
  const int64_t orders = options.orders();
  std::vector<DenseProfile> dense(profiles.size());
  for (int64_t s = 0; s < count; ++s) {
    DenseProfile& d = dense[s];
    d.offsets.assign(1, 0);
    for (int64_t k = 0; k < orders; ++k) {
      d.offsets.push_back(d.offsets.back() + static_cast<int64_t>(profiles[s].orders[k].size()));
    }
    d.ids.resize(static_cast<size_t>(d.offsets.back()));
    d.counts.resize(d.ids.size());
    d.totals = profiles[s].totals;
  }
  std::vector<uint32_t> distinct(static_cast<size_t>(orders), 0);
  // An order's sort costs ~15 ns an n-gram: small calls stay on one thread.
  int64_t entries = 0;
  for (const DenseProfile& d : dense) entries += d.offsets.back();
  const int64_t per_order = orders > 0 ? entries / orders : 0;
  parallel_for(0, orders, grain_for(15 * per_order), [&](int64_t first, int64_t last) {
    struct Entry {
      uint64_t hash;
      int32_t sentence, index;
    };
    std::vector<Entry> entries;
    for (int64_t k = first; k < last; ++k) {
      const int n = static_cast<int>(k < options.char_order ? k + 1 : k - options.char_order + 1);
      entries.clear();
      for (int64_t s = 0; s < count; ++s) {
        const auto& list = profiles[s].orders[k];
        for (size_t e = 0; e < list.size(); ++e) {
          entries.push_back({list[e].hash, static_cast<int32_t>(s), static_cast<int32_t>(e)});
        }
      }
      const auto symbols = [&](const Entry& e) {
        return profiles[e.sentence].symbols(k, options) +
               profiles[e.sentence].orders[k][e.index].start;
      };
      std::sort(entries.begin(), entries.end(), [&](const Entry& a, const Entry& b) {
        if (a.hash != b.hash) return a.hash < b.hash;
        const int32_t *x = symbols(a), *y = symbols(b);
        return std::lexicographical_compare(x, x + n, y, y + n);
      });
      uint32_t id = 0;
      for (size_t e = 0; e < entries.size(); ++e) {
        const Entry& entry = entries[e];
        if (e > 0 && !(entries[e - 1].hash == entry.hash &&
                       std::equal(symbols(entry), symbols(entry) + n, symbols(entries[e - 1])))) {
          ++id;
        }
        DenseProfile& d = dense[entry.sentence];
        const size_t at = static_cast<size_t>(d.offsets[k] + entry.index);
        d.ids[at] = id;
        d.counts[at] = profiles[entry.sentence].orders[k][entry.index].count;
      }
      distinct[k] = entries.empty() ? 0 : id + 1;
    }
  });
  // One id space for all orders: order k's ids from the sum of those before.
  std::vector<uint32_t> base(static_cast<size_t>(orders), 0);
  for (int64_t k = 1; k < orders; ++k) base[k] = base[k - 1] + distinct[k - 1];
  id_count = orders > 0 ? base[orders - 1] + distinct[orders - 1] : 0;
  for (DenseProfile& d : dense) {
    for (int64_t k = 0; k < orders; ++k) {
      for (int64_t e = d.offsets[k]; e < d.offsets[k + 1]; ++e) d.ids[e] += base[k];
    }
  }
  return dense;
}

// A row's counts by n-gram id, so that a pair costs one independent lookup
// per n-gram of the other sentence (no merge's dependent compares).
class RowCounts {
 public:
  explicit RowCounts(uint32_t ids) : counts_(ids, 0) {}
  void set(const DenseProfile& row) {
    for (size_t e = 0; e < row.ids.size(); ++e) counts_[row.ids[e]] = row.counts[e];
  }
  void clear(const DenseProfile& row) {
    for (const uint32_t id : row.ids) counts_[id] = 0;
  }
  // chrf_row of the set row (hypothesis) against `ref`.
  void row(const DenseProfile& hyp, const DenseProfile& ref, int64_t orders, int64_t* out) const {
    for (int64_t k = 0; k < orders; ++k) {
      int64_t match = 0;
      for (int64_t e = ref.offsets[k]; e < ref.offsets[k + 1]; ++e) {
        match += std::min(counts_[ref.ids[e]], ref.counts[e]);
      }
      out[3 * k] = ref.totals[k] > 0 ? hyp.totals[k] : 0;
      out[3 * k + 1] = ref.totals[k];
      out[3 * k + 2] = match;
    }
  }

 private:
  std::vector<int32_t> counts_;
};

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
  // Each sentence prepared and counted once; its n-grams get ids shared by
  // every sentence; then a pair is a lookup per n-gram (RowCounts).
  const int64_t total = count_a + count_b;
  std::vector<ChrfProfile> profiles(static_cast<size_t>(total));
  IdSequences words;
  words.resize(static_cast<size_t>(total));
  const bool read =
      read_both_sides(op, a, count_a, b, count_b, kSentenceNs,
                      [&](int64_t s, const std::vector<int32_t>& codes, TokenizerScratch& scratch) {
                        prepare(codes, options, scratch, profiles[s], &words.tokens[s]);
                      });
  if (!read) return false;
  if (options.word_order > 0) words.assign_ids();  // ids shared by every sentence
  parallel_for(0, total, grain_for(kSentenceNs), [&](int64_t first, int64_t last) {
    NgramHashes hashes;
    for (int64_t s = first; s < last; ++s) {
      profiles[s].words = words.ids[s].data();
      profiles[s].word_count = options.word_order > 0 ? words.tokens[s].size() : 0;
      profiles[s].count(options, hashes);
    }
  });
  uint32_t id_count = 0;
  const std::vector<DenseProfile> dense = dense_profiles(profiles, options, id_count);
  const int64_t columns = 3 * options.orders();
  parallel_for(0, count_a, grain_for(kPairNs * count_b), [&](int64_t first, int64_t last) {
    std::vector<int64_t> row(static_cast<size_t>(columns));
    RowCounts counts(id_count);
    for (int64_t i = first; i < last; ++i) {
      counts.set(dense[i]);
      for (int64_t j = 0; j < count_b; ++j) {
        counts.row(dense[i], dense[count_a + j], options.orders(), row.data());
        scores[i * count_b + j] =
            chrf_score(row.data(), options.orders(), options.beta, options.eps_smoothing);
      }
      counts.clear(dense[i]);
    }
  });
  return true;
}

}  // namespace mt::text_metrics
