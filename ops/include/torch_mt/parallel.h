// <torch_mt/parallel.h>: the torch_mt runtime, as every operator uses it.
//
// One include gives what each built-in kernel is written with; the built-in
// operators include this header and nothing else of the runtime, so a user's
// operator has exactly their API (docs/custom_ops.md walks through one):
//
//   mt::parallel_for(begin, end, grain, body)   fan out over the process pool
//   mt::get_num_threads() / set_num_threads(n)  the one thread setting
//   mt::grain_for(item_ns)                      grain from a per-item cost in ns
//   mt::ItemErrors                              per-item errors, lowest item wins
//   mt::ItemLengths                             optional per-item lengths [B]
//   mt::contiguous_on_pool(t, op, arg)          inputs made contiguous on the pool
//   mt::check_*                                 argument checks naming op and argument
//   mt::check_allocation(...)                   refuse outputs that cannot fit
//   mt::advise_huge_pages(data, bytes)          back a large fresh output with 2 MiB pages
//   mt::simd::isa(), simd::dispatch(isa, body)  the instruction set, decided once, and a
//                                               body run compiled for it (simd.h; the
//                                               TORCH_MT_DISABLE_AVX512 / _SIMD switches)
//   mt::strings::StringSide, append_code_points strings read in place (str[], Python str)
//
// Linking: every library that includes this header links libtorch_mt.so
// (torch_mt.cpp_extension and find_package(TorchMT) do it), so a process has
// one pool, one thread setting and one fork handler, whoever calls it.
//
// The contract of a fan-out body (parallel_for.h words each rule):
//  - May touch: its own indices' inputs (read-only, shared by all chunks) and
//    outputs (written by this chunk only), plus its own locals and scratch.
//    Shared mutable state needs its own synchronisation (a data race here is
//    undefined behaviour; the TSan build, `make sanitize`, finds it).
//  - Nesting: a parallel_for inside a body runs inline on that thread.
//    ATen calls inside a body run with ATen's intra-op threads at 1.
//  - Errors: throw (TORCH_CHECK_VALUE / TORCH_CHECK_TYPE: Python's ValueError /
//    TypeError) from the body; the caller gets the first
//    chunk's exception after every chunk stopped. With ItemErrors it gets the
//    lowest failing item's, the same for any thread count.
//  - Determinism: chunk boundaries change with the thread count, so results
//    must not depend on them: compute each output from its own item only and
//    never reduce floats across chunks (reduce per item, or in a fixed order
//    after the fan-out). torch_mt.testing checks this bitwise.
#pragma once

#include "allocation.h"
#include "checks.h"
#include "contiguous.h"
#include "item_errors.h"
#include "lengths.h"
#include "parallel_for.h"
#include "simd.h"
#include "strings.h"
