// torch_mt._text: a list of Python strings to the operators' packed form
// (code points one after another, int32, and int64 lengths) in one C pass.
//
// Why C: the Python route (join, encode, map(len, ...)) costs ~40 ns a string
// per side, as much as the bit-parallel kernel spends on a whole pair; here a
// string costs a type check, a length and a widening copy.
//
// This is the one C++ file that touches Python. It builds into its own
// extension module beside the package (setup.py), never into libtorch_mt.so,
// which C++ programs and TorchScript deployments load without Python; they
// pass strings through the str[] operators instead (ops/edit_distance.cpp).
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>

namespace {

// Widens one string's code units (1, 2 or 4 bytes each, CPython's compact
// storage) to int32. A 2-byte string never holds surrogate pairs: each unit
// is a code point, lone surrogates included, exactly as ord() gives them.
template <typename Unit>
void widen(const void* data, Py_ssize_t length, int32_t* out) {
  const Unit* units = static_cast<const Unit*>(data);
  for (Py_ssize_t i = 0; i < length; ++i) {
    out[i] = static_cast<int32_t>(units[i]);
  }
}

// 1 when every item is a str (subclasses included), with their lengths'
// sum in `total`; 0 when one is not; -1 with a Python error set.
int check_strings(PyObject* const* items, Py_ssize_t count, Py_ssize_t* total) {
  *total = 0;
  for (Py_ssize_t i = 0; i < count; ++i) {
    if (!PyUnicode_Check(items[i])) {
      return 0;
    }
#if PY_VERSION_HEX < 0x030C0000  // strings made by the legacy C API may be unready
    if (PyUnicode_READY(items[i]) < 0) {
      return -1;
    }
#endif
    *total += PyUnicode_GET_LENGTH(items[i]);
  }
  return 1;
}

PyObject* pack_strings(PyObject*, PyObject* sequence) {
  PyObject* fast = PySequence_Fast(sequence, "torch_mt._text.pack_strings: expected a sequence");
  if (fast == nullptr) {
    return nullptr;
  }
  const Py_ssize_t count = PySequence_Fast_GET_SIZE(fast);
  PyObject* const* items = PySequence_Fast_ITEMS(fast);
  Py_ssize_t total = 0;
  const int strings = check_strings(items, count, &total);
  if (strings != 1) {
    Py_DECREF(fast);
    if (strings < 0) {
      return nullptr;
    }
    Py_RETURN_NONE;  // the caller's item-by-item path names the bad item
  }
  PyObject* code_points = PyByteArray_FromStringAndSize(nullptr, total * 4);
  PyObject* lengths = PyByteArray_FromStringAndSize(nullptr, count * 8);
  if (code_points == nullptr || lengths == nullptr) {
    Py_XDECREF(code_points);
    Py_XDECREF(lengths);
    Py_DECREF(fast);
    return nullptr;
  }
  auto* out = reinterpret_cast<int32_t*>(PyByteArray_AS_STRING(code_points));
  auto* out_lengths = reinterpret_cast<int64_t*>(PyByteArray_AS_STRING(lengths));
  // Nothing below calls back into Python, so the list cannot change meanwhile.
  for (Py_ssize_t i = 0; i < count; ++i) {
    PyObject* item = items[i];
    const Py_ssize_t length = PyUnicode_GET_LENGTH(item);
    switch (PyUnicode_KIND(item)) {
      case PyUnicode_1BYTE_KIND: widen<Py_UCS1>(PyUnicode_DATA(item), length, out); break;
      case PyUnicode_2BYTE_KIND: widen<Py_UCS2>(PyUnicode_DATA(item), length, out); break;
      default: widen<Py_UCS4>(PyUnicode_DATA(item), length, out); break;
    }
    out += length;
    out_lengths[i] = length;
  }
  Py_DECREF(fast);
  return Py_BuildValue("(NN)", code_points, lengths);
}

PyObject* all_strings(PyObject*, PyObject* sequence) {
  PyObject* fast = PySequence_Fast(sequence, "torch_mt._text.all_strings: expected a sequence");
  if (fast == nullptr) {
    return nullptr;
  }
  Py_ssize_t total = 0;
  const int strings =
      check_strings(PySequence_Fast_ITEMS(fast), PySequence_Fast_GET_SIZE(fast), &total);
  Py_DECREF(fast);
  return strings < 0 ? nullptr : PyBool_FromLong(strings);
}

PyMethodDef methods[] = {
    {"pack_strings", pack_strings, METH_O,
     "pack_strings(strings) -> (code_points: bytearray of int32, lengths: bytearray of int64),\n"
     "or None when an item is not a str."},
    {"all_strings", all_strings, METH_O, "all_strings(items) -> True when every item is a str."},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "torch_mt._text",
    "Python strings to packed code points.",
    -1,
    methods,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

}  // namespace

PyMODINIT_FUNC PyInit__text() { return PyModule_Create(&module); }
