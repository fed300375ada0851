// Argument checks every operator makes, with messages that name the operator
// and the argument. CPU and Meta kernels call the same functions, so
// torch.compile reports the same errors as eager mode.
#pragma once

#include <ATen/core/Tensor.h>

#include <initializer_list>
#include <optional>
#include <utility>

namespace mt {

enum class Kernel { kCpu, kMeta };

// (tensor, argument name); a null tensor pointer stands for an absent optional.
using NamedTensor = std::pair<const at::Tensor*, const char*>;

// CPU kernel: every tensor is on the CPU. Meta kernel (shape inference): all
// on the first tensor's device, as the CPU kernel will need.
void check_devices(const char* op, Kernel kernel, std::initializer_list<NamedTensor> tensors);

// `tensor` has `dim` dimensions; `shape` names them for the message ("[B, N, M]").
void check_dim(const char* op, const at::Tensor& tensor, const char* name, int64_t dim,
               const char* shape);

// "float32", "int64", ...: the names Python users know (str(dtype) without
// "torch."), so that Python fakes can say the same.
const char* dtype_name(at::ScalarType dtype);

// float32 or float64.
void check_floating(const char* op, const at::Tensor& tensor, const char* name);

// Any real dtype: floating, integer or bool (not complex).
void check_real(const char* op, const at::Tensor& tensor, const char* name);

// Exactly `dtype`.
void check_dtype(const char* op, const at::Tensor& tensor, const char* name, at::ScalarType dtype);

// tensor.size(dim) == expected (symbolic sizes allowed). `what` says where
// `expected` comes from, verb included: "the batch size of 'cost' is".
void check_size(const char* op, const at::Tensor& tensor, const char* name, int64_t dim,
                const c10::SymInt& expected, const char* what);

// An optional int64 [B] of per-item lengths whose size must be `batch`
// ("the batch size of 'cost' is" in `batch_what`). ItemLengths (lengths.h)
// reads and range-checks the values in the CPU kernel.
void check_lengths_argument(const char* op, const std::optional<at::Tensor>& lengths,
                            const char* name, const c10::SymInt& batch, const char* batch_what);

// The dtypes a cost tensor may have.
enum class CostDtypes { kFloating, kReal };

// A batch of padded matrices, cost [B, N, M] of `dtypes`, with optional
// n_lengths / m_lengths [B] cutting each item's rows / columns (the DTW
// family and linear_sum_assignment).
void check_cost_batch(const char* op, Kernel kernel, const at::Tensor& cost, CostDtypes dtypes,
                      const std::optional<at::Tensor>& n_lengths,
                      const std::optional<at::Tensor>& m_lengths);

// Data check (CPU kernels): every lengths[b] lies in [0, limit];
// `limit_what` names the limit ("the width of 'boxes'").
void check_lengths_fit(const char* op, const int64_t* lengths, int64_t count, const char* name,
                       int64_t limit, const char* limit_what);

// The tensor itself, or nullptr for an absent optional (for check_devices).
inline const at::Tensor* if_present(const std::optional<at::Tensor>& tensor) {
  return tensor.has_value() ? &*tensor : nullptr;
}

}  // namespace mt
