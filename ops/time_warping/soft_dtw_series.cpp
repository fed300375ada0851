// Soft-DTW straight from series: the local costs are computed inside the DP
// (batch conventions and lane groups in dtw_common.h).
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <tuple>
#include <vector>

#include <torch_mt/parallel.h>
#include "dtw_common.h"
#include "lane_math.h"
#include "softmin.h"

// lane_math.h's functions take 256-bit vectors by value; GCC notes the ABI
// of such calls where their instantiations are emitted, at this file's end
// (they are always inlined: no call is made).
#pragma GCC diagnostic ignored "-Wpsabi"

namespace mt::time_warping {
namespace {

// ---- soft-DTW straight from series ---------------------------------------------------
//
//   mt::soft_dtw_series(x [B, N, D], y [B, M, D], gamma, x_lengths?, y_lengths?) -> [B]
//     = mt::soft_dtw(cost) with cost(i, j) = ||x_i - y_j||^2 computed in the DP;
//   mt::soft_dtw_series_backward(grad, x, y, gamma, ...) -> (grad_x, grad_y):
//     grad[b] * (sum_j E(i, j) 2 (x_i - y_j), sum_i E(i, j) 2 (y_j - x_i)),
//     E the expected alignment, accumulated while it is computed (no E table).
// Four items at a time in SIMD lanes (dtw_common.h: lane groups). The
// kernels are templates on the ISA tag run through simd::dispatch(): on
// AVX2 and AVX-512 the soft minimum of all four lanes is one vector
// computation (lane_math.h's exp and log, the same bits on both); the
// portable code calls libm's exp and log per lane (each within an ulp or
// so of lane_math.h's: results agree to ~1e-15 relative, not bitwise).
// Independent lanes fill the core where one item's chain (each cell waits
// for its left neighbour's exp and log) would leave it mostly idle.

constexpr const char* kSoftDtwSeries = "mt::soft_dtw_series";
constexpr const char* kSoftDtwSeriesBackward = "mt::soft_dtw_series_backward";

// One DP row with its virtual column -1 first: row[j + 1] holds column j.
// The forward pass over a group; with `shares` (rows x cols x 3 Lanes) it
// keeps every cell's predecessor shares for the backward pass.
template <int kFeatures, class Isa>
MT_SIMD_INLINE void soft_dtw_series_lanes(Isa, const LaneGroup& group, int64_t features,
                                          double gamma, LaneVector& scratch, Lanes* shares,
                                          double values[kLanes]) {
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
      Lanes* cell = shares == nullptr ? nullptr : shares + 3 * (i * cols + j);
      if constexpr (Isa::isa != simd::Isa::portable) {
        Lanes soft;
        softmin_lanes(diagonal, up, left, gamma, soft, cell);
        out = cost[j] + soft;
        continue;
      }
      // Portable: libm's exp and log lane by lane (lane_math.h's vectors
      // spill on 128-bit registers: 1.4x slower than this on SSE2).
      for (int lane = 0; lane < kLanes; ++lane) {
        if (cell == nullptr) {
          out[lane] = cost[j][lane] + softmin(diagonal[lane], up[lane], left[lane], gamma);
          continue;
        }
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
template <int kFeatures, class Isa>
MT_SIMD_INLINE void soft_dtw_series_gradient_lanes(Isa, const LaneGroup& group, int64_t features,
                                                   const Lanes* shares, const double values[kLanes],
                                                   LaneVector& scratch, LaneVector& gx,
                                                   LaneVector& gy) {
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
void scatter_lane(const LaneVector& gradient, int lane, int64_t steps, int64_t features,
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
  const simd::Isa chosen = simd::isa();
  return series_values(kSoftDtwSeries, batch, x,
                       [&](const LaneGroup& group, LaneVector& scratch, double values[kLanes]) {
                         with_features(batch.features, [&](auto known) {
                           simd::dispatch(chosen, [&](auto isa) {
                             soft_dtw_series_lanes<decltype(known)::value>(
                                 isa, group, batch.features, gamma, scratch, /*shares=*/nullptr,
                                 values);
                           });
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
  const simd::Isa chosen = simd::isa();
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
      LaneVector scratch, shares(static_cast<size_t>(3 * group.rows * group.cols)), gx, gy;
      double values[kLanes];
      group.empty_item_values(values);
      with_features(batch.features, [&](auto known) {
        constexpr int kFeatures = decltype(known)::value;
        simd::dispatch(chosen, [&](auto isa) {
          soft_dtw_series_lanes<kFeatures>(isa, group, batch.features, gamma, scratch,
                                           shares.data(), values);
          soft_dtw_series_gradient_lanes<kFeatures>(isa, group, batch.features, shares.data(),
                                                    values, scratch, gx, gy);
        });
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

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def(
      "soft_dtw_series(Tensor x, Tensor y, float gamma=1.0, Tensor? x_lengths=None, "
      "Tensor? y_lengths=None) -> Tensor");
  m.def(
      "soft_dtw_series_backward(Tensor grad, Tensor x, Tensor y, float gamma, "
      "Tensor? x_lengths=None, Tensor? y_lengths=None) -> (Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("soft_dtw_series", &soft_dtw_series_cpu);
  m.impl("soft_dtw_series_backward", &soft_dtw_series_backward_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) {
  m.impl("soft_dtw_series", &soft_dtw_series_meta);
  m.impl("soft_dtw_series_backward", &soft_dtw_series_backward_meta);
}

}  // namespace mt::time_warping
