// torch_mt._text: a list of Python strings to the operators' packed form
// (code points one after another, 1, 2 or 4 bytes each, and int64 lengths)
// in one C pass.
//
// Why C: the Python route (join, encode, map(len, ...)) costs ~40 ns a string
// per side, as much as the bit-parallel kernel spends on a whole pair; here a
// string costs a type check, a length and a widening copy.
//
// edit_distances(): the row-wise edit distance of two lists of strings with
// no copy at all: the library's pool reads each str where it lies
// (string_distances.h).
//
// ops/text_metrics/python_text_metrics.cpp adds the text-metrics family's
// functions to this module.
//
// The ops/<family>/python_*.cpp files (this one, python_text_metrics.cpp and
// ops/detection/python_records.cpp: COCO's dicts, torch_mt._records) are the only
// C++ that touches Python. They build into extension modules of their own beside the
// package (setup.py), never into libtorch_mt.so,
// which C++ programs and TorchScript deployments load without Python; they
// pass strings through the str[] operators instead (edit_distance_text.cpp).
// This module links the library (for the pool and the kernels), not the reverse.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "string_distances.h"

namespace {

// Copies one string's code units (1, 2 or 4 bytes each, CPython's compact
// storage) into units of `Out`, widening. A 2-byte string never holds
// surrogate pairs: each unit is a code point, lone surrogates included,
// exactly as ord() gives them.
template <typename Unit, typename Out>
void widen(const void* data, Py_ssize_t length, Out* out) {
  if constexpr (sizeof(Unit) == sizeof(Out)) {
    // Same width: a plain copy (a widening loop over ~40 units a string
    // costs three times as much; memcpy moves them in a few wide stores).
    std::memcpy(out, data, static_cast<size_t>(length) * sizeof(Out));
  } else {
    const Unit* units = static_cast<const Unit*>(data);
    for (Py_ssize_t i = 0; i < length; ++i) {
      out[i] = static_cast<Out>(units[i]);
    }
  }
}

// Every string's code units appended to `out` as `Out` (wide enough for
// every string: the caller checked their kinds), lengths into `lengths`.
template <typename Out>
void copy_strings(PyObject* const* items, Py_ssize_t count, Out* out, int64_t* lengths) {
  for (Py_ssize_t i = 0; i < count; ++i) {
    PyObject* item = items[i];
    const Py_ssize_t length = PyUnicode_GET_LENGTH(item);
    const void* data = PyUnicode_DATA(item);
    switch (PyUnicode_KIND(item)) {
      case PyUnicode_1BYTE_KIND: widen<Py_UCS1>(data, length, out); break;
      case PyUnicode_2BYTE_KIND: widen<Py_UCS2>(data, length, out); break;
      default: widen<Py_UCS4>(data, length, out); break;
    }
    out += length;
    lengths[i] = length;
  }
}

// The bytes a code point of these strings needs (1, 2 or 4: the widest
// string's storage kind; 1 for no strings) and their total length; 0 when
// an item is not a str (subclasses are); -1 with a Python error set.
int scan_strings(PyObject* const* items, Py_ssize_t count, Py_ssize_t* total) {
  *total = 0;
  int width = 1;
  for (Py_ssize_t i = 0; i < count; ++i) {
    if (!PyUnicode_Check(items[i])) {
      return 0;
    }
#if PY_VERSION_HEX < 0x030C0000  // strings made by the legacy C API may be unready
    if (PyUnicode_READY(items[i]) < 0) {
      return -1;
    }
#endif
    width = std::max(width, static_cast<int>(PyUnicode_KIND(items[i])));
    *total += PyUnicode_GET_LENGTH(items[i]);
  }
  return width;
}

// pack_strings(strings, width=0): see the method table.
PyObject* pack_strings(PyObject*, PyObject* args) {
  PyObject* sequence = nullptr;
  int width = 0;
  if (!PyArg_ParseTuple(args, "O|i:pack_strings", &sequence, &width)) {
    return nullptr;
  }
  if (width != 0 && width != 1 && width != 2 && width != 4) {
    PyErr_Format(PyExc_ValueError, "pack_strings: width must be 0, 1, 2 or 4, got %d", width);
    return nullptr;
  }
  PyObject* fast = PySequence_Fast(sequence, "pack_strings: expected a sequence");
  if (fast == nullptr) {
    return nullptr;
  }
  const Py_ssize_t count = PySequence_Fast_GET_SIZE(fast);
  PyObject* const* items = PySequence_Fast_ITEMS(fast);
  Py_ssize_t total = 0;
  const int needed = scan_strings(items, count, &total);
  if (needed <= 0 || (width != 0 && needed > width)) {
    Py_DECREF(fast);
    if (needed < 0) {
      return nullptr;
    }
    if (needed > 0) {
      PyErr_Format(PyExc_ValueError,
                   "pack_strings: a code point needs %d bytes, more than width=%d", needed, width);
      return nullptr;
    }
    Py_RETURN_NONE;  // the caller's item-by-item path names the bad item
  }
  width = width == 0 ? needed : width;
  PyObject* code_points = PyByteArray_FromStringAndSize(nullptr, total * width);
  PyObject* lengths = PyByteArray_FromStringAndSize(nullptr, count * 8);
  if (code_points == nullptr || lengths == nullptr) {
    Py_XDECREF(code_points);
    Py_XDECREF(lengths);
    Py_DECREF(fast);
    return nullptr;
  }
  // Nothing below calls back into Python, so the list cannot change meanwhile.
  char* out = PyByteArray_AS_STRING(code_points);
  auto* out_lengths = reinterpret_cast<int64_t*>(PyByteArray_AS_STRING(lengths));
  switch (width) {
    case 1: copy_strings(items, count, reinterpret_cast<uint8_t*>(out), out_lengths); break;
    case 2: copy_strings(items, count, reinterpret_cast<uint16_t*>(out), out_lengths); break;
    default: copy_strings(items, count, reinterpret_cast<int32_t*>(out), out_lengths); break;
  }
  Py_DECREF(fast);
  return Py_BuildValue("(NNi)", code_points, lengths, width);
}

PyObject* string_width(PyObject*, PyObject* sequence) {
  PyObject* fast = PySequence_Fast(sequence, "string_width: expected a sequence");
  if (fast == nullptr) {
    return nullptr;
  }
  Py_ssize_t total = 0;
  const int width =
      scan_strings(PySequence_Fast_ITEMS(fast), PySequence_Fast_GET_SIZE(fast), &total);
  Py_DECREF(fast);
  return width < 0 ? nullptr : PyLong_FromLong(width);
}

// A str of a list, read in place by a worker thread. Safe without taking the
// GIL because the calling thread holds it for the whole fan-out: no Python
// code runs meanwhile, so the list cannot change, it holds a reference to
// each item, and a str's kind, length and code units never change after it
// is made. Nothing here writes to an object (no reference count changes).
// Not a str, or (before Python 3.12) a legacy string not yet in its compact
// form: unreadable, and the caller's item-by-item path takes the batch.
mt::strings::StringView read_python_string(const void* items, int64_t i) {
  PyObject* item = static_cast<PyObject* const*>(items)[i];
  if (!PyUnicode_Check(item)) {
    return {nullptr, 0, mt::strings::kUnreadable};
  }
#if PY_VERSION_HEX < 0x030C0000
  if (!PyUnicode_IS_READY(item)) {
    return {nullptr, 0, mt::strings::kUnreadable};
  }
#endif
  return {PyUnicode_DATA(item), PyUnicode_GET_LENGTH(item), static_cast<int>(PyUnicode_KIND(item))};
}

// edit_distances(a, b, bound): see the method table.
PyObject* edit_distances(PyObject*, PyObject* args) {
  PyObject *a = nullptr, *b = nullptr;
  long long bound = 0;
  if (!PyArg_ParseTuple(args, "OOL:edit_distances", &a, &b, &bound)) {
    return nullptr;
  }
  if (!PyList_CheckExact(a) || !PyList_CheckExact(b) || PyList_GET_SIZE(a) != PyList_GET_SIZE(b) ||
      bound < 0) {
    Py_RETURN_NONE;
  }
#ifdef Py_GIL_DISABLED
  // Free-threaded Python: no GIL keeps other threads off the lists, so the
  // workers read a snapshot that holds its own references.
  a = PySequence_Tuple(a);
  b = a == nullptr ? nullptr : PySequence_Tuple(b);
  if (b == nullptr) {
    Py_XDECREF(a);
    return nullptr;
  }
#endif
  PyObject* const* a_items = PySequence_Fast_ITEMS(a);
  PyObject* const* b_items = PySequence_Fast_ITEMS(b);
  const Py_ssize_t count = PySequence_Fast_GET_SIZE(a);
  PyObject* distances = PyByteArray_FromStringAndSize(nullptr, count * 8);
  bool read = false;
  std::string failure;  // a copy: the exception's what() dies with it
  PyObject* failure_type = PyExc_RuntimeError;
  if (distances != nullptr) {
    try {
      read = mt::levenshtein::edit_distances(
          "torch_mt.edit_distance", {a_items, &read_python_string, "a"},
          {b_items, &read_python_string, "b"}, count, bound,
          reinterpret_cast<int64_t*>(PyByteArray_AS_STRING(distances)));
    } catch (const std::bad_alloc&) {
      failure = "torch_mt.edit_distance: out of memory";
      failure_type = PyExc_MemoryError;
    } catch (const std::exception& error) {
      failure = error.what();  // copied into the string
    }
  }
#ifdef Py_GIL_DISABLED
  Py_DECREF(a);
  Py_DECREF(b);
#endif
  if (distances == nullptr) {
    return nullptr;
  }
  if (!failure.empty() || !read) {
    Py_DECREF(distances);
    if (!failure.empty()) {
      PyErr_SetString(failure_type, failure.c_str());
      return nullptr;
    }
    Py_RETURN_NONE;
  }
  return distances;
}

PyMethodDef methods[] = {
    {"pack_strings", pack_strings, METH_VARARGS,
     "pack_strings(strings, width=0) -> (code_points: bytearray, lengths: bytearray of\n"
     "int64, width), or None when an item is not a str. Each code point takes `width`\n"
     "bytes (native order; 1 and 2 unsigned, 4 signed int32); width=0 picks the\n"
     "narrowest that holds them all. ValueError when a string needs more than width.\n"},
    {"string_width", string_width, METH_O,
     "string_width(items) -> the bytes a code point of these strings needs (1, 2\n"
     "or 4; 1 when empty), or 0 when an item is not a str."},
    {"edit_distances", edit_distances, METH_VARARGS,
     "edit_distances(a, b, bound) -> bytearray of int64: min(distance(a[i], b[i]), bound + 1)\n"
     "by code point, pairs in parallel on torch_mt's pool, each str read in place; None\n"
     "unless a and b are lists of as many str and bound >= 0 (the caller's general path\n"
     "then names what is wrong)."},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "torch_mt._text",
    "Python strings to packed code points, and edit distances of strings read in place.",
    -1,
    methods,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

}  // namespace

// The text-metrics family's functions (text_metrics.cpp).
extern PyMethodDef text_metrics_methods[];

PyMODINIT_FUNC PyInit__text() {
  PyObject* text = PyModule_Create(&module);
  if (text != nullptr && PyModule_AddFunctions(text, text_metrics_methods) < 0) {
    Py_DECREF(text);
    return nullptr;
  }
  return text;
}
