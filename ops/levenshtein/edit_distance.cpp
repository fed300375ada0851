// mt::edit_distance and mt::edit_distance_pairwise: Levenshtein distance
// (unit insert / delete / substitute) between padded integer sequences.
//
//   a [B, La] uint8|int16|int32|int64, a_lengths [B] int64 (optional): sequence i is
//                          a[i, :a_lengths[i]] (without lengths, the whole row)
//   or a [N] (packed):     the sequences one after another, a_lengths [B]
//                          required; sequence i starts after the i before it
//   b [B, Lb] or [N], same dtype, b_lengths [B] int64 (likewise)
//   max_distance           int (optional): a cutoff k >= 0; a distance above
//                          it is reported as k + 1, and work that cannot end
//                          within it is skipped
//   edit_distance          -> int64 [B]       distance(a_i, b_i)
//   edit_distance_pairwise -> int64 [Ba, Bb]  distance(a_i, b_j) for every i, j
//   edit_distance_join     -> int64 (i [P], j [P], distance [P]): only the pairs
//                          within max_distance (required), sorted by i then j
//
//
// The join (edit_distance_join.cpp) and the str[] forms (edit_distance_text.cpp)
// share the checks and kernels of edit_distance_kernels.h.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <torch_mt/parallel.h>
#include "edit_distance_kernels.h"

namespace mt::levenshtein {
namespace {

// ---- operators --------------------------------------------------------------

constexpr const char* kEditDistance = "mt::edit_distance";
constexpr const char* kPairwise = "mt::edit_distance_pairwise";

at::Tensor edit_distance_cpu(const at::Tensor& a, const at::Tensor& b,
                             const std::optional<at::Tensor>& a_lengths,
                             const std::optional<at::Tensor>& b_lengths,
                             std::optional<int64_t> max_distance) {
  check_arguments(kEditDistance, Kernel::kCpu, /*same_batch=*/true, a, b, a_lengths, b_lengths);
  const int64_t bound = cutoff_bound(kEditDistance, max_distance);
  const int64_t batch = batch_of(a, a_lengths).expect_int();
  return run_on_cpu(kEditDistance, a, b, a_lengths, b_lengths, {batch},
                    [&](auto a_seqs, auto b_seqs, int64_t* out) {
                      edit_distance_rows(a_seqs, b_seqs, batch, bound, out);
                    });
}

at::Tensor edit_distance_pairwise_cpu(const at::Tensor& a, const at::Tensor& b,
                                      const std::optional<at::Tensor>& a_lengths,
                                      const std::optional<at::Tensor>& b_lengths,
                                      std::optional<int64_t> max_distance) {
  check_arguments(kPairwise, Kernel::kCpu, /*same_batch=*/false, a, b, a_lengths, b_lengths);
  const int64_t bound = cutoff_bound(kPairwise, max_distance);
  const int64_t batch_a = batch_of(a, a_lengths).expect_int();
  const int64_t batch_b = batch_of(b, b_lengths).expect_int();
  return run_on_cpu(kPairwise, a, b, a_lengths, b_lengths, {batch_a, batch_b},
                    [&](auto a_seqs, auto b_seqs, int64_t* out) {
                      edit_distance_grid(a_seqs, batch_a, b_seqs, batch_b, bound, out);
                    });
}

// Meta kernels: shapes only, with symbolic sizes so dynamic-shape graphs work.
at::Tensor edit_distance_meta(const at::Tensor& a, const at::Tensor& b,
                              const std::optional<at::Tensor>& a_lengths,
                              const std::optional<at::Tensor>& b_lengths,
                              std::optional<int64_t> max_distance) {
  check_arguments(kEditDistance, Kernel::kMeta, /*same_batch=*/true, a, b, a_lengths, b_lengths);
  (void)cutoff_bound(kEditDistance, max_distance);
  return at::empty_symint({batch_of(a, a_lengths)}, a.options().dtype(at::kLong));
}

at::Tensor edit_distance_pairwise_meta(const at::Tensor& a, const at::Tensor& b,
                                       const std::optional<at::Tensor>& a_lengths,
                                       const std::optional<at::Tensor>& b_lengths,
                                       std::optional<int64_t> max_distance) {
  check_arguments(kPairwise, Kernel::kMeta, /*same_batch=*/false, a, b, a_lengths, b_lengths);
  (void)cutoff_bound(kPairwise, max_distance);
  return at::empty_symint({batch_of(a, a_lengths), batch_of(b, b_lengths)},
                          a.options().dtype(at::kLong));
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def(
      "edit_distance(Tensor a, Tensor b, Tensor? a_lengths=None, Tensor? b_lengths=None, "
      "int? max_distance=None) -> Tensor");
  m.def(
      "edit_distance_pairwise(Tensor a, Tensor b, Tensor? a_lengths=None, "
      "Tensor? b_lengths=None, int? max_distance=None) -> Tensor");
}

// CompositeExplicitAutograd rather than CPU: a CUDA tensor then reaches our
// checks and gets "must be a CPU tensor" instead of a missing-kernel error.
TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("edit_distance", &edit_distance_cpu);
  m.impl("edit_distance_pairwise", &edit_distance_pairwise_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) {
  m.impl("edit_distance", &edit_distance_meta);
  m.impl("edit_distance_pairwise", &edit_distance_pairwise_meta);
}

}  // namespace mt::levenshtein
