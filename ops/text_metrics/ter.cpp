// TER (sacrebleu's lib_ter, itself Tercom's algorithm): a beam-limited edit
// distance plus a greedy search for word shifts, per sentence on the pool.
//
// Every rule is sacrebleu's, including its heuristics: the beam of 25 around
// the length-scaled diagonal, shifts of at most 10 words moved at most 50
// positions, the ranking of candidate shifts, and the budget of 1000
// candidates per sentence and reference, after which the search stops (and
// the shift found in that last round is dropped, as sacrebleu does).
// sacrebleu memoises matrix rows by hypothesis prefix; the rows depend only
// on the prefix (the hypothesis length never changes during a search), so
// recomputing a candidate from the rows it shares with the current
// hypothesis gives the same numbers.
#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <string>

#include <torch_mt/parallel.h>
#include "ngrams.h"
#include "reading.h"
#include "text_metrics.h"

namespace mt::text_metrics {
namespace {

constexpr int kMaxShiftSize = 10;
constexpr int kMaxShiftDistance = 50;
constexpr int kBeamWidth = 25;
constexpr int kMaxShiftCandidates = 1000;
constexpr int64_t kInfinity = 10000000000000000LL;  // sacrebleu's int(1e16)

enum Op : char { kNop = ' ', kSub = 's', kIns = 'i', kDel = 'd', kUndefined = 'x' };

struct Cell {
  int64_t cost;
  char op;
};

using Words = std::vector<int32_t>;

// The edit-distance matrix of one hypothesis against the reference, rows
// by hypothesis position, with sacrebleu's beam and tie order.
class BeamEditDistance {
 public:
  void reset(const Words& ref, int64_t hyp_length) {
    ref_ = &ref;
    rows_ = hyp_length + 1;
    columns_ = static_cast<int64_t>(ref.size()) + 1;
    ratio_ =
        hyp_length > 0 ? static_cast<double>(ref.size()) / static_cast<double>(hyp_length) : 1.0;
    beam_ = kBeamWidth < ratio_ / 2 ? static_cast<int64_t>(std::ceil(ratio_ / 2 + kBeamWidth))
                                    : kBeamWidth;
    cells_.assign(static_cast<size_t>(rows_ * columns_), Cell{kInfinity, kUndefined});
    for (int64_t j = 0; j < columns_; ++j) cells_[j] = {j, kIns};
    words_.clear();
    valid_rows_ = 1;
  }

  // Distance of `hyp`; rows shared with the previous call's hypothesis kept.
  int64_t distance(const Words& hyp) {
    int64_t same = 0;
    const int64_t limit = std::min<int64_t>(valid_rows_ - 1, static_cast<int64_t>(words_.size()));
    while (same < limit && words_[same] == hyp[same]) ++same;
    words_ = hyp;
    for (int64_t i = same + 1; i < rows_; ++i) compute_row(i);
    valid_rows_ = rows_;
    return cells_[static_cast<size_t>(rows_ * columns_ - 1)].cost;
  }

  // The trace of the last distance(), as sacrebleu's (rewrite hyp into ref).
  void trace(std::string& out) const {
    out.clear();
    int64_t i = rows_ - 1, j = columns_ - 1;
    while (i > 0 || j > 0) {
      const char op = at(i, j).op;
      out.push_back(op);
      if (op == kSub || op == kNop) {
        --i;
        --j;
      } else if (op == kIns) {
        --j;
      } else if (op == kDel) {
        --i;
      } else {
        TORCH_CHECK(false, "TER: the beam left no path through the edit matrix");
      }
    }
    std::reverse(out.begin(), out.end());
  }

 private:
  Cell& at(int64_t i, int64_t j) { return cells_[static_cast<size_t>(i * columns_ + j)]; }
  const Cell& at(int64_t i, int64_t j) const {
    return cells_[static_cast<size_t>(i * columns_ + j)];
  }

  void compute_row(int64_t i) {
    Cell* row = &at(i, 0);
    std::fill(row, row + columns_, Cell{kInfinity, kUndefined});
    const Cell* above = &at(i - 1, 0);
    const auto diagonal = static_cast<int64_t>(std::floor(static_cast<double>(i) * ratio_));
    const int64_t min_j = std::max<int64_t>(0, diagonal - beam_);
    const int64_t max_j = i == rows_ - 1 ? columns_ : std::min(columns_, diagonal + beam_);
    const int32_t word = words_[i - 1];
    for (int64_t j = min_j; j < max_j; ++j) {
      if (j == 0) {
        row[0] = {above[0].cost + 1, kDel};
        continue;
      }
      const bool same = word == (*ref_)[j - 1];
      // Substitution (or match), then deletion, then insertion; a later one
      // wins only when strictly cheaper.
      Cell best{kInfinity, kUndefined};
      const Cell options[3] = {{above[j - 1].cost + (same ? 0 : 1), same ? kNop : kSub},
                               {above[j].cost + 1, kDel},
                               {row[j - 1].cost + 1, kIns}};
      for (const Cell& option : options) {
        if (best.cost > option.cost) best = option;
      }
      row[j] = best;
    }
  }

  const Words* ref_ = nullptr;
  int64_t rows_ = 0, columns_ = 0, beam_ = kBeamWidth, valid_rows_ = 1;
  double ratio_ = 1.0;
  std::vector<Cell> cells_;
  Words words_;
};

// words[:target] + ... : sacrebleu's _perform_shift, Python slices clamped.
void perform_shift(const Words& words, int64_t start, int64_t length, int64_t target, Words& out) {
  const auto n = static_cast<int64_t>(words.size());
  const auto slice = [&](int64_t from, int64_t to) {
    from = std::clamp<int64_t>(from, 0, n);
    to = std::clamp<int64_t>(to, 0, n);
    if (to > from) out.insert(out.end(), words.begin() + from, words.begin() + to);
  };
  out.clear();
  if (target < start) {
    slice(0, target), slice(start, start + length), slice(target, start), slice(start + length, n);
  } else if (target > start + length) {
    slice(0, start), slice(start + length, target), slice(start, start + length), slice(target, n);
  } else {
    slice(0, start), slice(start + length, length + target), slice(start, start + length);
    slice(length + target, n);
  }
}

struct ShiftSearch {
  BeamEditDistance matrix;
  std::string trace;
  std::vector<int64_t> align;
  std::vector<int32_t> hyp_err, ref_err;
  Words candidate, best_words;

  // sacrebleu's _shift: the best shift of `words`, its gain (0: none).
  int64_t best_shift(const Words& words, const Words& ref, int64_t& checked) {
    const int64_t pre_score = matrix.distance(words);
    matrix.trace(trace);
    alignment();
    const auto n_h = static_cast<int64_t>(words.size()), n_r = static_cast<int64_t>(ref.size());
    bool found = false;
    int64_t best[4] = {0, 0, 0, 0};  // gain, length, -start_h, -target
    for (int64_t start_h = 0; start_h < n_h; ++start_h) {
      for (int64_t start_r = 0; start_r < n_r; ++start_r) {
        if (std::abs(start_r - start_h) > kMaxShiftDistance) continue;
        int64_t length = 0;
        while (words[start_h + length] == ref[start_r + length] && length < kMaxShiftSize) {
          ++length;
          try_shift(words, ref, start_h, start_r, length, pre_score, checked, found, best);
          if (checked >= kMaxShiftCandidates) return found ? best[0] : 0;
          if (n_h == start_h + length || n_r == start_r + length) break;
        }
      }
    }
    return found ? best[0] : 0;
  }

 private:
  void try_shift(const Words& words, const Words& ref, int64_t start_h, int64_t start_r,
                 int64_t length, int64_t pre_score, int64_t& checked, bool& found, int64_t* best) {
    // Shift only words the hypothesis got wrong, to where the reference
    // differs, and not within themselves.
    if (!std::any_of(hyp_err.begin() + start_h, hyp_err.begin() + start_h + length,
                     [](int32_t e) { return e != 0; }) ||
        !std::any_of(ref_err.begin() + start_r, ref_err.begin() + start_r + length,
                     [](int32_t e) { return e != 0; }) ||
        (start_h <= align[start_r] && align[start_r] < start_h + length)) {
      return;
    }
    int64_t previous = -1;
    for (int64_t offset = -1; offset < length; ++offset) {
      int64_t target;
      if (start_r + offset == -1) {
        target = 0;
      } else if (start_r + offset < static_cast<int64_t>(ref.size())) {
        target = align[start_r + offset] + 1;  // before that word, unlike Tercom's after
      } else {
        break;
      }
      if (target == previous) continue;
      previous = target;
      perform_shift(words, start_h, length, target, candidate);
      const int64_t key[4] = {pre_score - matrix.distance(candidate), length, -start_h, -target};
      ++checked;
      if (!found || std::lexicographical_compare(best, best + 4, key, key + 4)) {
        found = true;
        std::copy(key, key + 4, best);
        best_words = candidate;
      }
    }
  }

  // sacrebleu's trace_to_alignment of the flipped trace (ref rewritten into hyp).
  void alignment() {
    int64_t pos_hyp = -1, pos_ref = -1;
    hyp_err.clear();
    ref_err.clear();
    align.clear();
    for (const char op : trace) {
      // Flipped: the trace's insertions are deletions and back.
      const char flipped = op == kIns ? char{kDel} : op == kDel ? char{kIns} : op;
      if (flipped == kNop || flipped == kSub) {
        ++pos_hyp, ++pos_ref;
        align.push_back(pos_hyp);
        hyp_err.push_back(flipped == kSub);
        ref_err.push_back(flipped == kSub);
      } else if (flipped == kIns) {
        ++pos_hyp;
        hyp_err.push_back(1);
      } else {
        ++pos_ref;
        align.push_back(pos_hyp);
        ref_err.push_back(1);
      }
    }
  }
};

// sacrebleu's translation_edit_rate: (edits, reference length).
int64_t ter_edits(const Words& hyp, const Words& ref, ShiftSearch& search, Words& current) {
  if (ref.empty()) return static_cast<int64_t>(hyp.size());
  search.matrix.reset(ref, static_cast<int64_t>(hyp.size()));
  current = hyp;
  int64_t shifts = 0, checked = 0;
  while (true) {
    const int64_t gain = search.best_shift(current, ref, checked);
    if (checked >= kMaxShiftCandidates || gain <= 0) break;
    ++shifts;
    current.swap(search.best_words);
  }
  return shifts + search.matrix.distance(current);
}

// ' '.join(tokens).
void joined(const Tokens& tokens, std::vector<int32_t>& out) {
  out.clear();
  for (int64_t k = 0; k < tokens.size(); ++k) {
    if (k > 0) out.push_back(' ');
    const int32_t* start = tokens.text.data() + tokens.starts[k];
    out.insert(out.end(), start, start + tokens.lengths[k]);
  }
}

constexpr int64_t kSentenceNs = 10000;  // a ~20-word pair's shift search (measured)

}  // namespace

bool ter_statistics(const char* op, StringSide hypotheses, StringSide references, int64_t count,
                    int64_t streams, const TerOptions& options, int64_t* edits,
                    double* ref_lengths) {
  SentenceReader reader(op, hypotheses, references, count, streams);
  ItemErrors errors;
  parallel_for(0, count, grain_for(kSentenceNs * streams), [&](int64_t first, int64_t last) {
    TokenizerScratch scratch;
    std::vector<int32_t> codes;
    IdSequences sentence;
    sentence.resize(static_cast<size_t>(streams + 1));
    ShiftSearch search;
    Words current;
    for (int64_t i = first; i < last; ++i) {
      errors.run(i, [&] {
        for (int64_t s = 0; s <= streams; ++s) {
          if (!(s == 0 ? reader.hypothesis(i, codes) : reader.reference(s - 1, i, codes))) return;
          ter_tokens(codes, options, scratch, sentence.tokens[s]);
          if (s > 0) {
            // sacrebleu tokenizes a reference twice (once when it caches the
            // references, again when it splits them into words), and the
            // Tercom normaliser is not idempotent: "john's 猫" gains a
            // possessive split the second time. So do we.
            joined(sentence.tokens[s], codes);
            ter_tokens(codes, options, scratch, sentence.tokens[s]);
          }
        }
        sentence.assign_ids();
        int64_t best = kInfinity, lengths = 0;
        for (int64_t r = 1; r <= streams; ++r) {
          const int64_t e = ter_edits(sentence.ids[0], sentence.ids[r], search, current);
          lengths += static_cast<int64_t>(sentence.ids[r].size());
          best = std::min(best, e);
        }
        edits[i] = best;
        ref_lengths[i] = static_cast<double>(lengths) / static_cast<double>(streams);
      });
    }
  });
  errors.rethrow();
  return !reader.unreadable();
}

}  // namespace mt::text_metrics
