// The soft minimum of soft-DTW and its gamma check, shared by the cost ops
// (soft_dtw.cpp) and the series ops (soft_dtw_series.cpp).
#pragma once

#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "dtw_common.h"

namespace mt::time_warping {

inline void check_gamma(const char* op, double gamma) {
  TORCH_CHECK_VALUE(gamma > 0, op, ": argument 'gamma' must be > 0, got ", gamma);
  TORCH_CHECK_VALUE(std::isfinite(gamma), op, ": argument 'gamma' must be finite, got ", gamma);
}

// softmin_gamma(a, b, c) = -gamma log(e^(-a/gamma) + e^(-b/gamma) + e^(-c/gamma)),
// shifted by the minimum so nothing overflows for small gamma; +inf entries
// drop out, all three +inf gives +inf.
inline double softmin(double a, double b, double c, double gamma) {
  // Sort so that `a` is the smallest: its term is exp(0) = 1, two exps left.
  if (b < a) std::swap(a, b);
  if (c < a) std::swap(a, c);
  if (a == kInf) {
    return kInf;
  }
  return a - gamma * std::log1p(std::exp((a - b) / gamma) + std::exp((a - c) / gamma));
}

// softmin, also writing each argument's share of it, exp((S - x) / gamma):
// the weight with which the cell's gradient flows back to that predecessor.
inline double softmin_with_shares(double diagonal, double up, double left, double gamma,
                                  double* shares) {
  const double smallest = std::min({diagonal, up, left});
  if (smallest == kInf) {
    shares[0] = shares[1] = shares[2] = 0.0;
    return kInf;
  }
  const auto term = [&](double x) {
    return x == smallest ? 1.0 : std::exp((smallest - x) / gamma);
  };
  const double t0 = term(diagonal), t1 = term(up), t2 = term(left);
  const double total = t0 + t1 + t2;
  shares[0] = t0 / total;
  shares[1] = t1 / total;
  shares[2] = t2 / total;
  return smallest - gamma * std::log(total);
}

// Soft-DTW forward over the item. R(i, j) = cost(i, j) + S(i, j), where
// S(i, j) = softmin(R(i-1, j-1), R(i-1, j), R(i, j-1)) with R(-1, -1) = 0 and
// R = +inf elsewhere outside the block. Stores each cell's three predecessor
// shares in `shares` (n x m x 3: diagonal, up, left) when given — all the

// A cell's three predecessor shares, in this order (softmin_with_shares).
constexpr int kDiagonal = 0, kUp = 1, kLeft = 2;

}  // namespace mt::time_warping
