// torch_mt._records: COCO's lists of dicts to columns in one C pass.
//
// Why C: coco_evaluate's input is a list of dicts, one per annotation (half
// a million detections on COCO val). Reading a field of every dict with
// map(itemgetter(...)) and making a tensor of it costs about 0.3 us a dict
// and a field; here a dict costs a few lookups and conversions, with no
// Python object made per value. The caller holds the GIL throughout.
//
// Anything irregular (a missing key, a value of another type, a bbox that is
// not 4 numbers) returns None: the caller's Python path then names the item
// and the field (torch_mt/detection/coco/records.py).
//
// The records are read on torch_mt's pool while the caller holds the GIL, as
// python_strings.cpp reads strs: no Python code runs meanwhile, so nothing
// changes the list or its dicts. A worker has no Python thread state, so it
// touches only what needs none and runs no Python code: dicts walked with
// PyDict_Next (a lookup may call a key's __eq__), keys compared as exact
// strs, values of the exact built-in types (float, int, bool, None, and
// lists or tuples of numbers), no reference counts, no PyErr_* call.
// Anything else is irregular. The dict pass of 500 000 detections took
// 41 ms on one thread, a fifth of an evaluation from the dicts.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#include <torch_mt/parallel_for.h>

namespace {

// A field of each record, where it goes in the output.
enum class Kind { kInt, kReal, kTruth, kNumbers };

struct Field {
  Kind kind;
  Py_ssize_t numbers;  // kNumbers: how many (a box: 4, keypoints: 3 K)
};

// An exact int's value, or a bool's (Python's bool is an int); false past
// int64 (no exception is set either way).
bool read_int(PyObject* value, int64_t* out) {
  if (PyBool_Check(value)) {
    *out = value == Py_True;
    return true;
  }
  if (!PyLong_CheckExact(value)) {
    return false;
  }
  int overflow = 0;
  const long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
  *out = static_cast<int64_t>(number);
  return overflow == 0;  // an exact int sets no error: only its overflow flag
}

// A float, an int or a bool as a double, as Python compares them. An int past
// int64 is irregular (PyLong_AsDouble would raise past the double range).
// The conversion of an int64 rounds to nearest, ties to even, as
// PyLong_AsDouble does.
bool read_real(PyObject* value, double* out) {
  if (PyFloat_CheckExact(value)) {
    *out = PyFloat_AS_DOUBLE(value);
    return true;
  }
  int64_t number = 0;
  if (!read_int(value, &number)) {
    return false;
  }
  *out = static_cast<double>(number);
  return true;
}

// Python's truth of the built-in values COCO files hold (bool, int, float,
// None, an empty or non-empty list, tuple, dict or str); false (irregular)
// for anything whose truth could run Python code.
bool read_truth(PyObject* value, bool* out) {
  if (PyBool_Check(value) || value == Py_None) {
    *out = value == Py_True;
  } else if (PyFloat_CheckExact(value)) {
    *out = PyFloat_AS_DOUBLE(value) != 0.0;
  } else if (PyLong_CheckExact(value)) {
    int64_t number = 0;
    *out = !read_int(value, &number) || number != 0;  // an int past int64 is not zero
  } else if (PyList_CheckExact(value) || PyTuple_CheckExact(value)) {
    *out = Py_SIZE(value) != 0;
  } else if (PyDict_CheckExact(value)) {
    *out = PyDict_GET_SIZE(value) != 0;
  } else if (PyUnicode_CheckExact(value)) {
    *out = PyUnicode_GET_LENGTH(value) != 0;
  } else {
    return false;
  }
  return true;
}

// One field of one record into `out` (an int64, a double, a byte or
// `field.numbers` doubles); false when the value is not of that kind.
bool read_field(PyObject* value, const Field& field, char* out) {
  switch (field.kind) {
    case Kind::kInt: {
      int64_t v = 0;
      if (!read_int(value, &v)) {
        return false;
      }
      std::memcpy(out, &v, sizeof v);
      return true;
    }
    case Kind::kReal: {
      double v = 0;
      if (!read_real(value, &v)) {
        return false;
      }
      std::memcpy(out, &v, sizeof v);
      return true;
    }
    case Kind::kTruth: {
      bool truth = false;
      if (!read_truth(value, &truth)) {
        return false;
      }
      *out = static_cast<char>(truth);
      return true;
    }
    case Kind::kNumbers: {
      if (!(PyList_CheckExact(value) || PyTuple_CheckExact(value)) ||
          PySequence_Fast_GET_SIZE(value) != field.numbers) {
        return false;
      }
      PyObject** items = PySequence_Fast_ITEMS(value);
      for (Py_ssize_t k = 0; k < field.numbers; ++k) {
        double number = 0;
        if (!read_real(items[k], &number)) {
          return false;
        }
        std::memcpy(out + k * sizeof number, &number, sizeof number);
      }
      return true;
    }
  }
  return false;
}

// Whether `key` (any object) is the exact str `wanted`: by identity (keys
// made by the same code are often one object), else by kind and code units.
bool same_str(PyObject* key, PyObject* wanted) {
  if (key == wanted) {
    return true;
  }
  if (!PyUnicode_CheckExact(key) || PyUnicode_GET_LENGTH(key) != PyUnicode_GET_LENGTH(wanted) ||
      PyUnicode_KIND(key) != PyUnicode_KIND(wanted)) {
    return false;
  }
  return std::memcmp(PyUnicode_DATA(key), PyUnicode_DATA(wanted),
                     static_cast<size_t>(PyUnicode_GET_LENGTH(key)) * PyUnicode_KIND(key)) == 0;
}

// Which wanted field a record's key names, remembered by the key object's
// identity: the dicts of one json.load (or of one comprehension) share their
// key objects, so after the first record a key is found by a pointer
// compare, not by comparing its text with every field's. One per chunk; the
// caller's references keep every key alive (and its address its own) for
// the whole call.
class KeyCache {
 public:
  // The field `key` names (-1: none of them).
  Py_ssize_t field_of(PyObject* key, PyObject* wanted, Py_ssize_t fields) {
    for (int k = 0; k < known_; ++k) {
      if (keys_[k] == key) {
        return fields_[k];
      }
    }
    Py_ssize_t field = -1;
    for (Py_ssize_t f = 0; f < fields && field < 0; ++f) {
      field = same_str(key, PyTuple_GET_ITEM(wanted, f)) ? f : -1;
    }
    if (known_ < kSize) {
      keys_[known_] = key;
      fields_[known_++] = field;
    }
    return field;
  }

 private:
  static constexpr int kSize = 16;
  PyObject* keys_[kSize] = {};
  Py_ssize_t fields_[kSize] = {};
  int known_ = 0;
};

// What reading one field of one record costs, about, in ns: the grain.
constexpr int64_t kRecordNs = 25;

size_t width_of(const Field& field) {
  switch (field.kind) {
    case Kind::kInt:
    case Kind::kReal: return 8;
    case Kind::kTruth: return 1;
    case Kind::kNumbers: return 8 * static_cast<size_t>(field.numbers);
  }
  return 0;
}

// columns(records, keys, kinds, list_numbers=0) -> tuple of bytearrays, one
// per key, or None. kinds: a str of one letter per key: i int64, r float64,
// t truth (uint8), b box (4 float64), l a list of `list_numbers` float64.
PyObject* columns(PyObject*, PyObject* args) {
  PyObject *records = nullptr, *keys = nullptr;
  const char* kinds = nullptr;
  Py_ssize_t list_numbers = 0;
  if (!PyArg_ParseTuple(args, "OOs|n:columns", &records, &keys, &kinds, &list_numbers)) {
    return nullptr;
  }
  if (!PyList_CheckExact(records) || !PyTuple_CheckExact(keys) ||
      PyTuple_GET_SIZE(keys) != static_cast<Py_ssize_t>(std::strlen(kinds))) {
    Py_RETURN_NONE;
  }
  const Py_ssize_t count = PyList_GET_SIZE(records), fields = PyTuple_GET_SIZE(keys);
  Field parsed[16];
  if (fields > 16) {
    Py_RETURN_NONE;
  }
  PyObject* out = PyTuple_New(fields);
  if (out == nullptr) {
    return nullptr;
  }
  char* buffers[16];
  for (Py_ssize_t f = 0; f < fields; ++f) {
    switch (kinds[f]) {
      case 'i': parsed[f] = {Kind::kInt, 0}; break;
      case 'r': parsed[f] = {Kind::kReal, 0}; break;
      case 't': parsed[f] = {Kind::kTruth, 0}; break;
      case 'b': parsed[f] = {Kind::kNumbers, 4}; break;
      case 'l': parsed[f] = {Kind::kNumbers, list_numbers}; break;
      default: Py_DECREF(out); Py_RETURN_NONE;
    }
    if (parsed[f].kind == Kind::kNumbers && parsed[f].numbers <= 0) {
      Py_DECREF(out);
      Py_RETURN_NONE;
    }
    PyObject* column = PyByteArray_FromStringAndSize(
        nullptr, static_cast<Py_ssize_t>(width_of(parsed[f])) * count);
    if (column == nullptr) {
      Py_DECREF(out);
      return nullptr;
    }
    PyTuple_SET_ITEM(out, f, column);
    buffers[f] = PyByteArray_AS_STRING(column);
  }
  for (Py_ssize_t f = 0; f < fields; ++f) {
    PyObject* key = PyTuple_GET_ITEM(keys, f);
    if (!PyUnicode_CheckExact(key)) {
      Py_DECREF(out);
      Py_RETURN_NONE;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(key) < 0) {
      Py_DECREF(out);
      return nullptr;
    }
#endif
  }
  std::atomic<bool> irregular{false};
  const auto read_records = [&](int64_t first, int64_t last) {
    KeyCache key_cache;
    for (int64_t i = first; i < last && !irregular.load(std::memory_order_relaxed); ++i) {
      PyObject* record = PyList_GET_ITEM(records, i);
      if (!PyDict_CheckExact(record)) {
        irregular.store(true, std::memory_order_relaxed);
        return;
      }
      // Each key's value, by one walk of the record's few entries.
      PyObject* values[16] = {};
      Py_ssize_t position = 0, found = 0;
      PyObject *key = nullptr, *value = nullptr;
      while (found < fields && PyDict_Next(record, &position, &key, &value)) {
        const Py_ssize_t f = key_cache.field_of(key, keys, fields);
        if (f >= 0 && values[f] == nullptr) {
          values[f] = value;
          ++found;
        }
      }
      for (Py_ssize_t f = 0; f < fields; ++f) {
        const size_t width = width_of(parsed[f]);
        if (values[f] == nullptr || !read_field(values[f], parsed[f], buffers[f] + width * i)) {
          irregular.store(true, std::memory_order_relaxed);
          return;
        }
      }
    }
  };
#ifdef Py_GIL_DISABLED
  // Free-threaded Python: no GIL keeps other threads off the dicts.
  read_records(0, count);
#else
  try {
    mt::parallel_for(0, count, mt::grain_for(kRecordNs * fields), read_records);
  } catch (const std::exception& error) {
    Py_DECREF(out);
    PyErr_SetString(PyExc_RuntimeError, error.what());
    return nullptr;
  }
#endif
  if (irregular.load()) {
    Py_DECREF(out);
    Py_RETURN_NONE;
  }
  return out;
}

PyMethodDef methods[] = {
    {"columns", columns, METH_VARARGS,
     "columns(records, keys, kinds, list_numbers=0) -> tuple of bytearrays, one per key:\n"
     "the values of that key in every dict of the list `records`, by `kinds` (one letter\n"
     "per key: i int64, r float64, t truth as uint8, b box as 4 float64, l a list of\n"
     "`list_numbers` float64); None when a record is not a dict or a value is missing or\n"
     "of another kind."},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "torch_mt._records",
    "Lists of dicts (COCO annotations) to columns.",
    -1,
    methods,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

}  // namespace

PyMODINIT_FUNC PyInit__records() { return PyModule_Create(&module); }
