// A contiguous copy made on the torch_mt pool instead of by ATen.
#pragma once

#include <ATen/core/Tensor.h>

namespace mt {

// `input` itself when already contiguous, else a contiguous copy of it
// (same dtype, any strides, zero strides included). Kernels use this instead
// of Tensor::contiguous(): ATen's own copy may run on OpenMP, which hangs in
// a forked child once the parent has used OpenMP (libgomp is not fork-safe).
// A copy too large for memory (say, of a huge zero-stride expanded view) is
// refused with an error naming `op` and `argument`.
at::Tensor contiguous_on_pool(const at::Tensor& input, const char* op, const char* argument);

}  // namespace mt
