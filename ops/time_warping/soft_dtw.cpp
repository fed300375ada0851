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
// Their autograd formulas are registered at the Autograd key in
// soft_dtw_autograd.cpp, so gradients flow without Python: in a TorchScript
// model run from C++ as in eager Python.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <tuple>
#include <vector>

#include <torch_mt/parallel.h>
#include "dtw_common.h"
#include "softmin.h"

namespace mt::time_warping {
namespace {

constexpr const char* kSoftDtw = "mt::soft_dtw";
constexpr const char* kSoftDtwBackward = "mt::soft_dtw_backward";

// ---- soft-DTW -------------------------------------------------------------------

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
// ---- shape functions (torch.compile, meta tensors) -------------------------------

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
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("soft_dtw", &soft_dtw_cpu);
  m.impl("soft_dtw_backward", &soft_dtw_backward_cpu);
  m.impl("soft_dtw_backward_backward", &soft_dtw_backward_backward_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) {
  m.impl("soft_dtw", &soft_dtw_meta);
  m.impl("soft_dtw_backward", &soft_dtw_backward_meta);
  m.impl("soft_dtw_backward_backward", &soft_dtw_backward_backward_meta);
}

}  // namespace mt::time_warping
