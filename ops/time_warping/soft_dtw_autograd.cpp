// Autograd for soft-DTW's five operators, written once.
//
//   soft_dtw -> soft_dtw_backward (expected alignment) -> soft_dtw_backward_backward
//   (Hessian-vector products);  soft_dtw_series -> soft_dtw_series_backward.
//
// Every one of them is `op(tensors..., float gamma, Tensor? lengths, Tensor? lengths)`,
// and the gradient of its tensor inputs is another mt operator of the same
// shape, `backward(grad, tensors..., gamma, lengths, lengths)`, returning one
// gradient per tensor input. So one autograd Function, parametrised by the
// names of the two operators, serves all five; the backward is called through
// the dispatcher, so it is parallel, opcheck'ed and differentiable in turn.
// Only the inputs are saved: each backward kernel recomputes its item's
// forward pass rather than keeping a [B, N, M] float64 table alive between
// the passes.
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/library.h>

#include <optional>
#include <vector>

namespace mt::time_warping {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// An operator and what differentiates it.
struct DifferentiableOp {
  const char* name;
  // The operator giving the gradients of `name`'s tensor inputs, or nullptr.
  const char* backward;
  // The error a derivative of an op without `backward` raises. Registering
  // such an op anyway (rather than leaving it to PyTorch's fallback, which
  // warns and silently returns no gradient) is what makes this an error.
  const char* no_backward;
};

constexpr DifferentiableOp kSoftDtw{"mt::soft_dtw", "mt::soft_dtw_backward", nullptr};
constexpr DifferentiableOp kSoftDtwBackward{"mt::soft_dtw_backward",
                                            "mt::soft_dtw_backward_backward", nullptr};
constexpr DifferentiableOp kSoftDtwBackwardBackward{
    "mt::soft_dtw_backward_backward", nullptr,
    "mt::soft_dtw: third and higher derivatives are not implemented "
    "(first and second derivatives are)"};
constexpr DifferentiableOp kSoftDtwSeries{"mt::soft_dtw_series", "mt::soft_dtw_series_backward",
                                          nullptr};
// Its own derivative would need the Hessian through the local costs, and
// soft_dtw on torch.cdist(x, y) ** 2 already gives it.
constexpr DifferentiableOp kSoftDtwSeriesBackward{
    "mt::soft_dtw_series_backward", nullptr,
    "mt::soft_dtw_series: second derivatives are not implemented; for "
    "Hessian-vector products use mt::soft_dtw on torch.cdist(x, y) ** 2"};

// The handles of an op and of its backward, each looked up once (the lookup takes a lock).
template <const DifferentiableOp& kOp>
const c10::OperatorHandle& forward_handle() {
  static const c10::OperatorHandle handle =
      c10::Dispatcher::singleton().findSchemaOrThrow(kOp.name, "");
  return handle;
}
template <const DifferentiableOp& kOp>
const c10::OperatorHandle& backward_handle() {
  static const c10::OperatorHandle handle =
      c10::Dispatcher::singleton().findSchemaOrThrow(kOp.backward, "");
  return handle;
}

// Calls `op(leading..., gamma, first_lengths, second_lengths)` through the
// boxed dispatcher and returns its tensor outputs.
variable_list call(const c10::OperatorHandle& op, const variable_list& leading, double gamma,
                   const std::optional<at::Tensor>& first_lengths,
                   const std::optional<at::Tensor>& second_lengths) {
  torch::jit::Stack stack;
  stack.reserve(leading.size() + 3);
  for (const at::Tensor& tensor : leading) {
    stack.emplace_back(tensor);
  }
  stack.emplace_back(gamma);
  stack.emplace_back(first_lengths);
  stack.emplace_back(second_lengths);
  op.callBoxed(stack);
  variable_list outputs;
  outputs.reserve(stack.size());
  for (const c10::IValue& value : stack) {
    outputs.push_back(value.toTensor());
  }
  return outputs;
}

// An optional tensor as the context saves it (undefined for None), and back.
at::Tensor saved(const std::optional<at::Tensor>& tensor) { return tensor.value_or(at::Tensor()); }
std::optional<at::Tensor> optional(const at::Tensor& tensor) {
  return tensor.defined() ? std::optional<at::Tensor>(tensor) : std::nullopt;
}

template <const DifferentiableOp& kOp>
class SoftDtwFunction : public torch::autograd::Function<SoftDtwFunction<kOp>> {
 public:
  static variable_list forward(AutogradContext* ctx, at::TensorList tensors, double gamma,
                               const std::optional<at::Tensor>& first_lengths,
                               const std::optional<at::Tensor>& second_lengths) {
    if constexpr (kOp.backward != nullptr) {
      variable_list to_save(tensors.begin(), tensors.end());
      to_save.push_back(saved(first_lengths));
      to_save.push_back(saved(second_lengths));
      ctx->save_for_backward(to_save);
      ctx->saved_data["gamma"] = gamma;
    }
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return call(forward_handle<kOp>(), tensors.vec(), gamma, first_lengths, second_lengths);
  }

  // One gradient per argument of forward: the tensors, then gamma and the
  // two lengths (none).
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    if constexpr (kOp.backward == nullptr) {
      TORCH_CHECK_NOT_IMPLEMENTED(false, kOp.no_backward);
    } else {
      const variable_list saved_inputs = ctx->get_saved_variables();
      const size_t tensor_count = saved_inputs.size() - 2;
      variable_list input_grads(tensor_count + 3);
      bool any_needed = false;
      for (size_t i = 0; i < tensor_count; ++i) {
        any_needed = any_needed || ctx->needs_input_grad(i);
      }
      if (!any_needed) {
        return input_grads;
      }
      variable_list leading{grads[0]};
      leading.insert(leading.end(), saved_inputs.begin(), saved_inputs.begin() + tensor_count);
      const variable_list computed =
          call(backward_handle<kOp>(), leading, ctx->saved_data["gamma"].toDouble(),
               optional(saved_inputs[tensor_count]), optional(saved_inputs[tensor_count + 1]));
      for (size_t i = 0; i < tensor_count; ++i) {
        if (ctx->needs_input_grad(i)) {
          input_grads[i] = computed[i];
        }
      }
      return input_grads;
    }
  }
};

// The Autograd-key kernel of every op above, boxed: its tensor inputs are all
// its arguments but the last three (gamma and the two lengths).
template <const DifferentiableOp& kOp>
void autograd_kernel(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  const size_t argument_count = op.schema().arguments().size();
  const size_t tensor_count = argument_count - 3;
  auto arguments = torch::jit::last(*stack, argument_count);
  std::vector<at::Tensor> tensors;
  tensors.reserve(tensor_count);
  for (size_t i = 0; i < tensor_count; ++i) {
    tensors.push_back(arguments[i].toTensor());
  }
  const double gamma = arguments[tensor_count].toDouble();
  const auto first_lengths = arguments[tensor_count + 1].toOptional<at::Tensor>();
  const auto second_lengths = arguments[tensor_count + 2].toOptional<at::Tensor>();
  torch::jit::drop(*stack, argument_count);
  for (at::Tensor& output :
       SoftDtwFunction<kOp>::apply(at::TensorList(tensors), gamma, first_lengths, second_lengths)) {
    stack->emplace_back(std::move(output));
  }
}

template <const DifferentiableOp& kOp>
torch::CppFunction autograd_kernel_of() {
  return torch::CppFunction::makeFromBoxedFunction<&autograd_kernel<kOp>>();
}

}  // namespace

TORCH_LIBRARY_IMPL(mt, Autograd, m) {
  m.impl("soft_dtw", autograd_kernel_of<kSoftDtw>());
  m.impl("soft_dtw_backward", autograd_kernel_of<kSoftDtwBackward>());
  m.impl("soft_dtw_backward_backward", autograd_kernel_of<kSoftDtwBackwardBackward>());
  m.impl("soft_dtw_series", autograd_kernel_of<kSoftDtwSeries>());
  m.impl("soft_dtw_series_backward", autograd_kernel_of<kSoftDtwSeriesBackward>());
}

}  // namespace mt::time_warping
