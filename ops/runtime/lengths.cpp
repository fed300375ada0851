#include <torch_mt/lengths.h>

#include <torch_mt/checks.h>
#include <torch_mt/contiguous.h>

namespace mt {

ItemLengths::ItemLengths(const char* op, const std::optional<at::Tensor>& lengths, const char* name,
                         int64_t full, const char* full_what)
    : full_(full) {
  if (!lengths.has_value()) {
    return;
  }
  contiguous_ = contiguous_on_pool(*lengths, op, name);
  values_ = contiguous_.const_data_ptr<int64_t>();
  check_lengths_fit(op, values_, contiguous_.numel(), name, full, full_what);
}

}  // namespace mt
