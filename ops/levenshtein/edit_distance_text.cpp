// mt::edit_distance_text and mt::edit_distance_pairwise_text: the str[]
// (UTF-8) forms, compared by Unicode code point — strings inside TorchScript
// and from C++.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <torch_mt/parallel.h>
#include "edit_distance_kernels.h"
#include "string_distances.h"

namespace mt::levenshtein {
namespace {

// ---- text: str[] in UTF-8, compared by code point --------------------------

// Every string of `texts` decoded into one packed buffer, strings in
// parallel: code points of string i at values[offsets[i], offsets[i + 1]).
struct PackedText {
  std::vector<int32_t> values;
  std::vector<int64_t> offsets;
  int64_t longest = 0;

  PackedText(const char* op, const std::vector<std::string>& texts, const char* name)
      : offsets(texts.size() + 1, 0) {
    const auto count = static_cast<int64_t>(texts.size());
    std::vector<std::vector<int32_t>> decoded(texts.size());
    ItemErrors errors;
    parallel_for(0, count, grain_for(kDecodeByteNs * 64), [&](int64_t first, int64_t last) {
      for (int64_t i = first; i < last; ++i) {
        errors.run(i, [&] {
          strings::decode_utf8(op, texts[i].data(), static_cast<int64_t>(texts[i].size()), name, i,
                               decoded[i]);
        });
      }
    });
    errors.rethrow();
    for (int64_t i = 0; i < count; ++i) {
      offsets[i + 1] = offsets[i] + static_cast<int64_t>(decoded[i].size());
      longest = std::max<int64_t>(longest, static_cast<int64_t>(decoded[i].size()));
    }
    values.reserve(static_cast<size_t>(offsets[count]));
    for (const auto& codes : decoded) {
      values.insert(values.end(), codes.begin(), codes.end());
    }
  }

  Sequences<int32_t> sequences() const { return {values.data(), nullptr, longest, offsets.data()}; }

  // One decoded byte costs about 2 ns here.
  static constexpr int64_t kDecodeByteNs = 2;
};

constexpr const char* kEditDistanceText = "mt::edit_distance_text";
constexpr const char* kPairwiseText = "mt::edit_distance_pairwise_text";

// What the str[] ops check before reading a string: the cutoff, and for the
// row-wise op, as many strings on each side. Returns the kernels' bound.
int64_t check_text_arguments(const char* op, size_t a_size, size_t b_size,
                             std::optional<int64_t> max_distance, bool same_length) {
  TORCH_CHECK_VALUE(!same_length || a_size == b_size, op, ": argument 'b' has ", b_size,
                    " strings but 'a' has ", a_size);
  return cutoff_bound(op, max_distance);
}

// mt::_edit_distance_text_checks(a, b, max_distance, pairwise): those checks
// alone, for the Python fakes (under torch.compile the strings are constants
// of the graph, and the fakes must not compute the distances).
void edit_distance_text_checks(const std::vector<std::string>& a, const std::vector<std::string>& b,
                               std::optional<int64_t> max_distance, bool pairwise) {
  (void)check_text_arguments(pairwise ? kPairwiseText : kEditDistanceText, a.size(), b.size(),
                             max_distance, /*same_length=*/!pairwise);
}

// A str of a TorchScript list, read in place: its UTF-8 bytes.
strings::StringView read_list_string(const void* items, int64_t i) {
  const std::string& text = static_cast<const c10::IValue*>(items)[i].toStringRef();
  return {text.data(), static_cast<int64_t>(text.size()), strings::kUtf8};
}

// mt::edit_distance_text, boxed: it reads the str values where the list
// holds them. (An unboxed kernel takes std::vector<std::string>, a copy of
// every string made by the dispatcher, serially, before the kernel starts.)
void edit_distance_text_boxed(const c10::OperatorHandle&, torch::jit::Stack* stack) {
  auto arguments = torch::jit::last(*stack, 3);
  const c10::ArrayRef<c10::IValue> a = arguments[0].toListRef(), b = arguments[1].toListRef();
  const int64_t bound = check_text_arguments(kEditDistanceText, a.size(), b.size(),
                                             arguments[2].toOptional<int64_t>(),
                                             /*same_length=*/true);
  at::Tensor out = at::empty({static_cast<int64_t>(a.size())}, at::kLong);
  // Every item is a str (the schema says so): none is unreadable.
  (void)edit_distances(kEditDistanceText, {a.data(), &read_list_string, "a"},
                       {b.data(), &read_list_string, "b"}, out.size(0), bound,
                       out.data_ptr<int64_t>());
  torch::jit::drop(*stack, 3);
  torch::jit::push(*stack, std::move(out));
}

at::Tensor edit_distance_pairwise_text_cpu(const std::vector<std::string>& a,
                                           const std::vector<std::string>& b,
                                           std::optional<int64_t> max_distance) {
  const int64_t bound =
      check_text_arguments(kPairwiseText, a.size(), b.size(), max_distance, /*same_length=*/false);
  const auto batch_a = static_cast<int64_t>(a.size()), batch_b = static_cast<int64_t>(b.size());
  check_allocation(kPairwiseText, "the output", {batch_a, batch_b}, sizeof(int64_t));
  const PackedText a_text(kPairwiseText, a, "a"), b_text(kPairwiseText, b, "b");
  at::Tensor out = at::empty({batch_a, batch_b}, at::kLong);
  edit_distance_grid(a_text.sequences(), batch_a, b_text.sequences(), batch_b, bound,
                     out.data_ptr<int64_t>());
  return out;
}
}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def("edit_distance_text(str[] a, str[] b, int? max_distance=None) -> Tensor");
  m.def("edit_distance_pairwise_text(str[] a, str[] b, int? max_distance=None) -> Tensor");
  m.def("_edit_distance_text_checks(str[] a, str[] b, int? max_distance, bool pairwise) -> ()");
}

// No tensor argument: the dispatcher has no device to choose, and runs this
// kernel. torch.compile uses the Python fakes.
TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("edit_distance_text",
         torch::CppFunction::makeFromBoxedFunction<&edit_distance_text_boxed>());
  m.impl("edit_distance_pairwise_text", &edit_distance_pairwise_text_cpu);
  m.impl("_edit_distance_text_checks", &edit_distance_text_checks);
}

}  // namespace mt::levenshtein
