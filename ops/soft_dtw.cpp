// Soft-DTW (Cuturi & Blondel, 2017) and its first and second derivatives, on
// precomputed costs (batch conventions in dtw_common.h).
//
//   mt::soft_dtw           -> [B]        the DTW recursion with min replaced by
//                                        softmin_gamma(x) = -gamma log sum exp(-x / gamma)
//   mt::soft_dtw_backward  -> [B, N, M]  grad[b] * d soft_dtw[b] / d cost[b] (the expected
//                                        alignment), zero outside each item's block
//   mt::soft_dtw_backward_backward       soft_dtw_backward's own derivatives (Hessian-
//                                        vector products), for double backward
//
// The autograd formulas linking the three are registered here, at the
// Autograd key (bottom of the file), so gradients flow without Python: in a
// TorchScript model run from C++ as in eager Python.
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <tuple>
#include <vector>

#include <torch_mt/parallel.h>
#include "dtw_common.h"

namespace mt {
namespace {

using namespace dtw_family;

constexpr const char* kSoftDtw = "mt::soft_dtw";
constexpr const char* kSoftDtwBackward = "mt::soft_dtw_backward";

void check_gamma(const char* op, double gamma) {
  TORCH_CHECK(gamma > 0, op, ": argument 'gamma' must be > 0, got ", gamma);
  TORCH_CHECK(std::isfinite(gamma), op, ": argument 'gamma' must be finite, got ", gamma);
}

// ---- soft-DTW -------------------------------------------------------------------

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
// derivative kernels need — and returns R(n-1, m-1).
template <typename scalar_t>
double soft_dtw_item(const scalar_t* cost, int64_t n, int64_t m, int64_t cols, double gamma,
                     std::vector<double>& rows, double* shares) {
  if (n == 0 || m == 0) {
    return n == m ? 0.0 : kInf;
  }
  rows.assign(2 * (m + 1), kInf);
  double* previous = rows.data();  // R(i-1, j-1) at index j, R(i-1, -1) at 0
  double* current = rows.data() + m + 1;
  previous[0] = 0.0;  // the virtual start cell R(-1, -1)
  for (int64_t i = 0; i < n; ++i) {
    const scalar_t* cost_row = cost + i * cols;
    current[0] = kInf;
    for (int64_t j = 0; j < m; ++j) {
      const double s = shares != nullptr
                           ? softmin_with_shares(previous[j], previous[j + 1], current[j], gamma,
                                                 shares + 3 * (i * m + j))
                           : softmin(previous[j], previous[j + 1], current[j], gamma);
      current[j + 1] = static_cast<double>(cost_row[j]) + s;
    }
    std::swap(previous, current);
  }
  return previous[m];
}

at::Tensor soft_dtw_cpu(const at::Tensor& cost, double gamma,
                        const std::optional<at::Tensor>& n_lengths,
                        const std::optional<at::Tensor>& m_lengths) {
  check_gamma(kSoftDtw, gamma);
  const Batch batch(kSoftDtw, cost, n_lengths, m_lengths);
  at::Tensor out = at::empty({batch.size}, cost.options());
  AT_DISPATCH_FLOATING_TYPES(cost.scalar_type(), kSoftDtw, [&] {
    scalar_t* result = out.data_ptr<scalar_t>();
    for_each_item<scalar_t>(kSoftDtw, batch, [&](int64_t b, const scalar_t* item, Workspace& ws) {
      result[b] = static_cast<scalar_t>(soft_dtw_item(item, batch.n[b], batch.m[b], batch.cols,
                                                      gamma, ws.rows,
                                                      /*shares=*/nullptr));
    });
  });
  return out;
}

// The shares of (i, j)'s predecessors in its soft minimum, as laid out by soft_dtw_item.
constexpr int kDiagonal = 0, kUp = 1, kLeft = 2;

// Runs the forward pass keeping every cell's predecessor shares in ws.matrix.
// False when the item is empty or has no finite path: its derivatives are all zero.
template <typename scalar_t>
bool shares_of_path(const scalar_t* cost, int64_t n, int64_t m, int64_t cols, double gamma,
                    Workspace& ws) {
  if (n == 0 || m == 0) {
    return false;
  }
  ws.matrix.resize(3 * n * m);
  return std::isfinite(soft_dtw_item(cost, n, m, cols, gamma, ws.rows, ws.matrix.data()));
}

// E(i, j) = d R(n-1, m-1) / d cost(i, j): the probability that the soft path
// passes through (i, j). E(n-1, m-1) = 1, and walking back,
//   E(i, j) = sum over successors s of (i, j) of E(s) * share of (i, j) in S(s),
// the shares being exp((S(s) - R(i, j)) / gamma), kept by the forward pass
// (so this pass computes no exp). Unreachable cells (R = +inf) have share 0,
// hence E = 0; every cell does when R(n-1, m-1) = +inf.
// Writes scale * E into `grad` (row stride `cols`).
template <typename scalar_t>
void soft_dtw_gradient_item(const scalar_t* cost, int64_t n, int64_t m, int64_t cols, double gamma,
                            double scale, Workspace& ws, scalar_t* grad) {
  if (!shares_of_path(cost, n, m, cols, gamma, ws)) {
    return;
  }
  const double* shares = ws.matrix.data();
  const auto share = [&](int64_t i, int64_t j, int which) {
    return shares[3 * (i * m + j) + which];
  };
  // E of row i+1 (next) and row i (here), each with a zero past column m-1.
  ws.expected.assign(2 * (m + 1), 0.0);
  double* next = ws.expected.data();
  double* here = ws.expected.data() + m + 1;
  for (int64_t i = n - 1; i >= 0; --i) {
    here[m] = 0.0;
    for (int64_t j = m - 1; j >= 0; --j) {
      double e = 0.0;
      if (i == n - 1 && j == m - 1) {
        e = 1.0;
      } else {
        if (i + 1 < n) {
          e += next[j] * share(i + 1, j, kUp);
          if (j + 1 < m) e += next[j + 1] * share(i + 1, j + 1, kDiagonal);
        }
        if (j + 1 < m) e += here[j + 1] * share(i, j + 1, kLeft);
      }
      here[j] = e;
      grad[i * cols + j] = static_cast<scalar_t>(scale * e);
    }
    std::swap(next, here);
  }
}

void check_soft_dtw_backward(Kernel kernel, const at::Tensor& grad, const at::Tensor& cost,
                             double gamma, const std::optional<at::Tensor>& n_lengths,
                             const std::optional<at::Tensor>& m_lengths) {
  check_gamma(kSoftDtwBackward, gamma);
  check_cost_and_lengths(kSoftDtwBackward, kernel, cost, n_lengths, m_lengths);
  check_devices(kSoftDtwBackward, kernel, {{&cost, "cost"}, {&grad, "grad"}});
  check_dim(kSoftDtwBackward, grad, "grad", 1, "[B]");
  check_dtype(kSoftDtwBackward, grad, "grad", cost.scalar_type());
  check_size(kSoftDtwBackward, grad, "grad", 0, cost.sym_size(0), "the batch size of 'cost' is");
}

at::Tensor soft_dtw_backward_cpu(const at::Tensor& grad, const at::Tensor& cost, double gamma,
                                 const std::optional<at::Tensor>& n_lengths,
                                 const std::optional<at::Tensor>& m_lengths) {
  check_soft_dtw_backward(Kernel::kCpu, grad, cost, gamma, n_lengths, m_lengths);
  const Batch batch(kSoftDtwBackward, cost, n_lengths, m_lengths);
  check_allocation(kSoftDtwBackward, "one item's predecessor shares", {3 * batch.rows, batch.cols},
                   sizeof(double));
  const at::Tensor grads = contiguous_on_pool(grad, kSoftDtwBackward, "grad");
  at::Tensor out = at::zeros({batch.size, batch.rows, batch.cols}, cost.options());
  AT_DISPATCH_FLOATING_TYPES(cost.scalar_type(), kSoftDtwBackward, [&] {
    const scalar_t* scale = grads.data_ptr<scalar_t>();
    scalar_t* result = out.data_ptr<scalar_t>();
    for_each_item<scalar_t>(kSoftDtwBackward, batch,
                            [&](int64_t b, const scalar_t* item, Workspace& ws) {
                              soft_dtw_gradient_item(item, batch.n[b], batch.m[b], batch.cols,
                                                     gamma, static_cast<double>(scale[b]), ws,
                                                     result + b * batch.rows * batch.cols);
                            });
  });
  return out;
}

// ---- double backward ----------------------------------------------------------------
//
// soft_dtw_backward computes grad[b] * E(cost_b). Its vector-Jacobian product
// with an upstream `grad_grad` V (shaped like cost) is
//   d/d grad[b] = sum_ij V(i, j) E(i, j)
//   d/d cost_b  = grad[b] * H V, H the Hessian of soft_dtw (symmetric),
// and H V is the directional derivative dE of E along V. Forward mode along
// the recursions gives it:
//   dR(i, j) = V(i, j) + sum over predecessors p of P_p dR(p),
//              P_p = exp((S(i, j) - R(p)) / gamma), the share p had in the softmin;
//   dE(i, j) = sum over successors s of dE(s) w + E(s) w (dS(s) - dR(i, j)) / gamma,
//              w = exp((S(s) - R(i, j)) / gamma), dS(s) = dR(s) - V(s).
// Both P and w are predecessor shares, kept by the forward pass: no exp here.
// Unreachable cells (R = +inf) have dR = E = dE = 0.

template <typename scalar_t>
void soft_dtw_double_backward_item(const scalar_t* cost, const scalar_t* direction, int64_t n,
                                   int64_t m, int64_t cols, double gamma, double scale,
                                   Workspace& ws, scalar_t* grad_grad_out, scalar_t* grad_cost) {
  *grad_grad_out = 0;
  if (!shares_of_path(cost, n, m, cols, gamma, ws)) {
    return;
  }
  const double* shares = ws.matrix.data();
  const auto share = [&](int64_t i, int64_t j, int which) {
    return shares[3 * (i * m + j) + which];
  };
  // R(i, j) is finite iff its cost is and one predecessor is (a share > 0).
  const auto reachable = [&](int64_t i, int64_t j) {
    const double* cell = shares + 3 * (i * m + j);
    return std::isfinite(static_cast<double>(cost[i * cols + j])) &&
           cell[kDiagonal] + cell[kUp] + cell[kLeft] > 0.0;
  };
  const auto v = [&](int64_t i, int64_t j) { return static_cast<double>(direction[i * cols + j]); };
  // dR, forward over the cells; layout n x m, then 4 rows of m + 1 for E and dE.
  ws.tangent.assign(n * m + 4 * (m + 1), 0.0);
  double* d_r = ws.tangent.data();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < m; ++j) {
      if (!reachable(i, j)) {
        continue;
      }
      double sum = v(i, j);
      if (i > 0 && j > 0) sum += share(i, j, kDiagonal) * d_r[(i - 1) * m + j - 1];
      if (i > 0) sum += share(i, j, kUp) * d_r[(i - 1) * m + j];
      if (j > 0) sum += share(i, j, kLeft) * d_r[i * m + j - 1];
      d_r[i * m + j] = sum;
    }
  }
  double* e_next = d_r + n * m;
  double* e_here = e_next + (m + 1);
  double* de_next = e_here + (m + 1);
  double* de_here = de_next + (m + 1);
  double dot = 0.0;  // sum V E
  for (int64_t i = n - 1; i >= 0; --i) {
    e_here[m] = de_here[m] = 0.0;
    for (int64_t j = m - 1; j >= 0; --j) {
      double e = 0.0, de = 0.0;
      if (i == n - 1 && j == m - 1) {
        e = 1.0;
      } else if (reachable(i, j)) {
        const double d_here = d_r[i * m + j];
        // One successor s = (si, sj), in which (i, j) is predecessor `which`,
        // with E(s), dE(s) from the row buffers.
        const auto add = [&](int64_t si, int64_t sj, int which, double e_s, double de_s) {
          const double w = share(si, sj, which);
          const double d_s = d_r[si * m + sj] - v(si, sj);
          e += e_s * w;
          de += de_s * w + e_s * w * (d_s - d_here) / gamma;
        };
        if (i + 1 < n) {
          add(i + 1, j, kUp, e_next[j], de_next[j]);
          if (j + 1 < m) add(i + 1, j + 1, kDiagonal, e_next[j + 1], de_next[j + 1]);
        }
        if (j + 1 < m) add(i, j + 1, kLeft, e_here[j + 1], de_here[j + 1]);
      }
      e_here[j] = e;
      de_here[j] = de;
      dot += v(i, j) * e;
      grad_cost[i * cols + j] = static_cast<scalar_t>(scale * de);
    }
    std::swap(e_next, e_here);
    std::swap(de_next, de_here);
  }
  *grad_grad_out = static_cast<scalar_t>(dot);
}

constexpr const char* kSoftDtwBackwardBackward = "mt::soft_dtw_backward_backward";

void check_soft_dtw_backward_backward(Kernel kernel, const at::Tensor& grad_grad,
                                      const at::Tensor& grad, const at::Tensor& cost, double gamma,
                                      const std::optional<at::Tensor>& n_lengths,
                                      const std::optional<at::Tensor>& m_lengths) {
  const char* op = kSoftDtwBackwardBackward;
  check_gamma(op, gamma);
  check_cost_and_lengths(op, kernel, cost, n_lengths, m_lengths);
  check_devices(op, kernel, {{&cost, "cost"}, {&grad, "grad"}, {&grad_grad, "grad_grad"}});
  check_dim(op, grad, "grad", 1, "[B]");
  check_dtype(op, grad, "grad", cost.scalar_type());
  check_size(op, grad, "grad", 0, cost.sym_size(0), "the batch size of 'cost' is");
  check_dim(op, grad_grad, "grad_grad", 3, "[B, N, M]");
  check_dtype(op, grad_grad, "grad_grad", cost.scalar_type());
  for (int64_t d = 0; d < 3; ++d) {
    check_size(op, grad_grad, "grad_grad", d, cost.sym_size(d), "the matching size of 'cost' is");
  }
}

std::tuple<at::Tensor, at::Tensor> soft_dtw_backward_backward_cpu(
    const at::Tensor& grad_grad, const at::Tensor& grad, const at::Tensor& cost, double gamma,
    const std::optional<at::Tensor>& n_lengths, const std::optional<at::Tensor>& m_lengths) {
  const char* op = kSoftDtwBackwardBackward;
  check_soft_dtw_backward_backward(Kernel::kCpu, grad_grad, grad, cost, gamma, n_lengths,
                                   m_lengths);
  const Batch batch(op, cost, n_lengths, m_lengths);
  check_allocation(op, "one item's predecessor shares and tangents", {4 * batch.rows, batch.cols},
                   sizeof(double));
  const at::Tensor grads = contiguous_on_pool(grad, op, "grad");
  const at::Tensor directions = contiguous_on_pool(grad_grad, op, "grad_grad");
  at::Tensor grad_grad_out = at::empty({batch.size}, cost.options());
  at::Tensor grad_cost = at::zeros({batch.size, batch.rows, batch.cols}, cost.options());
  AT_DISPATCH_FLOATING_TYPES(cost.scalar_type(), kSoftDtwBackwardBackward, [&] {
    const scalar_t* scale = grads.data_ptr<scalar_t>();
    const scalar_t* direction = directions.data_ptr<scalar_t>();
    scalar_t* dot = grad_grad_out.data_ptr<scalar_t>();
    scalar_t* result = grad_cost.data_ptr<scalar_t>();
    const int64_t stride = batch.rows * batch.cols;
    for_each_item<scalar_t>(op, batch, [&](int64_t b, const scalar_t* item, Workspace& ws) {
      soft_dtw_double_backward_item(item, direction + b * stride, batch.n[b], batch.m[b],
                                    batch.cols, gamma, static_cast<double>(scale[b]), ws, dot + b,
                                    result + b * stride);
    });
  });
  return {grad_grad_out, grad_cost};
}

// ---- soft-DTW straight from series ---------------------------------------------------
//
//   mt::soft_dtw_series(x [B, N, D], y [B, M, D], gamma, x_lengths?, y_lengths?) -> [B]
//     = mt::soft_dtw(cost) with cost(i, j) = ||x_i - y_j||^2 computed in the DP;
//   mt::soft_dtw_series_backward(grad, x, y, gamma, ...) -> (grad_x, grad_y):
//     grad[b] * (sum_j E(i, j) 2 (x_i - y_j), sum_i E(i, j) 2 (y_j - x_i)),
//     E the expected alignment, accumulated while it is computed (no E table).
// Four items at a time in SIMD lanes (dtw_common.h: lane groups). The soft
// minimum of each lane is scalar code: the four lanes' exp/log chains are
// independent, so the core overlaps them, where one item's chain (each cell
// waits for its left neighbour's exp and log) leaves it mostly idle.

constexpr const char* kSoftDtwSeries = "mt::soft_dtw_series";
constexpr const char* kSoftDtwSeriesBackward = "mt::soft_dtw_series_backward";

// One DP row with its virtual column -1 first: row[j + 1] holds column j.
// The forward pass over a group; with `shares` (rows x cols x 3 Lanes) it
// keeps every cell's predecessor shares for the backward pass.
template <int kFeatures>
void soft_dtw_series_lanes(const LaneGroup& group, int64_t features, double gamma,
                           std::vector<Lanes>& scratch, Lanes* shares, double values[kLanes]) {
  const int64_t cols = group.cols;
  scratch.assign(static_cast<size_t>(3 * (cols + 1)), Lanes{} + kInf);
  Lanes* previous = scratch.data();  // R(i-1, j) at [j + 1], R(i-1, -1) at [0]
  Lanes* current = previous + (cols + 1);
  Lanes* cost = current + (cols + 1);
  previous[0] = Lanes{};  // the virtual start cell R(-1, -1) = 0
  for (int64_t i = 0; i < group.rows; ++i) {
    lane_costs<kFeatures>(group, i, features, cost);
    current[0] = Lanes{} + kInf;
    for (int64_t j = 0; j < cols; ++j) {
      const Lanes& diagonal = previous[j];
      const Lanes& up = previous[j + 1];
      const Lanes& left = current[j];
      Lanes& out = current[j + 1];
      if (shares == nullptr) {
        for (int lane = 0; lane < kLanes; ++lane) {
          out[lane] = cost[j][lane] + softmin(diagonal[lane], up[lane], left[lane], gamma);
        }
        continue;
      }
      Lanes* cell = shares + 3 * (i * cols + j);  // diagonal, up, left
      for (int lane = 0; lane < kLanes; ++lane) {
        double share[3];
        out[lane] =
            cost[j][lane] + softmin_with_shares(diagonal[lane], up[lane], left[lane], gamma, share);
        cell[kDiagonal][lane] = share[kDiagonal];
        cell[kUp][lane] = share[kUp];
        cell[kLeft][lane] = share[kLeft];
      }
    }
    group.take_last_cells(i, current, values, /*offset=*/1);
    std::swap(previous, current);
  }
}

// Gradients of a group's values with respect to its series, into gx
// (rows x features Lanes) and gy (cols x features): the backward sweep of
// soft_dtw_gradient_item in the lanes, with E(i, j) masked to each lane's
// own block and started at its own last cell (with 1 where the value is
// finite, else 0: no path, no gradient). Each cell adds E 2 (x_i - y_j) to
// gx[i] and subtracts it from gy[j].
template <int kFeatures>
void soft_dtw_series_gradient_lanes(const LaneGroup& group, int64_t features, const Lanes* shares,
                                    const double values[kLanes], std::vector<Lanes>& scratch,
                                    std::vector<Lanes>& gx, std::vector<Lanes>& gy) {
  const int64_t rows = group.rows, cols = group.cols;
  const int64_t d = kFeatures > 0 ? kFeatures : features;
  gx.assign(static_cast<size_t>(rows * d), Lanes{});
  gy.assign(static_cast<size_t>(cols * d), Lanes{});
  // E of row i+1 and row i, a zero past the last column; then 1.0 / 0.0
  // masks of each column inside a lane's block.
  scratch.assign(static_cast<size_t>(3 * (cols + 1)), Lanes{});
  Lanes* next = scratch.data();
  Lanes* here = next + (cols + 1);
  Lanes* column_inside = here + (cols + 1);
  Lanes start{}, last_column{};  // per lane: E at its last cell, and that cell's column
  for (int lane = 0; lane < kLanes; ++lane) {
    start[lane] = std::isfinite(values[lane]) ? 1.0 : 0.0;
    for (int64_t j = 0; j < cols; ++j) {
      column_inside[j][lane] = j < group.m[lane] ? 1.0 : 0.0;
    }
  }
  const auto share = [&](int64_t i, int64_t j, int which) -> const Lanes& {
    return shares[3 * (i * cols + j) + which];
  };
  for (int64_t i = rows - 1; i >= 0; --i) {
    Lanes row_inside{};
    for (int lane = 0; lane < kLanes; ++lane) {
      row_inside[lane] = i < group.n[lane] ? 1.0 : 0.0;
      last_column[lane] = group.n[lane] == i + 1 ? static_cast<double>(group.m[lane] - 1) : -1.0;
    }
    here[cols] = Lanes{};
    const Lanes* x_step = group.x.data() + i * d;
    Lanes* gx_step = gx.data() + i * d;
    for (int64_t j = cols - 1; j >= 0; --j) {
      Lanes e{};
      if (i + 1 < rows) {
        e += next[j] * share(i + 1, j, kUp);
        if (j + 1 < cols) e += next[j + 1] * share(i + 1, j + 1, kDiagonal);
      }
      if (j + 1 < cols) e += here[j + 1] * share(i, j + 1, kLeft);
      e *= row_inside * column_inside[j];
      const Lanes column = Lanes{} + static_cast<double>(j);
      e = column == last_column ? start : e;
      here[j] = e;
      const Lanes twice_e = e + e;
      const Lanes* y_step = group.y.data() + j * d;
      Lanes* gy_step = gy.data() + j * d;
      for (int64_t k = 0; k < d; ++k) {
        const Lanes g = twice_e * (x_step[k] - y_step[k]);
        gx_step[k] += g;
        gy_step[k] -= g;
      }
    }
    std::swap(next, here);
  }
}

// Lane `lane`'s first `steps` steps of a lane-interleaved gradient, times
// `scale`, into a [steps, features] item of the output (the rest stays 0).
template <typename scalar_t>
void scatter_lane(const std::vector<Lanes>& gradient, int lane, int64_t steps, int64_t features,
                  double scale, scalar_t* out) {
  for (int64_t k = 0; k < steps * features; ++k) {
    out[k] = static_cast<scalar_t>(scale * gradient[k][lane]);
  }
}

at::Tensor soft_dtw_series_cpu(const at::Tensor& x, const at::Tensor& y, double gamma,
                               const std::optional<at::Tensor>& x_lengths,
                               const std::optional<at::Tensor>& y_lengths) {
  check_gamma(kSoftDtwSeries, gamma);
  const SeriesBatch batch(kSoftDtwSeries, x, y, x_lengths, y_lengths);
  return series_values(
      kSoftDtwSeries, batch, x,
      [&](const LaneGroup& group, std::vector<Lanes>& scratch, double values[kLanes]) {
        with_features(batch.features, [&](auto known) {
          soft_dtw_series_lanes<decltype(known)::value>(group, batch.features, gamma, scratch,
                                                        /*shares=*/nullptr, values);
        });
      });
}

void check_soft_dtw_series_backward(Kernel kernel, const at::Tensor& grad, const at::Tensor& x,
                                    const at::Tensor& y, double gamma,
                                    const std::optional<at::Tensor>& x_lengths,
                                    const std::optional<at::Tensor>& y_lengths) {
  const char* op = kSoftDtwSeriesBackward;
  check_gamma(op, gamma);
  check_series_pair(op, kernel, x, y, x_lengths, y_lengths);
  check_devices(op, kernel, {{&x, "x"}, {&grad, "grad"}});
  check_dim(op, grad, "grad", 1, "[B]");
  check_dtype(op, grad, "grad", x.scalar_type());
  check_size(op, grad, "grad", 0, x.sym_size(0), "the batch size of 'x' is");
}

std::tuple<at::Tensor, at::Tensor> soft_dtw_series_backward_cpu(
    const at::Tensor& grad, const at::Tensor& x, const at::Tensor& y, double gamma,
    const std::optional<at::Tensor>& x_lengths, const std::optional<at::Tensor>& y_lengths) {
  const char* op = kSoftDtwSeriesBackward;
  check_soft_dtw_series_backward(Kernel::kCpu, grad, x, y, gamma, x_lengths, y_lengths);
  const SeriesBatch batch(op, x, y, x_lengths, y_lengths);
  check_allocation(op, "one lane group's predecessor shares", {3 * kLanes * batch.rows, batch.cols},
                   sizeof(double));
  const at::Tensor grads = contiguous_on_pool(grad, op, "grad");
  at::Tensor grad_x = at::zeros_like(batch.x);
  at::Tensor grad_y = at::zeros_like(batch.y);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), kSoftDtwSeriesBackward, [&] {
    const scalar_t* scale = grads.data_ptr<scalar_t>();
    scalar_t* out_x = grad_x.data_ptr<scalar_t>();
    scalar_t* out_y = grad_y.data_ptr<scalar_t>();
    for_each_group<scalar_t>(op, batch, kCellNs, [&](const LaneGroup& group) {
      if (group.rows == 0 || group.cols == 0) {
        return;  // every item is empty: zero gradients
      }
      std::vector<Lanes> scratch, shares(static_cast<size_t>(3 * group.rows * group.cols)), gx, gy;
      double values[kLanes];
      group.empty_item_values(values);
      with_features(batch.features, [&](auto known) {
        constexpr int kFeatures = decltype(known)::value;
        soft_dtw_series_lanes<kFeatures>(group, batch.features, gamma, scratch, shares.data(),
                                         values);
        soft_dtw_series_gradient_lanes<kFeatures>(group, batch.features, shares.data(), values,
                                                  scratch, gx, gy);
      });
      for (int lane = 0; lane < group.count; ++lane) {
        const int64_t b = group.first + lane;
        const auto factor = static_cast<double>(scale[b]);
        scatter_lane(gx, lane, group.n[lane], batch.features, factor,
                     out_x + b * batch.rows * batch.features);
        scatter_lane(gy, lane, group.m[lane], batch.features, factor,
                     out_y + b * batch.cols * batch.features);
      }
    });
  });
  return {grad_x, grad_y};
}

// ---- shape functions (torch.compile, meta tensors) -------------------------------

at::Tensor soft_dtw_series_meta(const at::Tensor& x, const at::Tensor& y, double gamma,
                                const std::optional<at::Tensor>& x_lengths,
                                const std::optional<at::Tensor>& y_lengths) {
  check_gamma(kSoftDtwSeries, gamma);
  check_series_pair(kSoftDtwSeries, Kernel::kMeta, x, y, x_lengths, y_lengths);
  return at::empty_symint({x.sym_size(0)}, x.options());
}

std::tuple<at::Tensor, at::Tensor> soft_dtw_series_backward_meta(
    const at::Tensor& grad, const at::Tensor& x, const at::Tensor& y, double gamma,
    const std::optional<at::Tensor>& x_lengths, const std::optional<at::Tensor>& y_lengths) {
  check_soft_dtw_series_backward(Kernel::kMeta, grad, x, y, gamma, x_lengths, y_lengths);
  return {at::empty_symint(x.sym_sizes(), x.options()),
          at::empty_symint(y.sym_sizes(), y.options())};
}

std::tuple<at::Tensor, at::Tensor> soft_dtw_backward_backward_meta(
    const at::Tensor& grad_grad, const at::Tensor& grad, const at::Tensor& cost, double gamma,
    const std::optional<at::Tensor>& n_lengths, const std::optional<at::Tensor>& m_lengths) {
  check_soft_dtw_backward_backward(Kernel::kMeta, grad_grad, grad, cost, gamma, n_lengths,
                                   m_lengths);
  return {at::empty_symint({cost.sym_size(0)}, cost.options()),
          at::empty_symint(cost.sym_sizes(), cost.options())};
}

at::Tensor soft_dtw_meta(const at::Tensor& cost, double gamma,
                         const std::optional<at::Tensor>& n_lengths,
                         const std::optional<at::Tensor>& m_lengths) {
  check_gamma(kSoftDtw, gamma);
  check_cost_and_lengths(kSoftDtw, Kernel::kMeta, cost, n_lengths, m_lengths);
  return at::empty_symint({cost.sym_size(0)}, cost.options());
}

at::Tensor soft_dtw_backward_meta(const at::Tensor& grad, const at::Tensor& cost, double gamma,
                                  const std::optional<at::Tensor>& n_lengths,
                                  const std::optional<at::Tensor>& m_lengths) {
  check_soft_dtw_backward(Kernel::kMeta, grad, cost, gamma, n_lengths, m_lengths);
  return at::empty_symint(cost.sym_sizes(), cost.options());
}

// ---- autograd (three levels) ------------------------------------------------------
//
// soft_dtw -> soft_dtw_backward (expected alignment) -> soft_dtw_backward_backward
// (Hessian-vector products), each backward itself an mt operator called
// through the dispatcher, so it is parallel, opcheck'ed, and differentiable in
// turn. Only the inputs are saved: each backward kernel recomputes its item's
// forward pass rather than keeping a [B, N, M] float64 table alive between
// the passes, and nothing is saved when no gradient is needed.

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// An optional tensor as the context saves it (undefined for None), and back.
at::Tensor saved(const std::optional<at::Tensor>& tensor) { return tensor.value_or(at::Tensor()); }
std::optional<at::Tensor> optional(const at::Tensor& tensor) {
  return tensor.defined() ? std::optional<at::Tensor>(tensor) : std::nullopt;
}

// The operator `name` below the autograd key (the kernels), or with autograd
// (a backward that must itself be differentiable).
template <typename Signature>
c10::TypedOperatorHandle<Signature> mt_op(const char* name) {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, "").typed<Signature>();
}

using SoftDtwSignature = at::Tensor(const at::Tensor&, double, const std::optional<at::Tensor>&,
                                    const std::optional<at::Tensor>&);
using BackwardSignature = at::Tensor(const at::Tensor&, const at::Tensor&, double,
                                     const std::optional<at::Tensor>&,
                                     const std::optional<at::Tensor>&);
using BackwardBackwardSignature = std::tuple<at::Tensor, at::Tensor>(
    const at::Tensor&, const at::Tensor&, const at::Tensor&, double,
    const std::optional<at::Tensor>&, const std::optional<at::Tensor>&);

class SoftDtwFunction : public torch::autograd::Function<SoftDtwFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& cost, double gamma,
                            const std::optional<at::Tensor>& n_lengths,
                            const std::optional<at::Tensor>& m_lengths) {
    ctx->save_for_backward({cost, saved(n_lengths), saved(m_lengths)});
    ctx->saved_data["gamma"] = gamma;
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    static const auto op = mt_op<SoftDtwSignature>(kSoftDtw);
    return op.call(cost, gamma, n_lengths, m_lengths);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list inputs = ctx->get_saved_variables();
    at::Tensor grad_cost;
    if (ctx->needs_input_grad(0)) {
      static const auto op = mt_op<BackwardSignature>(kSoftDtwBackward);
      grad_cost = op.call(grads[0], inputs[0], ctx->saved_data["gamma"].toDouble(),
                          optional(inputs[1]), optional(inputs[2]));
    }
    return {grad_cost, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

class SoftDtwBackwardFunction : public torch::autograd::Function<SoftDtwBackwardFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& grad, const at::Tensor& cost,
                            double gamma, const std::optional<at::Tensor>& n_lengths,
                            const std::optional<at::Tensor>& m_lengths) {
    ctx->save_for_backward({grad, cost, saved(n_lengths), saved(m_lengths)});
    ctx->saved_data["gamma"] = gamma;
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    static const auto op = mt_op<BackwardSignature>(kSoftDtwBackward);
    return op.call(grad, cost, gamma, n_lengths, m_lengths);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list inputs = ctx->get_saved_variables();
    static const auto op = mt_op<BackwardBackwardSignature>(kSoftDtwBackwardBackward);
    auto [grad_of_grad, grad_of_cost] =
        op.call(grads[0], inputs[0], inputs[1], ctx->saved_data["gamma"].toDouble(),
                optional(inputs[2]), optional(inputs[3]));
    return {ctx->needs_input_grad(0) ? grad_of_grad : at::Tensor(),
            ctx->needs_input_grad(1) ? grad_of_cost : at::Tensor(), at::Tensor(), at::Tensor(),
            at::Tensor()};
  }
};

// Registered rather than left to PyTorch's fallback, which would warn and
// silently drop a third derivative.
class SoftDtwBackwardBackwardFunction
    : public torch::autograd::Function<SoftDtwBackwardBackwardFunction> {
 public:
  static variable_list forward(AutogradContext* /*ctx*/, const at::Tensor& grad_grad,
                               const at::Tensor& grad, const at::Tensor& cost, double gamma,
                               const std::optional<at::Tensor>& n_lengths,
                               const std::optional<at::Tensor>& m_lengths) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    static const auto op = mt_op<BackwardBackwardSignature>(kSoftDtwBackwardBackward);
    auto [grad_of_grad, grad_of_cost] = op.call(grad_grad, grad, cost, gamma, n_lengths, m_lengths);
    return {grad_of_grad, grad_of_cost};
  }

  static variable_list backward(AutogradContext* /*ctx*/, variable_list /*grads*/) {
    TORCH_CHECK(false,
                "mt::soft_dtw: third and higher derivatives are not implemented "
                "(first and second derivatives are)");
  }
};

using SeriesSignature = at::Tensor(const at::Tensor&, const at::Tensor&, double,
                                   const std::optional<at::Tensor>&,
                                   const std::optional<at::Tensor>&);
using SeriesBackwardSignature = std::tuple<at::Tensor, at::Tensor>(
    const at::Tensor&, const at::Tensor&, const at::Tensor&, double,
    const std::optional<at::Tensor>&, const std::optional<at::Tensor>&);

class SoftDtwSeriesFunction : public torch::autograd::Function<SoftDtwSeriesFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& y,
                            double gamma, const std::optional<at::Tensor>& x_lengths,
                            const std::optional<at::Tensor>& y_lengths) {
    ctx->save_for_backward({x, y, saved(x_lengths), saved(y_lengths)});
    ctx->saved_data["gamma"] = gamma;
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    static const auto op = mt_op<SeriesSignature>(kSoftDtwSeries);
    return op.call(x, y, gamma, x_lengths, y_lengths);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list inputs = ctx->get_saved_variables();
    if (!ctx->needs_input_grad(0) && !ctx->needs_input_grad(1)) {
      return {at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    }
    static const auto op = mt_op<SeriesBackwardSignature>(kSoftDtwSeriesBackward);
    auto [grad_x, grad_y] =
        op.call(grads[0], inputs[0], inputs[1], ctx->saved_data["gamma"].toDouble(),
                optional(inputs[2]), optional(inputs[3]));
    return {ctx->needs_input_grad(0) ? grad_x : at::Tensor(),
            ctx->needs_input_grad(1) ? grad_y : at::Tensor(), at::Tensor(), at::Tensor(),
            at::Tensor()};
  }
};

// The series backward is not differentiable again: its own derivative would
// need the Hessian through the local costs, and soft_dtw on
// torch.cdist(x, y) ** 2 already gives it. Registered so that create_graph
// callers get this error rather than PyTorch's fallback, which would warn
// and silently return no gradient.
class SoftDtwSeriesBackwardFunction
    : public torch::autograd::Function<SoftDtwSeriesBackwardFunction> {
 public:
  static variable_list forward(AutogradContext* /*ctx*/, const at::Tensor& grad,
                               const at::Tensor& x, const at::Tensor& y, double gamma,
                               const std::optional<at::Tensor>& x_lengths,
                               const std::optional<at::Tensor>& y_lengths) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    static const auto op = mt_op<SeriesBackwardSignature>(kSoftDtwSeriesBackward);
    auto [grad_x, grad_y] = op.call(grad, x, y, gamma, x_lengths, y_lengths);
    return {grad_x, grad_y};
  }

  static variable_list backward(AutogradContext* /*ctx*/, variable_list /*grads*/) {
    TORCH_CHECK(false,
                "mt::soft_dtw_series: second derivatives are not implemented; for "
                "Hessian-vector products use mt::soft_dtw on torch.cdist(x, y) ** 2");
  }
};

at::Tensor soft_dtw_series_autograd(const at::Tensor& x, const at::Tensor& y, double gamma,
                                    const std::optional<at::Tensor>& x_lengths,
                                    const std::optional<at::Tensor>& y_lengths) {
  return SoftDtwSeriesFunction::apply(x, y, gamma, x_lengths, y_lengths);
}

std::tuple<at::Tensor, at::Tensor> soft_dtw_series_backward_autograd(
    const at::Tensor& grad, const at::Tensor& x, const at::Tensor& y, double gamma,
    const std::optional<at::Tensor>& x_lengths, const std::optional<at::Tensor>& y_lengths) {
  const variable_list out =
      SoftDtwSeriesBackwardFunction::apply(grad, x, y, gamma, x_lengths, y_lengths);
  return {out[0], out[1]};
}

at::Tensor soft_dtw_autograd(const at::Tensor& cost, double gamma,
                             const std::optional<at::Tensor>& n_lengths,
                             const std::optional<at::Tensor>& m_lengths) {
  return SoftDtwFunction::apply(cost, gamma, n_lengths, m_lengths);
}

at::Tensor soft_dtw_backward_autograd(const at::Tensor& grad, const at::Tensor& cost, double gamma,
                                      const std::optional<at::Tensor>& n_lengths,
                                      const std::optional<at::Tensor>& m_lengths) {
  return SoftDtwBackwardFunction::apply(grad, cost, gamma, n_lengths, m_lengths);
}

std::tuple<at::Tensor, at::Tensor> soft_dtw_backward_backward_autograd(
    const at::Tensor& grad_grad, const at::Tensor& grad, const at::Tensor& cost, double gamma,
    const std::optional<at::Tensor>& n_lengths, const std::optional<at::Tensor>& m_lengths) {
  const variable_list out =
      SoftDtwBackwardBackwardFunction::apply(grad_grad, grad, cost, gamma, n_lengths, m_lengths);
  return {out[0], out[1]};
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def(
      "soft_dtw(Tensor cost, float gamma=1.0, Tensor? n_lengths=None, "
      "Tensor? m_lengths=None) -> Tensor");
  m.def(
      "soft_dtw_backward(Tensor grad, Tensor cost, float gamma, Tensor? n_lengths=None, "
      "Tensor? m_lengths=None) -> Tensor");
  m.def(
      "soft_dtw_backward_backward(Tensor grad_grad, Tensor grad, Tensor cost, float gamma, "
      "Tensor? n_lengths=None, Tensor? m_lengths=None) -> (Tensor, Tensor)");
  m.def(
      "soft_dtw_series(Tensor x, Tensor y, float gamma=1.0, Tensor? x_lengths=None, "
      "Tensor? y_lengths=None) -> Tensor");
  m.def(
      "soft_dtw_series_backward(Tensor grad, Tensor x, Tensor y, float gamma, "
      "Tensor? x_lengths=None, Tensor? y_lengths=None) -> (Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("soft_dtw", &soft_dtw_cpu);
  m.impl("soft_dtw_backward", &soft_dtw_backward_cpu);
  m.impl("soft_dtw_backward_backward", &soft_dtw_backward_backward_cpu);
  m.impl("soft_dtw_series", &soft_dtw_series_cpu);
  m.impl("soft_dtw_series_backward", &soft_dtw_series_backward_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) {
  m.impl("soft_dtw", &soft_dtw_meta);
  m.impl("soft_dtw_backward", &soft_dtw_backward_meta);
  m.impl("soft_dtw_backward_backward", &soft_dtw_backward_backward_meta);
  m.impl("soft_dtw_series", &soft_dtw_series_meta);
  m.impl("soft_dtw_series_backward", &soft_dtw_series_backward_meta);
}

TORCH_LIBRARY_IMPL(mt, Autograd, m) {
  m.impl("soft_dtw", &soft_dtw_autograd);
  m.impl("soft_dtw_backward", &soft_dtw_backward_autograd);
  m.impl("soft_dtw_backward_backward", &soft_dtw_backward_backward_autograd);
  m.impl("soft_dtw_series", &soft_dtw_series_autograd);
  m.impl("soft_dtw_series_backward", &soft_dtw_series_backward_autograd);
}

}  // namespace mt
