#include <torch_mt/contiguous.h>

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

#include <torch_mt/allocation.h>
#include <torch_mt/parallel_for.h>

namespace mt {
namespace {

// A strided element copy costs about 2 ns here.
constexpr int64_t kElementNs = 2;

// Copies rows [first, last) of the last dimension, element by element, for
// elements of type Word (an unsigned integer of the element's size).
template <typename Word>
void copy_rows(const at::Tensor& input, Word* out, int64_t first, int64_t last) {
  const int64_t dims = input.dim();
  const int64_t row_length = input.size(dims - 1), step = input.stride(dims - 1);
  const Word* in = static_cast<const Word*>(input.const_data_ptr());
  for (int64_t row = first; row < last; ++row) {
    int64_t offset = 0;  // of the row's first element, from its index in row-major order
    for (int64_t d = dims - 2, rest = row; d >= 0; --d) {
      offset += (rest % input.size(d)) * input.stride(d);
      rest /= input.size(d);
    }
    Word* row_out = out + row * row_length;
    for (int64_t k = 0; k < row_length; ++k) {
      row_out[k] = in[offset + k * step];
    }
  }
}

}  // namespace

at::Tensor contiguous_on_pool(const at::Tensor& input, const char* op, const char* argument) {
  if (input.is_contiguous()) {
    return input;
  }
  const std::string what = std::string("a contiguous copy of argument '") + argument + "'";
  check_allocation(op, what.c_str(), input.sizes(), input.element_size());
  at::Tensor out = at::empty(input.sizes(), input.options());
  const int64_t row_length = input.size(input.dim() - 1);
  if (out.numel() == 0) {
    return out;
  }
  const int64_t rows = out.numel() / row_length;
  const int64_t grain = grain_for(kElementNs * row_length);
  const auto copy = [&](auto word) {
    using Word = decltype(word);
    Word* destination = static_cast<Word*>(out.data_ptr());
    parallel_for(0, rows, grain, [&](int64_t first, int64_t last) {
      copy_rows<Word>(input, destination, first, last);
    });
  };
  switch (input.element_size()) {
    case 1: copy(uint8_t{}); break;
    case 2: copy(uint16_t{}); break;
    case 4: copy(uint32_t{}); break;
    case 8: copy(uint64_t{}); break;
    default:
      TORCH_CHECK_TYPE(false, op, ": argument '", argument, "': no pool copy for ",
                       input.scalar_type(), " tensors");
  }
  return out;
}

}  // namespace mt
