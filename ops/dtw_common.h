// What the DTW family (dtw.cpp: hard DTW and its path; soft_dtw.cpp: soft-DTW
// and its derivatives) shares: argument checks, the batch as the kernels see
// it, and the per-item fan-out with its data checks.
//
//   cost [B, N, M] float32|float64, n_lengths / m_lengths int64 [B] (optional):
//   item b is the block cost[b, :n_b, :m_b]; +inf marks a forbidden cell,
//   NaN and -inf are errors. All DPs run in float64 whatever the input dtype.
//   Items fan out over the pool; an item's DP is sequential (its cells depend
//   on their neighbours).
#pragma once

#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include <torch_mt/parallel.h>

namespace mt::dtw_family {

constexpr double kInf = std::numeric_limits<double>::infinity();

// One DP cell costs about 2 ns in hard DTW and 30-70 ns in soft-DTW's passes
// here; the family shares the smaller figure, so soft-DTW fans out only when
// a chunk is worth it with room to spare (the small-input bench keeps it honest).
constexpr int64_t kCellNs = 1;

// ---- checks ---------------------------------------------------------------

inline void check_cost_and_lengths(const char* op, Kernel kernel, const at::Tensor& cost,
                                   const std::optional<at::Tensor>& n_lengths,
                                   const std::optional<at::Tensor>& m_lengths) {
  check_cost_batch(op, kernel, cost, CostDtypes::kFloating, n_lengths, m_lengths);
}

// ---- the batch, as the kernels see it ---------------------------------------

// Contiguous costs plus each item's valid block, every argument checked first
// (CPU kernels).
struct Batch {
  Batch(const char* op, const at::Tensor& cost_argument, const std::optional<at::Tensor>& n_lengths,
        const std::optional<at::Tensor>& m_lengths)
      : cost(checked_contiguous(op, cost_argument, n_lengths, m_lengths)),
        size(cost_argument.size(0)),
        rows(cost_argument.size(1)),
        cols(cost_argument.size(2)),
        n(op, n_lengths, "n_lengths", rows, "the size of dimension 1 of 'cost'"),
        m(op, m_lengths, "m_lengths", cols, "the size of dimension 2 of 'cost'") {}

  at::Tensor cost;  // contiguous
  int64_t size, rows, cols;
  ItemLengths n, m;  // item b is cost[b, :n[b], :m[b]]

 private:
  static at::Tensor checked_contiguous(const char* op, const at::Tensor& cost,
                                       const std::optional<at::Tensor>& n_lengths,
                                       const std::optional<at::Tensor>& m_lengths) {
    check_cost_and_lengths(op, Kernel::kCpu, cost, n_lengths, m_lengths);
    return contiguous_on_pool(cost, op, "cost");
  }
};

// Refuses NaN and -inf in item b's block.
template <typename scalar_t>
void check_item(const char* op, const scalar_t* item, int64_t n, int64_t m, int64_t cols,
                int64_t b) {
  // Fast path, branch-free so it vectorises: NaN and -inf both fail `> -inf`.
  bool all_fine = true;
  for (int64_t i = 0; i < n; ++i) {
    const scalar_t* row = item + i * cols;
    for (int64_t j = 0; j < m; ++j) {
      all_fine &= row[j] > -std::numeric_limits<scalar_t>::infinity();
    }
  }
  if (all_fine) {
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < m; ++j) {
      const scalar_t value = item[i * cols + j];
      TORCH_CHECK(!std::isnan(value), op, ": cost[", b, "] contains NaN");
      TORCH_CHECK(value != -std::numeric_limits<scalar_t>::infinity(), op, ": cost[", b,
                  "] contains -inf; only +inf is allowed (a forbidden cell)");
    }
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
// checking its block; the lowest failing item's error is raised once all have run.
template <typename scalar_t, typename ItemFn>
void for_each_item(const char* op, const Batch& batch, const ItemFn& item) {
  ItemErrors errors;
  const scalar_t* data = batch.cost.const_data_ptr<scalar_t>();
  const int64_t grain = grain_for(kCellNs * batch.rows * batch.cols);
  parallel_for(0, batch.size, grain, [&](int64_t first, int64_t last) {
    Workspace ws;
    for (int64_t b = first; b < last; ++b) {
      errors.run(b, [&] {
        const scalar_t* item_cost = data + b * batch.rows * batch.cols;
        check_item(op, item_cost, batch.n[b], batch.m[b], batch.cols, b);
        item(b, item_cost, ws);
      });
    }
  });
  errors.rethrow();
}

// ---- series pairs (dtw_series, soft_dtw_series) -------------------------------
//
//   x [B, N, D], y [B, M, D] float32|float64 (same dtype), x_lengths / y_lengths
//   int64 [B] (optional): item b compares x[b, :n_b] with y[b, :m_b], the
//   local cost of (i, j) being the squared Euclidean distance
//   ||x[b, i] - y[b, j]||^2, computed inside the DP (no [B, N, M] tensor).

inline void check_series_pair(const char* op, Kernel kernel, const at::Tensor& x,
                              const at::Tensor& y, const std::optional<at::Tensor>& x_lengths,
                              const std::optional<at::Tensor>& y_lengths) {
  check_devices(op, kernel,
                {{&x, "x"},
                 {&y, "y"},
                 {if_present(x_lengths), "x_lengths"},
                 {if_present(y_lengths), "y_lengths"}});
  check_dim(op, x, "x", 3, "[B, N, D]");
  check_dim(op, y, "y", 3, "[B, M, D]");
  check_floating(op, x, "x");
  TORCH_CHECK(y.scalar_type() == x.scalar_type(), op, ": argument 'y' must be ",
              dtype_name(x.scalar_type()), " like 'x', got ", dtype_name(y.scalar_type()));
  check_size(op, y, "y", 0, x.sym_size(0), "the batch size of 'x' is");
  check_size(op, y, "y", 2, x.sym_size(2), "the number of features of 'x' is");
  check_lengths_argument(op, x_lengths, "x_lengths", x.sym_size(0), "the batch size of 'x' is");
  check_lengths_argument(op, y_lengths, "y_lengths", x.sym_size(0), "the batch size of 'x' is");
}

// Contiguous series plus each item's lengths, every argument checked first.
struct SeriesBatch {
  SeriesBatch(const char* op, const at::Tensor& x_argument, const at::Tensor& y_argument,
              const std::optional<at::Tensor>& x_lengths,
              const std::optional<at::Tensor>& y_lengths)
      : x((check_series_pair(op, Kernel::kCpu, x_argument, y_argument, x_lengths, y_lengths),
           contiguous_on_pool(x_argument, op, "x"))),
        y(contiguous_on_pool(y_argument, op, "y")),
        size(x_argument.size(0)),
        rows(x_argument.size(1)),
        cols(y_argument.size(1)),
        features(x_argument.size(2)),
        n(op, x_lengths, "x_lengths", rows, "the size of dimension 1 of 'x'"),
        m(op, y_lengths, "y_lengths", cols, "the size of dimension 1 of 'y'") {}

  at::Tensor x, y;  // contiguous
  int64_t size, rows, cols, features;
  ItemLengths n, m;  // item b is x[b, :n[b]] against y[b, :m[b]]
};

// Refuses NaN and +-inf in the first `steps` steps of item b of a series
// (an infinite sample has no distance to anything).
template <typename scalar_t>
void check_series_item(const char* op, const scalar_t* series, int64_t steps, int64_t features,
                       const char* name, int64_t b) {
  bool all_finite = true;  // branch-free, so it vectorises
  for (int64_t k = 0; k < steps * features; ++k) {
    all_finite &= std::abs(series[k]) <= std::numeric_limits<scalar_t>::max();
  }
  TORCH_CHECK(all_finite, op, ": ", name, "[", b,
              "] contains NaN or inf (series values must be finite)");
}

}  // namespace mt::dtw_family
