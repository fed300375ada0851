// The optional per-item lengths an operator takes ("item b uses the first
// lengths[b] rows"), read by the CPU kernel.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>

namespace mt {

// lengths[b] for every item b: the tensor's values (contiguous int64 [B],
// made so on the pool, each checked to lie in [0, full]) or, when the
// optional is empty, `full` for every item. Shape and dtype are checked
// before, by check_lengths_argument, in the CPU and Meta kernels alike.
class ItemLengths {
 public:
  // `name` is the argument ("n_lengths"); `full_what` says what `full` is
  // ("the size of dimension 1 of 'cost'"), for the error message.
  ItemLengths(const char* op, const std::optional<at::Tensor>& lengths, const char* name,
              int64_t full, const char* full_what);

  int64_t operator[](int64_t item) const { return values_ != nullptr ? values_[item] : full_; }

 private:
  at::Tensor contiguous_;  // keeps values_ alive
  const int64_t* values_ = nullptr;
  int64_t full_;
};

}  // namespace mt
