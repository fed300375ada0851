// The fan-out every torch_mt operator uses, and the process-wide pool behind it.
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

#include <cstdint>
#include <memory>

#include "thread_pool.h"

namespace mt {

// Upper bound for set_num_threads and TORCH_MT_NUM_THREADS.
constexpr int kMaxThreads = 1024;

// Threads an operator fans out over, the calling thread included.
// First use reads TORCH_MT_NUM_THREADS, else default_num_threads().
int get_num_threads();

// Resizes the pool (takes effect for the next fan-out; running ones finish
// on the pool they started with). Throws c10::Error unless 1 <= n <= kMaxThreads.
void set_num_threads(int num_threads);

// CPUs this process may use: its affinity mask, capped by a cgroup CPU quota.
int default_num_threads();

// The process-wide pool with get_num_threads() - 1 workers. Rebuilt on first
// use in a forked child (the parent's workers do not exist there).
std::shared_ptr<ThreadPool> process_pool();

void parallel_for(
    int64_t begin,
    int64_t end,
    int64_t grain,
    c10::function_ref<void(int64_t, int64_t)> body);

}  // namespace mt
