// Refuse allocations that cannot succeed, before asking for them.
#pragma once

#include <c10/util/ArrayRef.h>

#include <cstddef>
#include <cstdint>

namespace mt {

// Throws c10::Error naming `op` and `what` when a tensor of `sizes` elements
// of `element_size` bytes would overflow int64 or exceed this machine's
// physical memory. (Linux overcommits: such an allocation can "succeed" and
// the process is killed later, when the pages are touched.)
void check_allocation(const char* op, const char* what, c10::IntArrayRef sizes,
                      size_t element_size);

}  // namespace mt
