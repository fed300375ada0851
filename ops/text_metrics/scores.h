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

// sacrebleu's BLEU.compute_bleu on one row [hyp_len, ref_len, correct[4],
// total[4]] (max order 4), the score only. `sum` of the logs is CPython's
// built-in sum: left to right before Python 3.12 (this build's convention;
// docs/ops/text_metrics.md).
inline double bleu_score(const int64_t* row, const BleuSmoothing& smoothing) {
  const int64_t sys_len = row[0], ref_len = row[1];
  double bp = 1.0;
  if (sys_len < ref_len) {
    bp = sys_len > 0 ? std::exp(1.0 - static_cast<double>(ref_len) / static_cast<double>(sys_len))
                     : 0.0;
  }
  bool any_correct = false;
  for (int n = 0; n < 4; ++n) any_correct = any_correct || row[2 + n] != 0;
  if (!any_correct) return 0.0;
  double precisions[4] = {0.0, 0.0, 0.0, 0.0};
  double smooth_mteval = 1.0;
  int eff_order = 4;
  for (int n = 1; n <= 4; ++n) {
    double correct = static_cast<double>(row[1 + n]);
    double total = static_cast<double>(row[5 + n]);
    if (smoothing.method == Smoothing::kAddK && n > 1) {
      correct += smoothing.value;
      total += smoothing.value;
    }
    if (total == 0) break;
    if (smoothing.effective_order) eff_order = n;
    if (correct == 0) {
      if (smoothing.method == Smoothing::kExp) {
        smooth_mteval *= 2;
        precisions[n - 1] = 100.0 / (smooth_mteval * total);
      } else if (smoothing.method == Smoothing::kFloor) {
        precisions[n - 1] = 100.0 * smoothing.value / total;
      }
    } else {
      precisions[n - 1] = 100.0 * correct / total;
    }
  }
  double log_sum = 0.0;  // sum() starts from the int 0: 0 + x is x
  for (int n = 0; n < eff_order; ++n) {
    // sacrebleu's my_log floors log(0) at -9999999999.
    log_sum += precisions[n] == 0.0 ? -9999999999.0 : std::log(precisions[n]);
  }
  return bp * std::exp(log_sum / eff_order);
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
