// user_ops::lcs_length: the longest common subsequence of each pair of padded
// integer sequences, pairs in parallel on torch_mt's pool. An operator written
// outside torch_mt with its public runtime headers (docs/custom_ops.md).
//
//   a [B, La], b [B, Lb] int64; a_lengths, b_lengths int64 [B], optional
//   -> int64 [B]: LCS length of a[i, :a_lengths[i]] and b[i, :b_lengths[i]]
#include <ATen/ATen.h>
#include <torch/library.h>
#include <torch_mt/parallel.h>

#include <algorithm>
#include <optional>
#include <vector>

namespace {

constexpr const char* kOp = "user_ops::lcs_length";
constexpr int64_t kCellNs = 2;  // one DP cell, measured here

void check_arguments(mt::Kernel kernel, const at::Tensor& a, const at::Tensor& b,
                     const std::optional<at::Tensor>& a_lengths,
                     const std::optional<at::Tensor>& b_lengths) {
  mt::check_devices(kOp, kernel,
                    {{&a, "a"},
                     {&b, "b"},
                     {mt::if_present(a_lengths), "a_lengths"},
                     {mt::if_present(b_lengths), "b_lengths"}});
  mt::check_dim(kOp, a, "a", 2, "[B, La]");
  mt::check_dim(kOp, b, "b", 2, "[B, Lb]");
  mt::check_dtype(kOp, a, "a", at::kLong);
  mt::check_dtype(kOp, b, "b", at::kLong);
  mt::check_size(kOp, b, "b", 0, a.sym_size(0), "the batch size of 'a' is");
  mt::check_lengths_argument(kOp, a_lengths, "a_lengths", a.sym_size(0),
                             "the batch size of 'a' is");
  mt::check_lengths_argument(kOp, b_lengths, "b_lengths", a.sym_size(0),
                             "the batch size of 'a' is");
}

// One pair: the classic DP over one row of b.size() + 1 cells.
int64_t lcs(const int64_t* x, int64_t n, const int64_t* y, int64_t m, std::vector<int64_t>& row) {
  row.assign(m + 1, 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t diagonal = 0;  // row[j] of the previous i
    for (int64_t j = 1; j <= m; ++j) {
      const int64_t up = row[j];
      row[j] = x[i] == y[j - 1] ? diagonal + 1 : std::max(up, row[j - 1]);
      diagonal = up;
    }
  }
  return row[m];
}

at::Tensor lcs_length_cpu(const at::Tensor& a, const at::Tensor& b,
                          const std::optional<at::Tensor>& a_lengths,
                          const std::optional<at::Tensor>& b_lengths) {
  check_arguments(mt::Kernel::kCpu, a, b, a_lengths, b_lengths);
  const at::Tensor x = mt::contiguous_on_pool(a, kOp, "a"), y = mt::contiguous_on_pool(b, kOp, "b");
  const mt::ItemLengths n(kOp, a_lengths, "a_lengths", a.size(1), "the width of 'a'");
  const mt::ItemLengths m(kOp, b_lengths, "b_lengths", b.size(1), "the width of 'b'");
  at::Tensor out = at::empty({a.size(0)}, a.options());
  int64_t* result = out.data_ptr<int64_t>();
  const int64_t *xs = x.const_data_ptr<int64_t>(), *ys = y.const_data_ptr<int64_t>();
  const int64_t grain = mt::grain_for(kCellNs * a.size(1) * b.size(1));
  mt::parallel_for(0, a.size(0), grain, [&](int64_t first, int64_t last) {
    std::vector<int64_t> row;  // per chunk: each pair writes only its own result
    for (int64_t i = first; i < last; ++i) {
      result[i] = lcs(xs + i * a.size(1), n[i], ys + i * b.size(1), m[i], row);
    }
  });
  return out;
}

at::Tensor lcs_length_meta(const at::Tensor& a, const at::Tensor& b,
                           const std::optional<at::Tensor>& a_lengths,
                           const std::optional<at::Tensor>& b_lengths) {
  check_arguments(mt::Kernel::kMeta, a, b, a_lengths, b_lengths);
  return at::empty_symint({a.sym_size(0)}, a.options());
}

}  // namespace

TORCH_LIBRARY(user_ops, m) {
  m.def("lcs_length(Tensor a, Tensor b, Tensor? a_lengths=None, Tensor? b_lengths=None) -> Tensor");
}
TORCH_LIBRARY_IMPL(user_ops, CompositeExplicitAutograd, m) {
  m.impl("lcs_length", &lcs_length_cpu);
}
TORCH_LIBRARY_IMPL(user_ops, Meta, m) { m.impl("lcs_length", &lcs_length_meta); }
