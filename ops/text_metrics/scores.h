// Scores from statistics, with sacrebleu's formulas in sacrebleu's order of
// float64 operations, so that they equal its floats to the last bit.
//
// Only standard headers: the Python bindings compile the family's headers too.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>

namespace mt::text_metrics {

enum class Smoothing { kNone, kFloor, kAddK, kExp };

struct BleuSmoothing {
  Smoothing method = Smoothing::kExp;
  double value = 0.0;  // the floor or k (sacrebleu's default when None: 0.1, 1)
  bool effective_order = false;
};

// sacrebleu's smoothing by name, `value` None for its defaults (floor 0.1,
// add-k 1); nullopt for an unknown method or a non-finite value.
inline std::optional<BleuSmoothing> parse_smoothing(std::string_view method,
                                                    std::optional<double> value,
                                                    bool effective_order) {
  BleuSmoothing smoothing;
  smoothing.effective_order = effective_order;
  if (method == "exp") {
    smoothing.method = Smoothing::kExp;
  } else if (method == "none") {
    smoothing.method = Smoothing::kNone;
  } else if (method == "floor") {
    smoothing.method = Smoothing::kFloor;
    smoothing.value = value.value_or(0.1);
  } else if (method == "add-k") {
    smoothing.method = Smoothing::kAddK;
    smoothing.value = value.value_or(1.0);
  } else {
    return std::nullopt;
  }
  if (value.has_value() && !std::isfinite(*value)) return std::nullopt;
  return smoothing;
}
inline constexpr const char* kSmoothingMethods = "'exp', 'floor', 'add-k', 'none'";

// CPython's built-in sum() of BLEU's log terms, from its start, the int 0,
// as the running interpreter adds them. `is_int[k]`: term k is sacrebleu's
// int -9999999999 (the log of a zero precision), else a float.
//  - Python <= 3.11: left to right.
//  - Python >= 3.12 (`compensated`): a leading run of ints summed exactly,
//    the first float added plainly, then each later float with Neumaier's
//    compensation and each int plainly, the compensation added at the end
//    when finite and non-zero. (Checked against CPython 3.12.1 and 3.13.0's
//    sum on 200 000 random mixes of such terms: docs/ops/text_metrics.md.)
inline double python_sum(const double* terms, const bool* is_int, int count, bool compensated) {
  double total = 0.0, compensation = 0.0;
  bool after_first_float = false;
  for (int k = 0; k < count; ++k) {
    const double x = terms[k];
    if (!compensated || !after_first_float || is_int[k]) {
      after_first_float = after_first_float || !is_int[k];
      total += x;  // ints here are below 2**53 in magnitude: exact as doubles
      continue;
    }
    const double t = total + x;
    compensation += std::fabs(total) >= std::fabs(x) ? (total - t) + x : (x - t) + total;
    total = t;
  }
  if (compensation != 0.0 && std::isfinite(compensation)) total += compensation;
  return total;
}

// What sacrebleu's BLEU.compute_bleu computes for one row [hyp_len,
// ref_len, correct[4], total[4]] (max order 4): the score and the fields of
// its BLEUScore. counts and totals are the row's, with add-k's k added from
// order 2 on, over the first `smoothed_orders` orders (sacrebleu adds it in
// place as its loop goes).
struct BleuDetails {
  double score = 0.0, bp = 1.0;
  double precisions[4] = {0.0, 0.0, 0.0, 0.0};
  double counts[4] = {0.0, 0.0, 0.0, 0.0}, totals[4] = {0.0, 0.0, 0.0, 0.0};
  int smoothed_orders = 0;
};

// sacrebleu's compute_bleu, operation for operation: the one BLEU formula
// of torch_mt (sentence, pairwise and corpus scores). `compensated_sum`:
// sum() as Python >= 3.12 adds (python_sum).
inline BleuDetails bleu_details(const int64_t* row, const BleuSmoothing& smoothing,
                                bool compensated_sum = false) {
  BleuDetails out;
  const int64_t sys_len = row[0], ref_len = row[1];
  for (int n = 0; n < 4; ++n) {
    out.counts[n] = static_cast<double>(row[2 + n]);
    out.totals[n] = static_cast<double>(row[6 + n]);
  }
  if (sys_len < ref_len) {
    out.bp = sys_len > 0
                 ? std::exp(1.0 - static_cast<double>(ref_len) / static_cast<double>(sys_len))
                 : 0.0;
  }
  bool any_correct = false;
  for (int n = 0; n < 4; ++n) any_correct = any_correct || row[2 + n] != 0;
  if (!any_correct) return out;
  double smooth_mteval = 1.0;
  int eff_order = 4;
  for (int n = 1; n <= 4; ++n) {
    double& correct = out.counts[n - 1];
    double& total = out.totals[n - 1];
    if (smoothing.method == Smoothing::kAddK && n > 1) {
      correct += smoothing.value;
      total += smoothing.value;
      out.smoothed_orders = n;
    }
    if (total == 0) break;
    if (smoothing.effective_order) eff_order = n;
    if (correct == 0) {
      if (smoothing.method == Smoothing::kExp) {
        smooth_mteval *= 2;
        out.precisions[n - 1] = 100.0 / (smooth_mteval * total);
      } else if (smoothing.method == Smoothing::kFloor) {
        out.precisions[n - 1] = 100.0 * smoothing.value / total;
      }
    } else {
      out.precisions[n - 1] = 100.0 * correct / total;
    }
  }
  double logs[4];
  bool is_int[4];
  for (int n = 0; n < eff_order; ++n) {
    // sacrebleu's my_log: log(0) is the int -9999999999.
    is_int[n] = out.precisions[n] == 0.0;
    logs[n] = is_int[n] ? -9999999999.0 : std::log(out.precisions[n]);
  }
  out.score = out.bp * std::exp(python_sum(logs, is_int, eff_order, compensated_sum) / eff_order);
  return out;
}

// The score alone, summed as Python <= 3.11 does (sentence and pairwise
// BLEU: docs/ops/text_metrics.md).
inline double bleu_score(const int64_t* row, const BleuSmoothing& smoothing) {
  return bleu_details(row, smoothing).score;
}

// sacrebleu's CHRF._compute_f_score on (hyp, ref, match) per order.
inline double chrf_score(const int64_t* stats, int64_t orders, int64_t beta, bool eps_smoothing) {
  const double eps = 1e-16;
  double score = 0.0, avg_prec = 0.0, avg_rec = 0.0;
  int64_t effective_order = 0;
  const double factor = static_cast<double>(beta * beta);
  for (int64_t i = 0; i < orders; ++i) {
    const int64_t n_hyp = stats[3 * i], n_ref = stats[3 * i + 1], n_match = stats[3 * i + 2];
    const double prec = n_hyp > 0 ? static_cast<double>(n_match) / static_cast<double>(n_hyp) : eps;
    const double rec = n_ref > 0 ? static_cast<double>(n_match) / static_cast<double>(n_ref) : eps;
    const double denom = factor * prec + rec;
    score += denom > 0 ? (1 + factor) * prec * rec / denom : eps;
    if (n_hyp > 0 && n_ref > 0) {
      avg_prec += prec;
      avg_rec += rec;
      ++effective_order;
    }
  }
  if (eps_smoothing) return 100 * score / static_cast<double>(orders);
  if (effective_order == 0) {
    avg_prec = avg_rec = 0.0;
  } else {
    avg_prec /= static_cast<double>(effective_order);
    avg_rec /= static_cast<double>(effective_order);
  }
  if (avg_prec + avg_rec != 0.0) {
    score = (1 + factor) * avg_prec * avg_rec;
    score /= (factor * avg_prec) + avg_rec;
    return 100 * score;
  }
  return 0.0;
}

}  // namespace mt::text_metrics
