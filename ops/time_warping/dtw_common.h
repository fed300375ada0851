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

#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <optional>
#include <type_traits>
#include <vector>

#include <torch_mt/parallel.h>

namespace mt::time_warping {

constexpr double kInf = std::numeric_limits<double>::infinity();

// One DP cell costs 1-2 ns in hard DTW and 30-70 ns in soft-DTW's passes
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
      TORCH_CHECK_VALUE(!std::isnan(value), op, ": cost[", b, "] contains NaN");
      TORCH_CHECK_VALUE(value != -std::numeric_limits<scalar_t>::infinity(), op, ": cost[", b,
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
  TORCH_CHECK_TYPE(y.scalar_type() == x.scalar_type(), op, ": argument 'y' must be ",
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
  TORCH_CHECK_VALUE(all_finite, op, ": ", name, "[", b,
                    "] contains NaN or inf (series values must be finite)");
}

// ---- lane groups: four series items at a time --------------------------------
//
// The series kernels run kLanes items at once, one per lane of a vector of
// doubles: an item's DP is a chain through each cell's left neighbour, so
// one item leaves the core idle between links, and independent items in the
// lanes fill it. Every item goes through the lanes (a batch's last group with
// idle lanes), so its value never depends on which items share its group,
// that is on the thread count. A group runs over its largest item's
// rectangle; a lane past its own item's end computes cells that no cell of
// its item reads (its series are zero-padded there), and its value is taken
// when its own last row is done.

constexpr int kLanes = 4;
using Lanes = double __attribute__((vector_size(kLanes * sizeof(double))));

// The allocator of Lanes vectors: 32-byte aligned. Compiled without AVX,
// GCC aligns the type to 16 bytes only (so std::allocator does), while the
// AVX2 and AVX-512 entries (simd::dispatch) access it with aligned 32-byte
// loads and stores.
struct LaneAllocator {
  using value_type = Lanes;
  template <typename Other>
  struct rebind {
    using other = LaneAllocator;
  };
  static constexpr std::align_val_t kAlignment{32};
  Lanes* allocate(size_t count) {
    return static_cast<Lanes*>(::operator new(count * sizeof(Lanes), kAlignment));
  }
  void deallocate(Lanes* lanes, size_t count) {
    ::operator delete(lanes, count * sizeof(Lanes), kAlignment);
  }
  bool operator==(const LaneAllocator&) const { return true; }
};
using LaneVector = std::vector<Lanes, LaneAllocator>;

// kLanes consecutive items of a SeriesBatch, lane-interleaved in float64.
struct LaneGroup {
  int64_t first = 0, count = 0;            // items [first, first + count); other lanes idle
  int64_t n[kLanes] = {}, m[kLanes] = {};  // each lane's lengths (0 for idle lanes)
  int64_t rows = 0, cols = 0;              // the largest n and m
  // Step i's feature k of lane l at [i * features + k][l]; 0 past the lane's length.
  LaneVector x, y;

  // Values of empty items: 0 when both sides are empty, +inf (no path) when one is.
  void empty_item_values(double values[kLanes]) const {
    for (int lane = 0; lane < kLanes; ++lane) {
      values[lane] = n[lane] == m[lane] ? 0.0 : kInf;
    }
  }

  // After row i of a DP held in `row` (column j at row[j + offset]): the
  // value of every lane whose last row is i.
  void take_last_cells(int64_t i, const Lanes* row, double values[kLanes],
                       int64_t offset = 0) const {
    for (int lane = 0; lane < kLanes; ++lane) {
      if (n[lane] == i + 1 && m[lane] > 0) {
        values[lane] = row[m[lane] - 1 + offset][lane];
      }
    }
  }
};

template <typename scalar_t>
void interleave(const scalar_t* const series[kLanes], const int64_t steps[kLanes], int64_t longest,
                int64_t features, LaneVector& out) {
  out.assign(static_cast<size_t>(longest * features), Lanes{});
  for (int lane = 0; lane < kLanes; ++lane) {
    for (int64_t k = 0; k < steps[lane] * features; ++k) {
      out[k][lane] = static_cast<double>(series[lane][k]);
    }
  }
}

// Loads items [first, first + kLanes) (those that exist) into `group`,
// refusing non-finite steps first.
template <typename scalar_t>
void load_group(const char* op, const SeriesBatch& batch, int64_t first, LaneGroup& group) {
  const scalar_t* xs[kLanes];
  const scalar_t* ys[kLanes];
  group.first = first;
  group.count = std::min<int64_t>(kLanes, batch.size - first);
  for (int lane = 0; lane < kLanes; ++lane) {
    const bool used = lane < group.count;
    const int64_t b = first + (used ? lane : 0);
    xs[lane] = batch.x.const_data_ptr<scalar_t>() + b * batch.rows * batch.features;
    ys[lane] = batch.y.const_data_ptr<scalar_t>() + b * batch.cols * batch.features;
    group.n[lane] = used ? batch.n[b] : 0;
    group.m[lane] = used ? batch.m[b] : 0;
    if (used) {
      check_series_item(op, xs[lane], group.n[lane], batch.features, "x", b);
      check_series_item(op, ys[lane], group.m[lane], batch.features, "y", b);
    }
  }
  group.rows = *std::max_element(group.n, group.n + kLanes);
  group.cols = *std::max_element(group.m, group.m + kLanes);
  interleave(xs, group.n, group.rows, batch.features, group.x);
  interleave(ys, group.m, group.cols, batch.features, group.y);
}

// Squared Euclidean local costs of row i against every column, in the lanes.
// kFeatures: the number of features when known at compile time (1, the
// univariate case), else 0 (read `features`).
template <int kFeatures>
MT_SIMD_INLINE void lane_costs(const LaneGroup& group, int64_t i, int64_t features, Lanes* cost) {
  const int64_t d = kFeatures > 0 ? kFeatures : features;
  const Lanes* x_step = group.x.data() + i * d;
  const Lanes* y = group.y.data();
  for (int64_t j = 0; j < group.cols; ++j) {
    Lanes sum{};
    for (int64_t k = 0; k < d; ++k) {
      const Lanes diff = x_step[k] - y[j * d + k];
      sum += diff * diff;
    }
    cost[j] = sum;
  }
}

// Calls body(std::integral_constant<int, K>{}) with K = 1 for univariate
// series (the inner loops then have a fixed trip count) and 0 otherwise.
template <typename Body>
void with_features(int64_t features, const Body& body) {
  if (features == 1) {
    body(std::integral_constant<int, 1>{});
  } else {
    body(std::integral_constant<int, 0>{});
  }
}

// Runs body(group) for every group of kLanes consecutive items, groups in
// parallel; `cell_ns`: the DP's cost per cell and feature. The lowest
// failing item's error is raised once all groups have run.
template <typename scalar_t, typename Body>
void for_each_group(const char* op, const SeriesBatch& batch, int64_t cell_ns, const Body& body) {
  const int64_t groups = (batch.size + kLanes - 1) / kLanes;
  const int64_t group_ns = cell_ns * batch.rows * batch.cols * std::max<int64_t>(batch.features, 1);
  ItemErrors errors;
  parallel_for(0, groups, grain_for(group_ns), [&](int64_t first, int64_t last) {
    LaneGroup group;
    for (int64_t g = first; g < last; ++g) {
      // The group's first item stands for it: groups are in item order and
      // a group checks its items in order, so the lowest failing item wins.
      errors.run(g * kLanes, [&] {
        load_group<scalar_t>(op, batch, g * kLanes, group);
        body(group);
      });
    }
  });
  errors.rethrow();
}

// The [B] values of a series operator: for every group with a non-empty
// item, `lanes(group, scratch, values)` fills its items' values (float64);
// empty items get their values from empty_item_values(). Dtypes are checked
// before (check_series_pair), so the dispatch name never shows in a message.
template <typename LanesFn>
at::Tensor series_values(const char* op, const SeriesBatch& batch, const at::Tensor& x,
                         const LanesFn& lanes) {
  at::Tensor out = at::empty({batch.size}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "mt::series_values", [&] {
    scalar_t* result = out.data_ptr<scalar_t>();
    for_each_group<scalar_t>(op, batch, kCellNs, [&](const LaneGroup& group) {
      LaneVector scratch;
      double values[kLanes];
      group.empty_item_values(values);
      if (group.rows > 0 && group.cols > 0) {
        lanes(group, scratch, values);
      }
      for (int64_t lane = 0; lane < group.count; ++lane) {
        result[group.first + lane] = static_cast<scalar_t>(values[lane]);
      }
    });
  });
  return out;
}

}  // namespace mt::time_warping
