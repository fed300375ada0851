#include <torch_mt/allocation.h>

#include <c10/util/Exception.h>
#include <unistd.h>

#include <cstdint>

#ifdef __linux__
#include <sys/mman.h>
#endif

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

void advise_huge_pages(void* data, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHugePage = uintptr_t{1} << 21;
  // Smaller blocks come from malloc's heap once a block of their size was
  // freed (glibc raises its mmap threshold up to 32 MiB), pages already
  // faulted in; advising them only invites the kernel to compact memory.
  constexpr size_t kFreshMapping = size_t{32} << 20;
  if (bytes < kFreshMapping) {
    return;
  }
  // The whole huge pages inside the output: madvise needs page-aligned
  // ranges, and a huge page is only ever placed at a 2 MiB boundary.
  const uintptr_t start = (reinterpret_cast<uintptr_t>(data) + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(kHugePage - 1);
  if (end > start) {
    madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);  // a hint: errors ignored
  }
#else
  (void)data;
  (void)bytes;
#endif
}

}  // namespace mt
