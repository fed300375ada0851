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

namespace mt {
namespace {

using namespace dtw_family;

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
// Four items at once, one per lane of a vector of doubles: an item's DP is a
// chain (each cell waits for its left neighbour: a min and an add, ~7 cycles),
// and four independent chains in one register make four cells per link.
// Every item goes through the lanes, a batch's last group with idle lanes,
// so an item's value never depends on which items share its group (that is,
// on the thread count). A group runs over its largest item's rectangle; a
// lane past its own item's end computes cells nothing reads (its series are
// zero-padded there), and its value is taken when its last row is done.

constexpr int kLanes = 4;
using Lanes = double __attribute__((vector_size(kLanes * sizeof(double))));

// The group's series, lane-interleaved in float64: step i's feature k of
// lane l at [i * features + k][l]; zeros past a lane's length.
struct LaneSeries {
  std::vector<Lanes> x, y;
  std::vector<Lanes> rows;  // two DP rows
};

template <typename scalar_t>
void interleave(const scalar_t* const series[kLanes], const int64_t steps[kLanes], int64_t longest,
                int64_t features, std::vector<Lanes>& out) {
  out.assign(static_cast<size_t>(longest * features), Lanes{});
  for (int lane = 0; lane < kLanes; ++lane) {
    for (int64_t k = 0; k < steps[lane] * features; ++k) {
      out[k][lane] = static_cast<double>(series[lane][k]);
    }
  }
}

// Local costs of row i against every column, for the lanes: kFeatures is the
// number of features when known at compile time (1: univariate), else 0.
template <int kFeatures>
void lane_costs(const Lanes* x_step, const Lanes* y, int64_t cols, int64_t features, Lanes* cost) {
  const int64_t d = kFeatures > 0 ? kFeatures : features;
  for (int64_t j = 0; j < cols; ++j) {
    Lanes sum{};
    for (int64_t k = 0; k < d; ++k) {
      const Lanes diff = x_step[k] - y[j * d + k];
      sum += diff * diff;
    }
    cost[j] = sum;
  }
}

// DTW of kLanes items; lanes with n or m of 0 are left to the caller.
template <int kFeatures>
void dtw_series_lanes(LaneSeries& ws, const int64_t n[kLanes], const int64_t m[kLanes],
                      int64_t rows, int64_t cols, int64_t features, double out[kLanes]) {
  ws.rows.assign(static_cast<size_t>(3 * cols), Lanes{});
  Lanes* previous = ws.rows.data();
  Lanes* current = previous + cols;
  Lanes* cost = current + cols;
  for (int64_t i = 0; i < rows; ++i) {
    lane_costs<kFeatures>(ws.x.data() + i * features, ws.y.data(), cols, features, cost);
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
    for (int lane = 0; lane < kLanes; ++lane) {
      if (n[lane] == i + 1 && m[lane] > 0) {
        out[lane] = current[m[lane] - 1][lane];
      }
    }
    std::swap(previous, current);
  }
}

template <typename scalar_t>
void dtw_series_group(const char* op, const SeriesBatch& batch, int64_t first, int64_t count,
                      LaneSeries& ws, scalar_t* result) {
  const scalar_t* xs[kLanes];
  const scalar_t* ys[kLanes];
  int64_t n[kLanes], m[kLanes];
  double values[kLanes];
  const scalar_t* x = batch.x.const_data_ptr<scalar_t>();
  const scalar_t* y = batch.y.const_data_ptr<scalar_t>();
  for (int lane = 0; lane < kLanes; ++lane) {
    const int64_t b = first + std::min<int64_t>(lane, count - 1);
    const bool used = lane < count;
    xs[lane] = x + b * batch.rows * batch.features;
    ys[lane] = y + b * batch.cols * batch.features;
    n[lane] = used ? batch.n[b] : 0;
    m[lane] = used ? batch.m[b] : 0;
    if (used) {
      check_series_item(op, xs[lane], n[lane], batch.features, "x", b);
      check_series_item(op, ys[lane], m[lane], batch.features, "y", b);
    }
    // An empty item costs 0 when both sides are empty, +inf (no path) otherwise.
    values[lane] = n[lane] == m[lane] ? 0.0 : kInf;
  }
  const int64_t rows = *std::max_element(n, n + kLanes);
  const int64_t cols = *std::max_element(m, m + kLanes);
  if (rows > 0 && cols > 0) {
    interleave(xs, n, rows, batch.features, ws.x);
    interleave(ys, m, cols, batch.features, ws.y);
    if (batch.features == 1) {
      dtw_series_lanes<1>(ws, n, m, rows, cols, 1, values);
    } else {
      dtw_series_lanes<0>(ws, n, m, rows, cols, batch.features, values);
    }
  }
  for (int64_t lane = 0; lane < count; ++lane) {
    result[first + lane] = static_cast<scalar_t>(values[lane]);
  }
}

constexpr const char* kDtwSeries = "mt::dtw_series";

at::Tensor dtw_series_cpu(const at::Tensor& x, const at::Tensor& y,
                          const std::optional<at::Tensor>& x_lengths,
                          const std::optional<at::Tensor>& y_lengths) {
  const SeriesBatch batch(kDtwSeries, x, y, x_lengths, y_lengths);
  at::Tensor out = at::empty({batch.size}, x.options());
  const int64_t groups = (batch.size + kLanes - 1) / kLanes;
  // A group costs about one cell-time per cell of its rectangle per feature.
  const int64_t group_ns = kCellNs * batch.rows * batch.cols * std::max<int64_t>(batch.features, 1);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), kDtwSeries, [&] {
    scalar_t* result = out.data_ptr<scalar_t>();
    ItemErrors errors;
    parallel_for(0, groups, grain_for(group_ns), [&](int64_t first, int64_t last) {
      LaneSeries ws;
      for (int64_t group = first; group < last; ++group) {
        const int64_t start = group * kLanes;
        errors.run(start, [&] {
          dtw_series_group(kDtwSeries, batch, start, std::min<int64_t>(kLanes, batch.size - start),
                           ws, result);
        });
      }
    });
    errors.rethrow();
  });
  return out;
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

}  // namespace mt
