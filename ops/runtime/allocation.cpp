#include <torch_mt/allocation.h>

#include <c10/util/Exception.h>
#include <unistd.h>

namespace mt {

void check_allocation(const char* op, const char* what, c10::IntArrayRef sizes,
                      size_t element_size) {
  int64_t elements = 1;
  for (const int64_t size : sizes) {
    TORCH_CHECK_VALUE(!__builtin_mul_overflow(elements, size, &elements), op, ": ", what,
                      " of shape ", sizes, " has more elements than int64 can count");
  }
  int64_t bytes = 0;
  TORCH_CHECK_VALUE(!__builtin_mul_overflow(elements, static_cast<int64_t>(element_size), &bytes),
                    op, ": ", what, " of shape ", sizes, " needs more bytes than int64 can count");
  const int64_t memory = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  TORCH_CHECK_VALUE(memory <= 0 || bytes <= memory, op, ": ", what, " of shape ", sizes, " needs ",
                    bytes >> 20, " MiB, more than this machine's ", memory >> 20, " MiB of memory");
}

}  // namespace mt
