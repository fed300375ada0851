// The `mt` operator library itself: its TORCH_LIBRARY block, with the
// runtime's own operators. Operator files add to it with
// TORCH_LIBRARY_FRAGMENT. Nothing in the library uses Python (only the families'
// ops/<family>/python_*.cpp do, built into extension modules of their own): loading libtorch_mt.so
// registers everything, from Python or from C++.
#include <torch/library.h>

#include <string>

#include <torch_mt/parallel.h>

namespace {
int64_t get_num_threads_op() { return mt::get_num_threads(); }
void set_num_threads_op(int64_t num_threads) { mt::set_num_threads(num_threads); }
std::optional<int64_t> chosen_num_threads_op() { return mt::chosen_num_threads(); }
void reset_num_threads_op() { mt::reset_num_threads(); }
std::string simd_isa_op() {
  switch (mt::simd::isa()) {
    case mt::simd::Isa::avx512: return "avx512";
    case mt::simd::Isa::avx2: return "avx2";
    case mt::simd::Isa::portable: break;
  }
  return "portable";
}
}  // namespace

// Both read or write process state, so TorchScript must neither drop a call
// whose result is unused nor merge two calls: CONSERVATIVE alias analysis
// marks them as having side effects.
TORCH_LIBRARY(mt, m) {
  m.def(torch::schema("get_num_threads() -> int", c10::AliasAnalysisKind::CONSERVATIVE),
        &get_num_threads_op);
  m.def(
      torch::schema("set_num_threads(int num_threads) -> ()", c10::AliasAnalysisKind::CONSERVATIVE),
      &set_num_threads_op);
  m.def(torch::schema("chosen_num_threads() -> int?", c10::AliasAnalysisKind::CONSERVATIVE),
        &chosen_num_threads_op);
  m.def(torch::schema("reset_num_threads() -> ()", c10::AliasAnalysisKind::CONSERVATIVE),
        &reset_num_threads_op);
  // Decided once per process (simd::isa()): a pure function for TorchScript.
  m.def("simd_isa() -> str", &simd_isa_op);
}
