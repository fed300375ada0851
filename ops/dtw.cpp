// Dynamic time warping on precomputed costs, hard and soft.
//
//   cost [B, N, M] float32|float64, n_lengths / m_lengths int64 [B] (optional):
//   item b is the block cost[b, :n_b, :m_b]; +inf marks a forbidden cell.
//
//   mt::dtw                -> [B]        min over monotone paths (0,0)..(n-1,m-1) of the
//                                        summed cost, steps (1,0), (0,1), (1,1)
//   mt::dtw_path           -> [B, N, M]  bool mask of one optimal path
//   mt::soft_dtw           -> [B]        Cuturi & Blondel's soft-DTW: the min replaced by
//                                        softmin_gamma(x) = -gamma log sum exp(-x / gamma)
//   mt::soft_dtw_backward  -> [B, N, M]  grad[b] * d soft_dtw[b] / d cost[b] (the expected
//                                        alignment), zero outside each item's block
//   mt::soft_dtw_backward_backward       soft_dtw_backward's own derivatives (Hessian-
//                                        vector products), for double backward
//
// All DPs run in float64 whatever the input dtype. Items fan out over the
// pool; an item's DP is sequential (its cells depend on their neighbours).
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <tuple>
#include <vector>

#include "runtime/allocation.h"
#include "runtime/checks.h"
#include "runtime/contiguous.h"
#include "runtime/parallel.h"

namespace mt {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// About this many DP cells per chunk pay for a thread wakeup (~10 ns a cell).
constexpr int64_t kCellsPerChunk = 1 << 15;

// ---- checks ---------------------------------------------------------------

void check_cost_and_lengths(const char* op, Kernel kernel, const at::Tensor& cost,
                            const std::optional<at::Tensor>& n_lengths,
                            const std::optional<at::Tensor>& m_lengths) {
  check_devices(op, kernel,
                {{&cost, "cost"}, {if_present(n_lengths), "n_lengths"},
                 {if_present(m_lengths), "m_lengths"}});
  check_dim(op, cost, "cost", 3, "[B, N, M]");
  check_floating(op, cost, "cost");
  check_lengths_argument(op, n_lengths, "n_lengths", cost.sym_size(0),
                         "the batch size of 'cost' is");
  check_lengths_argument(op, m_lengths, "m_lengths", cost.sym_size(0),
                         "the batch size of 'cost' is");
}

void check_gamma(const char* op, double gamma) {
  TORCH_CHECK(gamma > 0, op, ": argument 'gamma' must be > 0, got ", gamma);
  TORCH_CHECK(std::isfinite(gamma), op, ": argument 'gamma' must be finite, got ", gamma);
}

// ---- the batch, as the kernels see it ---------------------------------------

// Contiguous float64-or-float32 costs plus each item's valid block, checked.
struct Batch {
  at::Tensor cost;  // contiguous
  at::Tensor n_lengths, m_lengths;  // contiguous int64, or undefined
  int64_t size, rows, cols;

  int64_t n(int64_t b) const { return n_lengths.defined() ? n_lengths.data_ptr<int64_t>()[b] : rows; }
  int64_t m(int64_t b) const { return m_lengths.defined() ? m_lengths.data_ptr<int64_t>()[b] : cols; }
  int64_t grain() const { return std::max<int64_t>(1, kCellsPerChunk / std::max<int64_t>(1, rows * cols)); }
};

Batch prepare_batch(const char* op, const at::Tensor& cost,
                    const std::optional<at::Tensor>& n_lengths,
                    const std::optional<at::Tensor>& m_lengths) {
  check_cost_and_lengths(op, Kernel::kCpu, cost, n_lengths, m_lengths);
  Batch batch{contiguous_on_pool(cost, op, "cost"), {}, {}, cost.size(0), cost.size(1),
              cost.size(2)};
  if (n_lengths.has_value()) {
    batch.n_lengths = contiguous_on_pool(*n_lengths, op, "n_lengths");
    check_lengths_fit(op, batch.n_lengths.data_ptr<int64_t>(), batch.size, "n_lengths",
                      batch.rows, "the size of dimension 1 of 'cost'");
  }
  if (m_lengths.has_value()) {
    batch.m_lengths = contiguous_on_pool(*m_lengths, op, "m_lengths");
    check_lengths_fit(op, batch.m_lengths.data_ptr<int64_t>(), batch.size, "m_lengths",
                      batch.cols, "the size of dimension 2 of 'cost'");
  }
  return batch;
}

// Items whose block holds a NaN or a -inf are reported after the fan-out, the
// lowest one, so the message does not depend on the thread count.
enum class Problem : uint8_t { kNone, kNaN, kMinusInf };

template <typename scalar_t>
Problem find_problem(const scalar_t* item, int64_t n, int64_t m, int64_t cols) {
  // Fast path, branch-free so it vectorises: NaN and -inf both fail `> -inf`.
  bool all_fine = true;
  for (int64_t i = 0; i < n; ++i) {
    const scalar_t* row = item + i * cols;
    for (int64_t j = 0; j < m; ++j) {
      all_fine &= row[j] > -std::numeric_limits<scalar_t>::infinity();
    }
  }
  if (all_fine) {
    return Problem::kNone;
  }
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < m; ++j) {
      const scalar_t value = item[i * cols + j];
      if (std::isnan(value)) {
        return Problem::kNaN;
      }
      if (value == -std::numeric_limits<scalar_t>::infinity()) {
        return Problem::kMinusInf;
      }
    }
  }
  return Problem::kNone;
}

void raise_first_problem(const char* op, const std::vector<Problem>& problems) {
  for (size_t b = 0; b < problems.size(); ++b) {
    TORCH_CHECK(problems[b] != Problem::kNaN, op, ": cost[", b, "] contains NaN");
    TORCH_CHECK(problems[b] != Problem::kMinusInf, op, ": cost[", b,
                "] contains -inf; only +inf is allowed (a forbidden cell)");
  }
}

// Scratch of one chunk's items (freed with the chunk: a thread_local would
// keep the largest item's matrices alive for the life of the process).
struct Workspace {
  std::vector<double> rows;      // two DP rows
  std::vector<double> matrix;    // an item's accumulated costs, or its predecessor shares
  std::vector<double> expected;  // two rows of the expected alignment
  std::vector<double> tangent;   // double backward: dR (n x m), then two rows of dE
};

// Runs item(b, item_cost, workspace) for every item, in parallel, after
// checking its block; raises the lowest item's problem, if any, once all have run.
template <typename scalar_t, typename ItemFn>
void for_each_item(const char* op, const Batch& batch, const ItemFn& item) {
  std::vector<Problem> problems(batch.size, Problem::kNone);
  const scalar_t* data = batch.cost.data_ptr<scalar_t>();
  parallel_for(0, batch.size, batch.grain(), [&](int64_t first, int64_t last) {
    Workspace ws;
    for (int64_t b = first; b < last; ++b) {
      const scalar_t* item_cost = data + b * batch.rows * batch.cols;
      problems[b] = find_problem(item_cost, batch.n(b), batch.m(b), batch.cols);
      if (problems[b] == Problem::kNone) {
        item(b, item_cost, ws);
      }
    }
  });
  raise_first_problem(op, problems);
}

// ---- hard DTW -----------------------------------------------------------------

// D(i, j) = cost(i, j) + min(D(i-1, j-1), D(i-1, j), D(i, j-1)), D(0, 0) = cost(0, 0).
// Fills `acc` (n x m, row-major) when given; returns D(n-1, m-1). An empty
// item costs 0 when both sides are empty and +inf (no path) otherwise.
template <typename scalar_t>
double dtw_item(const scalar_t* cost, int64_t n, int64_t m, int64_t cols, std::vector<double>& rows,
                double* acc) {
  if (n == 0 || m == 0) {
    return n == m ? 0.0 : kInf;
  }
  rows.resize(2 * m);
  double* previous = rows.data();
  double* current = rows.data() + m;
  for (int64_t i = 0; i < n; ++i) {
    const scalar_t* cost_row = cost + i * cols;
    // Column 0 (and row 0) have one predecessor; the rest take the min of
    // three, branch-free: the chain through current[j - 1] is the critical path.
    current[0] = static_cast<double>(cost_row[0]) + (i == 0 ? 0.0 : previous[0]);
    if (i == 0) {
      for (int64_t j = 1; j < m; ++j) {
        current[j] = static_cast<double>(cost_row[j]) + current[j - 1];
      }
    } else {
      for (int64_t j = 1; j < m; ++j) {
        const double diagonal_or_up = std::min(previous[j - 1], previous[j]);
        current[j] = static_cast<double>(cost_row[j]) + std::min(diagonal_or_up, current[j - 1]);
      }
    }
    if (acc != nullptr) {
      std::copy_n(current, m, acc + i * m);
    }
    std::swap(previous, current);
  }
  return previous[m - 1];
}

constexpr const char* kDtw = "mt::dtw";
constexpr const char* kDtwPath = "mt::dtw_path";
constexpr const char* kSoftDtw = "mt::soft_dtw";
constexpr const char* kSoftDtwBackward = "mt::soft_dtw_backward";

at::Tensor dtw_cpu(const at::Tensor& cost, const std::optional<at::Tensor>& n_lengths,
                   const std::optional<at::Tensor>& m_lengths) {
  const Batch batch = prepare_batch(kDtw, cost, n_lengths, m_lengths);
  at::Tensor out = at::empty({batch.size}, cost.options());
  AT_DISPATCH_FLOATING_TYPES(cost.scalar_type(), kDtw, [&] {
    scalar_t* result = out.data_ptr<scalar_t>();
    for_each_item<scalar_t>(kDtw, batch, [&](int64_t b, const scalar_t* item, Workspace& ws) {
      result[b] = static_cast<scalar_t>(
          dtw_item(item, batch.n(b), batch.m(b), batch.cols, ws.rows, nullptr));
    });
  });
  return out;
}

// Backtracks from (n-1, m-1) through the accumulated costs; at each cell the
// predecessor with the smallest D wins, ties going to the diagonal, then
// (i-1, j), then (i, j-1) (tslearn's and dtaidistance's order).
void mark_path(const std::vector<double>& acc, int64_t n, int64_t m, int64_t cols, bool* mask) {
  int64_t i = n - 1, j = m - 1;
  mask[i * cols + j] = true;
  while (i > 0 || j > 0) {
    if (i == 0) {
      --j;
    } else if (j == 0) {
      --i;
    } else {
      const double diagonal = acc[(i - 1) * m + (j - 1)];
      const double up = acc[(i - 1) * m + j];
      const double left = acc[i * m + (j - 1)];
      if (diagonal <= up && diagonal <= left) {
        --i;
        --j;
      } else if (up <= left) {
        --i;
      } else {
        --j;
      }
    }
    mask[i * cols + j] = true;
  }
}

at::Tensor dtw_path_cpu(const at::Tensor& cost, const std::optional<at::Tensor>& n_lengths,
                        const std::optional<at::Tensor>& m_lengths) {
  const Batch batch = prepare_batch(kDtwPath, cost, n_lengths, m_lengths);
  check_allocation(kDtwPath, "one item's accumulated costs", {batch.rows, batch.cols},
                   sizeof(double));
  at::Tensor mask = at::zeros({batch.size, batch.rows, batch.cols}, cost.options().dtype(at::kBool));
  AT_DISPATCH_FLOATING_TYPES(cost.scalar_type(), kDtwPath, [&] {
    bool* out = mask.data_ptr<bool>();
    for_each_item<scalar_t>(kDtwPath, batch, [&](int64_t b, const scalar_t* item, Workspace& ws) {
      const int64_t n = batch.n(b), m = batch.m(b);
      ws.matrix.resize(n * m);
      // An empty item, or one with no finite path: nothing is aligned.
      if (n > 0 && m > 0 &&
          std::isfinite(dtw_item(item, n, m, batch.cols, ws.rows, ws.matrix.data()))) {
        mark_path(ws.matrix, n, m, batch.cols, out + b * batch.rows * batch.cols);
      }
    });
  });
  return mask;
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
  const auto term = [&](double x) { return x == smallest ? 1.0 : std::exp((smallest - x) / gamma); };
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
      const double s =
          shares != nullptr
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
  const Batch batch = prepare_batch(kSoftDtw, cost, n_lengths, m_lengths);
  at::Tensor out = at::empty({batch.size}, cost.options());
  AT_DISPATCH_FLOATING_TYPES(cost.scalar_type(), kSoftDtw, [&] {
    scalar_t* result = out.data_ptr<scalar_t>();
    for_each_item<scalar_t>(kSoftDtw, batch, [&](int64_t b, const scalar_t* item, Workspace& ws) {
      result[b] = static_cast<scalar_t>(
          soft_dtw_item(item, batch.n(b), batch.m(b), batch.cols, gamma, ws.rows,
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
void soft_dtw_gradient_item(const scalar_t* cost, int64_t n, int64_t m, int64_t cols,
                            double gamma, double scale, Workspace& ws, scalar_t* grad) {
  if (!shares_of_path(cost, n, m, cols, gamma, ws)) {
    return;
  }
  const double* shares = ws.matrix.data();
  const auto share = [&](int64_t i, int64_t j, int which) { return shares[3 * (i * m + j) + which]; };
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
  const Batch batch = prepare_batch(kSoftDtwBackward, cost, n_lengths, m_lengths);
  check_allocation(kSoftDtwBackward, "one item's predecessor shares", {3 * batch.rows, batch.cols},
                   sizeof(double));
  const at::Tensor grads = contiguous_on_pool(grad, kSoftDtwBackward, "grad");
  at::Tensor out = at::zeros({batch.size, batch.rows, batch.cols}, cost.options());
  AT_DISPATCH_FLOATING_TYPES(cost.scalar_type(), kSoftDtwBackward, [&] {
    const scalar_t* scale = grads.data_ptr<scalar_t>();
    scalar_t* result = out.data_ptr<scalar_t>();
    for_each_item<scalar_t>(kSoftDtwBackward, batch,
                            [&](int64_t b, const scalar_t* item, Workspace& ws) {
      soft_dtw_gradient_item(item, batch.n(b), batch.m(b), batch.cols, gamma,
                             static_cast<double>(scale[b]), ws,
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
  const auto share = [&](int64_t i, int64_t j, int which) { return shares[3 * (i * m + j) + which]; };
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
                                      const at::Tensor& grad, const at::Tensor& cost,
                                      double gamma, const std::optional<at::Tensor>& n_lengths,
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
  const Batch batch = prepare_batch(op, cost, n_lengths, m_lengths);
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
      soft_dtw_double_backward_item(item, direction + b * stride, batch.n(b), batch.m(b),
                                    batch.cols, gamma, static_cast<double>(scale[b]), ws,
                                    dot + b, result + b * stride);
    });
  });
  return {grad_grad_out, grad_cost};
}

std::tuple<at::Tensor, at::Tensor> soft_dtw_backward_backward_meta(
    const at::Tensor& grad_grad, const at::Tensor& grad, const at::Tensor& cost, double gamma,
    const std::optional<at::Tensor>& n_lengths, const std::optional<at::Tensor>& m_lengths) {
  check_soft_dtw_backward_backward(Kernel::kMeta, grad_grad, grad, cost, gamma, n_lengths,
                                   m_lengths);
  return {at::empty_symint({cost.sym_size(0)}, cost.options()),
          at::empty_symint(cost.sym_sizes(), cost.options())};
}

// ---- shape functions (torch.compile, meta tensors) -------------------------------

at::Tensor dtw_meta(const at::Tensor& cost, const std::optional<at::Tensor>& n_lengths,
                    const std::optional<at::Tensor>& m_lengths) {
  check_cost_and_lengths(kDtw, Kernel::kMeta, cost, n_lengths, m_lengths);
  return at::empty_symint({cost.sym_size(0)}, cost.options());
}

at::Tensor dtw_path_meta(const at::Tensor& cost, const std::optional<at::Tensor>& n_lengths,
                         const std::optional<at::Tensor>& m_lengths) {
  check_cost_and_lengths(kDtwPath, Kernel::kMeta, cost, n_lengths, m_lengths);
  return at::empty_symint(cost.sym_sizes(), cost.options().dtype(at::kBool));
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

// The autograd formulas of soft_dtw and soft_dtw_backward are registered from Python
// (torch_mt/alignment.py, torch.library.register_autograd).
TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def("dtw(Tensor cost, Tensor? n_lengths=None, Tensor? m_lengths=None) -> Tensor");
  m.def("dtw_path(Tensor cost, Tensor? n_lengths=None, Tensor? m_lengths=None) -> Tensor");
  m.def("soft_dtw(Tensor cost, float gamma, Tensor? n_lengths=None, Tensor? m_lengths=None) "
        "-> Tensor");
  m.def("soft_dtw_backward(Tensor grad, Tensor cost, float gamma, Tensor? n_lengths=None, "
        "Tensor? m_lengths=None) -> Tensor");
  m.def("soft_dtw_backward_backward(Tensor grad_grad, Tensor grad, Tensor cost, float gamma, "
        "Tensor? n_lengths=None, Tensor? m_lengths=None) -> (Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("dtw", &dtw_cpu);
  m.impl("dtw_path", &dtw_path_cpu);
  m.impl("soft_dtw", &soft_dtw_cpu);
  m.impl("soft_dtw_backward", &soft_dtw_backward_cpu);
  m.impl("soft_dtw_backward_backward", &soft_dtw_backward_backward_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) {
  m.impl("dtw", &dtw_meta);
  m.impl("dtw_path", &dtw_path_meta);
  m.impl("soft_dtw", &soft_dtw_meta);
  m.impl("soft_dtw_backward", &soft_dtw_backward_meta);
  m.impl("soft_dtw_backward_backward", &soft_dtw_backward_backward_meta);
}

}  // namespace mt
