// The text-metrics family's kernels, as plain C++ over strings read in place
// (<torch_mt/strings.h>): the torch operators (text_metrics_ops.cpp) call
// them on TorchScript's str[] values, the Python bindings (python_text_metrics.cpp)
// on Python's str objects. Each fans out over the pool.
//
// References come as one flat side, stream-major: reference stream r of
// sentence i is item r * count + i (sacrebleu's `references[r][i]`).
// Every function returns false, its output incomplete, when an item is
// kUnreadable (the caller's slower path then names it); bad UTF-8 throws a
// ValueError naming op, argument and item.
//
// Only standard headers: the Python bindings include this without torch's.
#pragma once

#include <cstdint>

#include <torch_mt/strings.h>
#include "scores.h"
#include "tokenize.h"

namespace mt::text_metrics {

using strings::StringSide;

// Columns of a BLEU statistics row: sacrebleu's segment statistics.
inline constexpr int kBleuOrder = 4;
inline constexpr int kBleuColumns = 2 + 2 * kBleuOrder;  // hyp_len, ref_len, correct[4], total[4]

struct BleuOptions {
  BleuTokenizer tokenizer = BleuTokenizer::k13a;
  bool lowercase = false;
};

struct ChrfOptions {
  int64_t char_order = 6;
  int64_t word_order = 0;
  int64_t beta = 2;
  bool lowercase = false;
  bool whitespace = false;
  bool eps_smoothing = false;
  int64_t orders() const { return char_order + word_order; }
  // Orders >= 0, not both 0, beta in [0, 2**31] (beta squared fits).
  bool valid() const {
    return char_order >= 0 && word_order >= 0 && orders() >= 1 && beta >= 0 &&
           beta <= (int64_t{1} << 31);
  }
};

// stats: [count, kBleuColumns] int64, row i as sacrebleu's BLEU gives it for
// hypothesis i against its references (the closest length, ties shorter).
bool bleu_statistics(const char* op, StringSide hypotheses, StringSide references, int64_t count,
                     int64_t streams, const BleuOptions& options, int64_t* stats);

// stats: [count, 3 * orders] int64: (hyp, ref, match) per order, characters
// first, for the reference with the best chrF (the first of equals).
bool chrf_statistics(const char* op, StringSide hypotheses, StringSide references, int64_t count,
                     int64_t streams, const ChrfOptions& options, int64_t* stats);

// edits[i]: the fewest TER edits (shifts included) over the references;
// ref_lengths[i]: their mean length in words.
bool ter_statistics(const char* op, StringSide hypotheses, StringSide references, int64_t count,
                    int64_t streams, const TerOptions& options, int64_t* edits,
                    double* ref_lengths);

// scores[i * count_b + j]: sentence BLEU of a[i] against the one reference
// b[j]; sentence chrF likewise. Rows in parallel, each sentence read once.
bool bleu_pairwise(const char* op, StringSide a, int64_t count_a, StringSide b, int64_t count_b,
                   const BleuOptions& options, const BleuSmoothing& smoothing, double* scores);
bool chrf_pairwise(const char* op, StringSide a, int64_t count_a, StringSide b, int64_t count_b,
                   const ChrfOptions& options, double* scores);

}  // namespace mt::text_metrics
