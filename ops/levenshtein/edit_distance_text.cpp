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

namespace mt {
namespace {

using namespace edit_distance_family;

// ---- text: str[] in UTF-8, compared by code point --------------------------

// Appends the code points of `text` to `out`. Strings from Python and
// TorchScript are valid UTF-8; a C++ caller's bytes may not be, and get an
// error naming the argument and item instead of a guess.
void decode_utf8(const char* op, const std::string& text, const char* name, int64_t item,
                 std::vector<int32_t>& out) {
  const auto* byte = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = byte + text.size();
  const auto* begin = byte;
  while (byte < end) {
    const auto* start = byte;
    const unsigned lead = *byte++;
    if (lead < 0x80) {  // ASCII, the common case
      out.push_back(static_cast<int32_t>(lead));
      continue;
    }
    const int extra = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : -1;
    bool valid = extra > 0 && lead < 0xF5 && end - byte >= extra;
    uint32_t code = valid ? lead & (0x3F >> extra) : 0;
    for (int k = 0; valid && k < extra; ++k, ++byte) {
      valid = (*byte & 0xC0) == 0x80;
      code = (code << 6) | (*byte & 0x3F);
    }
    // Overlong forms and values past U+10FFFF are not UTF-8. (Surrogates are
    // kept: Python's surrogatepass writes them, and they are code points.)
    constexpr uint32_t kSmallest[] = {0, 0x80, 0x800, 0x10000};
    valid = valid && code >= kSmallest[extra] && code <= 0x10FFFF;
    TORCH_CHECK_VALUE(valid, op, ": ", name, "[", item,
                      "] is not valid UTF-8 (the character at byte ", start - begin, ")");
    out.push_back(static_cast<int32_t>(code));
  }
}

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
        errors.run(i, [&] { decode_utf8(op, texts[i], name, i, decoded[i]); });
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

int64_t longest_bytes(const std::vector<std::string>& texts) {
  size_t longest = 0;
  for (const auto& text : texts) {
    longest = std::max(longest, text.size());
  }
  return static_cast<int64_t>(longest);
}

constexpr const char* kEditDistanceText = "mt::edit_distance_text";
constexpr const char* kPairwiseText = "mt::edit_distance_pairwise_text";

// What the str[] ops check before reading a string: the cutoff, and for the
// row-wise op, as many strings on each side. Returns the kernels' bound.
int64_t check_text_arguments(const char* op, const std::vector<std::string>& a,
                             const std::vector<std::string>& b, std::optional<int64_t> max_distance,
                             bool same_length) {
  TORCH_CHECK_VALUE(!same_length || a.size() == b.size(), op, ": argument 'b' has ", b.size(),
                    " strings but 'a' has ", a.size());
  return cutoff_bound(op, max_distance);
}

// mt::_edit_distance_text_checks(a, b, max_distance, pairwise): those checks
// alone, for the Python fakes (under torch.compile the strings are constants
// of the graph, and the fakes must not compute the distances).
void edit_distance_text_checks(const std::vector<std::string>& a, const std::vector<std::string>& b,
                               std::optional<int64_t> max_distance, bool pairwise) {
  (void)check_text_arguments(pairwise ? kPairwiseText : kEditDistanceText, a, b, max_distance,
                             /*same_length=*/!pairwise);
}

// Pairs in parallel, each decoded into this thread's buffers just before its
// distance: no batch-sized buffer to allocate and fill first.
at::Tensor edit_distance_text_cpu(const std::vector<std::string>& a,
                                  const std::vector<std::string>& b,
                                  std::optional<int64_t> max_distance) {
  const int64_t bound =
      check_text_arguments(kEditDistanceText, a, b, max_distance, /*same_length=*/true);
  const auto batch = static_cast<int64_t>(a.size());
  at::Tensor out = at::empty({batch}, at::kLong);
  int64_t* distances = out.data_ptr<int64_t>();
  const int64_t a_bytes = longest_bytes(a), b_bytes = longest_bytes(b);
  const int64_t steps = word_steps(std::min(a_bytes, b_bytes), std::max(a_bytes, b_bytes));
  ItemErrors errors;
  parallel_for(0, batch, grain_for(kWordStepNs * steps), [&](int64_t first, int64_t last) {
    // The chunk's decoding buffers, reused pair after pair. Declared before the
    // workspace: its release at the chunk's end reads the last pattern in them.
    std::vector<int32_t> x, y;
    BorrowedWorkspace<int32_t> workspace;
    for (int64_t i = first; i < last; ++i) {
      errors.run(i, [&] {
        workspace->pattern.release();  // it reads the previous pair's x or y
        x.clear(), y.clear();
        decode_utf8(kEditDistanceText, a[i], "a", i, x);
        decode_utf8(kEditDistanceText, b[i], "b", i, y);
        distances[i] = pair_distance(*workspace, x.data(), static_cast<int64_t>(x.size()), y.data(),
                                     static_cast<int64_t>(y.size()), bound);
      });
    }
  });
  errors.rethrow();
  return out;
}

at::Tensor edit_distance_pairwise_text_cpu(const std::vector<std::string>& a,
                                           const std::vector<std::string>& b,
                                           std::optional<int64_t> max_distance) {
  const int64_t bound =
      check_text_arguments(kPairwiseText, a, b, max_distance, /*same_length=*/false);
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
  m.impl("edit_distance_text", &edit_distance_text_cpu);
  m.impl("edit_distance_pairwise_text", &edit_distance_pairwise_text_cpu);
  m.impl("_edit_distance_text_checks", &edit_distance_text_checks);
}

}  // namespace mt
