// planted::normalize_rows(x [B, N] float64, bug) -> x / x.sum(): an operator
// with switchable bugs, to show that torch_mt.testing's harness catches them
// (tests/test_planted_bugs.py). bug 0 is correct.
//   1: the total is summed from per-chunk partial sums, an order that depends
//      on the thread count (results differ in the last bits across counts);
//   2: the Meta kernel returns the wrong shape (opcheck catches it);
//   3: the dtype check is missing;
//   4: a data race: chunks count rows in one shared plain integer. Updates
//      are rarely lost, so results are almost always right; TSan reports it.
#include <ATen/ATen.h>
#include <torch/library.h>
#include <torch_mt/parallel.h>

#include <mutex>
#include <vector>

namespace {

constexpr const char* kOp = "planted::normalize_rows";

void check_arguments(mt::Kernel kernel, const at::Tensor& x, int64_t bug) {
  mt::check_devices(kOp, kernel, {{&x, "x"}});
  mt::check_dim(kOp, x, "x", 2, "[B, N]");
  if (bug != 3) {
    mt::check_dtype(kOp, x, "x", at::kDouble);
  }
}

at::Tensor normalize_rows_cpu(const at::Tensor& x, int64_t bug) {
  check_arguments(mt::Kernel::kCpu, x, bug);
  const at::Tensor input = x.contiguous();
  const int64_t rows = input.size(0), cols = input.size(1);
  const double* in = input.data_ptr<double>();
  std::vector<double> row_sums(rows, 0.0);
  double total = 0.0;
  std::mutex mutex;
  int64_t rows_seen = 0;  // bug 4 only
  mt::parallel_for(0, rows, 1, [&](int64_t first, int64_t last) {
    double chunk = 0.0;
    for (int64_t i = first; i < last; ++i) {
      for (int64_t j = 0; j < cols; ++j) {
        row_sums[i] += in[i * cols + j];
      }
      chunk += row_sums[i];
      if (bug == 4) {
        ++rows_seen;  // the bug: every chunk writes it, without a lock
      }
    }
    if (bug == 1) {
      std::lock_guard<std::mutex> lock(mutex);
      total += chunk;  // the bug: chunk boundaries depend on the thread count
    }
  });
  TORCH_CHECK(bug != 4 || rows_seen == rows, kOp, ": counted ", rows_seen, " of ", rows, " rows");
  if (bug != 1) {
    for (const double sum : row_sums) {
      total += sum;  // in row order, whatever the thread count
    }
  }
  return input / total;
}

at::Tensor normalize_rows_meta(const at::Tensor& x, int64_t bug) {
  check_arguments(mt::Kernel::kMeta, x, bug);
  if (bug == 2) {
    return at::empty_symint({x.sym_size(0)}, x.options());  // the bug: [B], not [B, N]
  }
  return at::empty_symint(x.sym_sizes(), x.options());
}

}  // namespace

TORCH_LIBRARY(planted, m) { m.def("normalize_rows(Tensor x, int bug=0) -> Tensor"); }
TORCH_LIBRARY_IMPL(planted, CompositeExplicitAutograd, m) {
  m.impl("normalize_rows", &normalize_rows_cpu);
}
TORCH_LIBRARY_IMPL(planted, Meta, m) { m.impl("normalize_rows", &normalize_rows_meta); }
