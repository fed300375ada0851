#include <torch_mt/checks.h>

#include <c10/core/ScalarType.h>
#include <c10/core/SymInt.h>
#include <c10/util/Exception.h>

namespace mt {

const char* dtype_name(at::ScalarType dtype) {
  switch (dtype) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kByte: return "uint8";
    case at::kChar: return "int8";
    case at::kShort: return "int16";
    case at::kInt: return "int32";
    case at::kLong: return "int64";
    case at::kBool: return "bool";
    case at::kComplexFloat: return "complex64";
    case at::kComplexDouble: return "complex128";
    default: return c10::toString(dtype);
  }
}

void check_devices(const char* op, Kernel kernel, std::initializer_list<NamedTensor> tensors) {
  const at::Tensor* first = nullptr;
  const char* first_name = nullptr;
  for (const auto& [tensor, name] : tensors) {
    if (tensor == nullptr) {
      continue;
    }
    if (kernel == Kernel::kCpu) {
      TORCH_CHECK_VALUE(tensor->device().is_cpu(), op, ": argument '", name,
                        "' must be a CPU tensor, got device ", tensor->device());
    } else if (first == nullptr) {
      first = tensor, first_name = name;
    } else {
      TORCH_CHECK_VALUE(tensor->device() == first->device(), op, ": argument '", name, "' is on ",
                        tensor->device(), " but '", first_name, "' is on ", first->device());
    }
  }
}

void check_dim(const char* op, const at::Tensor& tensor, const char* name, int64_t dim,
               const char* shape) {
  TORCH_CHECK_VALUE(tensor.dim() == dim, op, ": argument '", name, "' must be a ", dim,
                    "-D tensor ", shape, ", got ", tensor.dim(), "-D");
}

void check_floating(const char* op, const at::Tensor& tensor, const char* name) {
  TORCH_CHECK_TYPE(tensor.scalar_type() == at::kFloat || tensor.scalar_type() == at::kDouble, op,
                   ": argument '", name, "' must be float32 or float64, got ",
                   dtype_name(tensor.scalar_type()));
}

void check_real(const char* op, const at::Tensor& tensor, const char* name) {
  TORCH_CHECK_TYPE(!at::isComplexType(tensor.scalar_type()), op, ": argument '", name,
                   "' must be real (floating, integer or bool), got ",
                   dtype_name(tensor.scalar_type()));
}

void check_dtype(const char* op, const at::Tensor& tensor, const char* name, at::ScalarType dtype) {
  TORCH_CHECK_TYPE(tensor.scalar_type() == dtype, op, ": argument '", name, "' must be ",
                   dtype_name(dtype), ", got ", dtype_name(tensor.scalar_type()));
}

void check_size(const char* op, const at::Tensor& tensor, const char* name, int64_t dim,
                const c10::SymInt& expected, const char* what) {
  TORCH_CHECK_VALUE(tensor.sym_size(dim).sym_eq(expected).expect_true(__FILE__, __LINE__), op,
                    ": argument '", name, "' has size ", tensor.sym_size(dim), " in dimension ",
                    dim, " but ", what, " ", expected);
}

void check_lengths_argument(const char* op, const std::optional<at::Tensor>& lengths,
                            const char* name, const c10::SymInt& batch, const char* batch_what) {
  if (!lengths.has_value()) {
    return;
  }
  check_dim(op, *lengths, name, 1, "[B]");
  check_dtype(op, *lengths, name, at::kLong);
  check_size(op, *lengths, name, 0, batch, batch_what);
}

void check_cost_batch(const char* op, Kernel kernel, const at::Tensor& cost, CostDtypes dtypes,
                      const std::optional<at::Tensor>& n_lengths,
                      const std::optional<at::Tensor>& m_lengths) {
  check_devices(op, kernel,
                {{&cost, "cost"},
                 {if_present(n_lengths), "n_lengths"},
                 {if_present(m_lengths), "m_lengths"}});
  check_dim(op, cost, "cost", 3, "[B, N, M]");
  if (dtypes == CostDtypes::kFloating) {
    check_floating(op, cost, "cost");
  } else {
    check_real(op, cost, "cost");
  }
  check_lengths_argument(op, n_lengths, "n_lengths", cost.sym_size(0),
                         "the batch size of 'cost' is");
  check_lengths_argument(op, m_lengths, "m_lengths", cost.sym_size(0),
                         "the batch size of 'cost' is");
}

void check_lengths_fit(const char* op, const int64_t* lengths, int64_t count, const char* name,
                       int64_t limit, const char* limit_what) {
  for (int64_t b = 0; b < count; ++b) {
    TORCH_CHECK_VALUE(lengths[b] >= 0 && lengths[b] <= limit, op, ": ", name, "[", b,
                      "] = ", lengths[b], " is outside [0, ", limit, "], ", limit_what);
  }
}

}  // namespace mt
