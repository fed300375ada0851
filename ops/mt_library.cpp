// The `mt` operator library itself: the Python module stub that loads it and
// the runtime's own operators. Operators add to it with TORCH_LIBRARY_FRAGMENT.
#include <Python.h>
#include <torch/library.h>

#include "runtime/parallel.h"

// `from torch_mt import _C` loads this shared object, which runs every
// TORCH_LIBRARY block in it; the module itself is empty.
extern "C" PyObject* PyInit__C(void) {
  static PyModuleDef module = {
      .m_base = PyModuleDef_HEAD_INIT,
      .m_name = "_C",
      .m_doc = "torch_mt operators; use torch.ops.mt.*",
      .m_size = -1,
      .m_methods = nullptr,
      .m_slots = nullptr,
      .m_traverse = nullptr,
      .m_clear = nullptr,
      .m_free = nullptr,
  };
  return PyModule_Create(&module);
}

namespace {
int64_t get_num_threads_op() { return mt::get_num_threads(); }
void set_num_threads_op(int64_t num_threads) { mt::set_num_threads(num_threads); }
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
}
