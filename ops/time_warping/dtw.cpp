// Dynamic time warping on precomputed costs (batch conventions in dtw_common.h).
//
//   mt::dtw       -> [B]        min over monotone paths (0,0)..(n-1,m-1) of the
//                               summed cost, steps (1,0), (0,1), (1,1)
//   mt::dtw_path  -> [B, N, M]  bool mask of one optimal path
//   mt::dtw_series(x [B, N, D], y [B, M, D], x_lengths?, y_lengths?) -> [B]
//                 mt::dtw of the squared Euclidean distances ||x_i - y_j||^2,
//                 computed inside the DP (dtw_common.h: series pairs)
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include <torch_mt/parallel.h>
#include "dtw_common.h"

namespace mt::time_warping {
namespace {

constexpr const char* kDtw = "mt::dtw";
constexpr const char* kDtwPath = "mt::dtw_path";

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

at::Tensor dtw_cpu(const at::Tensor& cost, const std::optional<at::Tensor>& n_lengths,
                   const std::optional<at::Tensor>& m_lengths) {
  const Batch batch(kDtw, cost, n_lengths, m_lengths);
  at::Tensor out = at::empty({batch.size}, cost.options());
  AT_DISPATCH_FLOATING_TYPES(cost.scalar_type(), kDtw, [&] {
    scalar_t* result = out.data_ptr<scalar_t>();
    for_each_item<scalar_t>(kDtw, batch, [&](int64_t b, const scalar_t* item, Workspace& ws) {
      result[b] = static_cast<scalar_t>(
          dtw_item(item, batch.n[b], batch.m[b], batch.cols, ws.rows, nullptr));
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
  const Batch batch(kDtwPath, cost, n_lengths, m_lengths);
  check_allocation(kDtwPath, "one item's accumulated costs", {batch.rows, batch.cols},
                   sizeof(double));
  at::Tensor mask =
      at::zeros({batch.size, batch.rows, batch.cols}, cost.options().dtype(at::kBool));
  AT_DISPATCH_FLOATING_TYPES(cost.scalar_type(), kDtwPath, [&] {
    bool* out = mask.data_ptr<bool>();
    for_each_item<scalar_t>(kDtwPath, batch, [&](int64_t b, const scalar_t* item, Workspace& ws) {
      const int64_t n = batch.n[b], m = batch.m[b];
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

// ---- hard DTW straight from series ---------------------------------------------------
//
// Four items at a time in SIMD lanes (dtw_common.h: lane groups): an item's
// DP is a chain (each cell waits for its left neighbour: a min and an add,
// ~7 cycles), and four independent chains in one register make four cells
// per link.

// DTW of the group's items; lanes with n or m of 0 keep their `out`.
template <int kFeatures>
void dtw_series_lanes(const LaneGroup& group, int64_t features, LaneVector& rows,
                      double out[kLanes]) {
  const int64_t cols = group.cols;
  rows.assign(static_cast<size_t>(3 * cols), Lanes{});
  Lanes* previous = rows.data();
  Lanes* current = previous + cols;
  Lanes* cost = current + cols;
  for (int64_t i = 0; i < group.rows; ++i) {
    lane_costs<kFeatures>(group, i, features, cost);
    if (i == 0) {
      current[0] = cost[0];
      for (int64_t j = 1; j < cols; ++j) {
        current[j] = cost[j] + current[j - 1];
      }
    } else {
      current[0] = cost[0] + previous[0];
      for (int64_t j = 1; j < cols; ++j) {
        // Lane-wise min, written out: a function taking or returning
        // Lanes by value would change the ABI between SSE and AVX builds.
        const Lanes diagonal = previous[j - 1], up = previous[j], left = current[j - 1];
        const Lanes diagonal_or_up = up < diagonal ? up : diagonal;
        current[j] = cost[j] + (left < diagonal_or_up ? left : diagonal_or_up);
      }
    }
    group.take_last_cells(i, current, out);
    std::swap(previous, current);
  }
}

constexpr const char* kDtwSeries = "mt::dtw_series";

at::Tensor dtw_series_cpu(const at::Tensor& x, const at::Tensor& y,
                          const std::optional<at::Tensor>& x_lengths,
                          const std::optional<at::Tensor>& y_lengths) {
  const SeriesBatch batch(kDtwSeries, x, y, x_lengths, y_lengths);
  return series_values(
      kDtwSeries, batch, x, [&](const LaneGroup& group, LaneVector& rows, double values[kLanes]) {
        with_features(batch.features, [&](auto known) {
          dtw_series_lanes<decltype(known)::value>(group, batch.features, rows, values);
        });
      });
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

at::Tensor dtw_series_meta(const at::Tensor& x, const at::Tensor& y,
                           const std::optional<at::Tensor>& x_lengths,
                           const std::optional<at::Tensor>& y_lengths) {
  check_series_pair(kDtwSeries, Kernel::kMeta, x, y, x_lengths, y_lengths);
  return at::empty_symint({x.sym_size(0)}, x.options());
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def("dtw(Tensor cost, Tensor? n_lengths=None, Tensor? m_lengths=None) -> Tensor");
  m.def("dtw_path(Tensor cost, Tensor? n_lengths=None, Tensor? m_lengths=None) -> Tensor");
  m.def("dtw_series(Tensor x, Tensor y, Tensor? x_lengths=None, Tensor? y_lengths=None) -> Tensor");
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("dtw", &dtw_cpu);
  m.impl("dtw_path", &dtw_path_cpu);
  m.impl("dtw_series", &dtw_series_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) {
  m.impl("dtw", &dtw_meta);
  m.impl("dtw_path", &dtw_path_meta);
  m.impl("dtw_series", &dtw_series_meta);
}

}  // namespace mt::time_warping
