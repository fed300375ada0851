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

// Asks Linux to back a large output that is not yet written with 2 MiB
// pages (transparent huge pages, where the system leaves it to the process:
// its "madvise" setting). Faulting in fresh 4 KiB pages one at a time was
// half the time of decoding COCO's RLE strings into an 83 MB tensor (50 ->
// 28 ms at 1 thread; 37 -> 15 ms at 2, where the faults also contend). A
// hint: below 32 MiB (blocks malloc serves from its heap, already faulted
// in), elsewhere than Linux, or where refused, nothing changes.
void advise_huge_pages(void* data, size_t bytes);

}  // namespace mt
