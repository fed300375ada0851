// The fan-out every torch_mt operator uses, and the process-wide pool behind it
// (included by <torch_mt/parallel.h>, the header operators include).
//
//   mt::parallel_for(0, batch, /*grain=*/8, [&](int64_t first, int64_t last) {
//     for (int64_t i = first; i < last; ++i) out[i] = work(i);
//   });
//
// Contract (docs/design.md explains each rule and what it costs):
//  - body(first, last) is called on disjoint contiguous chunks covering
//    [begin, end); chunks are claimed dynamically, so skewed work balances.
//  - The calling thread runs chunks too; it returns only after every chunk
//    has finished, so `body` may reference the caller's stack.
//  - Inline (one call to body on the whole range) when the range is at most
//    `grain`, when the pool has one thread, or inside another fan-out's
//    chunk (nesting: the outer loop already uses every thread).
//  - The first exception thrown by any chunk is rethrown in the caller after
//    all chunks have stopped; chunks not yet started are skipped.
//  - Workers run with the caller's PyTorch thread-local state (grad mode,
//    inference mode, autocast, ...) and with ATen's intra-op threads at 1.
//  - Chunk boundaries depend on the thread count: a body must write only
//    outputs owned by its indices, never combine floats across chunks.
#pragma once

#include <c10/util/FunctionRef.h>

#include <algorithm>
#include <cstdint>
#include <memory>

#include <optional>

#include "thread_pool.h"

namespace mt {

// Upper bound for set_num_threads and TORCH_MT_NUM_THREADS.
constexpr int kMaxThreads = 1024;

// Threads an operator fans out over, the calling thread included:
// set_num_threads's count, else TORCH_MT_NUM_THREADS, else
// default_num_threads(), checked again on every fan-out (the allocation can
// change under a process: a Ray worker runs tasks of different sizes).
int get_num_threads();

// Resizes the pool (takes effect for the next fan-out; running ones finish
// on the pool they started with). Throws c10::ValueError (Python: ValueError)
// unless 1 <= num_threads <= kMaxThreads: the one range check of a thread count.
void set_num_threads(int64_t num_threads);

// The count set by set_num_threads or TORCH_MT_NUM_THREADS; nullopt while the
// count follows the allocation (default_num_threads()).
std::optional<int64_t> chosen_num_threads();

// Forgets a count set by set_num_threads: the count is TORCH_MT_NUM_THREADS
// again if that is set, else it follows the allocation again. What a scoped
// override restores when there was no chosen count before it.
void reset_num_threads();

// CPUs this process may use: its affinity mask, capped by a cgroup CPU quota
// and by OMP_NUM_THREADS when that is set (Ray sets it to a task's num_cpus).
int default_num_threads();

// The process-wide pool with get_num_threads() - 1 workers. Rebuilt on first
// use in a forked child (the parent's workers do not exist there).
std::shared_ptr<ThreadPool> process_pool();

// ---- grain from a cost model ------------------------------------------------
//
// Waking a sleeping helper costs 15-65 us on a 2-core VM, so a chunk must
// hold a few tens of microseconds of work to pay for one. Kernels estimate
// what one item costs in nanoseconds (a per-op constant per cell, test or
// step, times the item's size) and pass grain_for(item_ns) as the grain.
constexpr int64_t kChunkWorkNs = int64_t{1} << 15;  // about 33 us

// Items per chunk when one item costs about `item_ns` nanoseconds (>= 1).
inline int64_t grain_for(int64_t item_ns) {
  return std::max<int64_t>(1, kChunkWorkNs / std::max<int64_t>(1, item_ns));
}

void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  c10::function_ref<void(int64_t, int64_t)> body);

}  // namespace mt
