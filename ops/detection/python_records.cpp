// torch_mt._records: COCO's lists of dicts to columns in one C pass
// (columns), and segm results' compressed RLE strings to one buffer
// (rle_strings).
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
#include <vector>

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

// The value of each wanted key in a dict (nullptr where absent), by one walk
// of its entries; false when `object` is not an exact dict.
bool values_of(PyObject* object, PyObject* keys, KeyCache& cache, PyObject** values) {
  if (!PyDict_CheckExact(object)) {
    return false;
  }
  const Py_ssize_t fields = PyTuple_GET_SIZE(keys);
  Py_ssize_t position = 0, found = 0;
  PyObject *key = nullptr, *value = nullptr;
  while (found < fields && PyDict_Next(object, &position, &key, &value)) {
    const Py_ssize_t f = cache.field_of(key, keys, fields);
    if (f >= 0 && values[f] == nullptr) {
      values[f] = value;
      ++found;
    }
  }
  return true;
}

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
      PyObject* values[16] = {};
      if (!values_of(PyList_GET_ITEM(records, i), keys, key_cache, values)) {
        irregular.store(true, std::memory_order_relaxed);
        return;
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

// What reading one record's compressed RLE costs, about, in ns: the grain.
constexpr int64_t kStringNs = 60;

// rle_strings(records, positions, sizes) -> (chars, char_offsets) or None.
// positions: int64 buffer [N]; sizes: int64 buffer [N, 2] (height, width).
// Record positions[k]['segmentation'] must be a dict whose 'size' is the
// list [height, width] of sizes[k] and whose 'counts' is an ASCII str; the
// strings are returned one after another (bytearray) with their offsets
// (bytearray of N + 1 int64). None when any record is otherwise: the Python
// path then reads them one by one and names the first bad one.
PyObject* rle_strings(PyObject*, PyObject* args) {
  PyObject* records = nullptr;
  Py_buffer positions_buffer, sizes_buffer;
  if (!PyArg_ParseTuple(args, "Oy*y*:rle_strings", &records, &positions_buffer, &sizes_buffer)) {
    return nullptr;
  }
  struct Release {  // the buffers, on every return
    Py_buffer *a, *b;
    ~Release() {
      PyBuffer_Release(a);
      PyBuffer_Release(b);
    }
  } release{&positions_buffer, &sizes_buffer};
  const Py_ssize_t count = positions_buffer.len / static_cast<Py_ssize_t>(sizeof(int64_t));
  if (!PyList_CheckExact(records) || sizes_buffer.len != 2 * positions_buffer.len) {
    Py_RETURN_NONE;
  }
  const auto* positions = static_cast<const int64_t*>(positions_buffer.buf);
  const auto* sizes = static_cast<const int64_t*>(sizes_buffer.buf);
  const Py_ssize_t available = PyList_GET_SIZE(records);
  PyObject* record_keys = Py_BuildValue("(s)", "segmentation");
  PyObject* rle_keys = Py_BuildValue("(ss)", "counts", "size");
  if (record_keys == nullptr || rle_keys == nullptr) {
    Py_XDECREF(record_keys);
    Py_XDECREF(rle_keys);
    return nullptr;
  }
  PyObject* offsets_out = PyByteArray_FromStringAndSize(
      nullptr, (count + 1) * static_cast<Py_ssize_t>(sizeof(int64_t)));
  if (offsets_out == nullptr) {
    Py_DECREF(record_keys);
    Py_DECREF(rle_keys);
    return nullptr;
  }
  auto* offsets = reinterpret_cast<int64_t*>(PyByteArray_AS_STRING(offsets_out));
  std::vector<const char*> texts(static_cast<size_t>(count));
  std::atomic<bool> irregular{false};
  // Pass 1: each record's string and its length (offsets[k + 1] for now).
  const auto find_strings = [&](int64_t first, int64_t last) {
    KeyCache record_cache, rle_cache;
    for (int64_t k = first; k < last && !irregular.load(std::memory_order_relaxed); ++k) {
      const int64_t position = positions[k];
      PyObject* segmentation[1] = {};
      PyObject* rle[2] = {};
      bool regular =
          position >= 0 && position < available &&
          values_of(PyList_GET_ITEM(records, position), record_keys, record_cache, segmentation) &&
          segmentation[0] != nullptr && values_of(segmentation[0], rle_keys, rle_cache, rle) &&
          rle[0] != nullptr && rle[1] != nullptr && PyUnicode_CheckExact(rle[0]) &&
          PyUnicode_IS_COMPACT_ASCII(rle[0]) && PyList_CheckExact(rle[1]) &&
          PyList_GET_SIZE(rle[1]) == 2;
      int64_t height = -1, width = -1;
      regular = regular && PyLong_CheckExact(PyList_GET_ITEM(rle[1], 0)) &&
                PyLong_CheckExact(PyList_GET_ITEM(rle[1], 1)) &&
                read_int(PyList_GET_ITEM(rle[1], 0), &height) &&
                read_int(PyList_GET_ITEM(rle[1], 1), &width) && height == sizes[2 * k] &&
                width == sizes[2 * k + 1];
      if (!regular) {
        irregular.store(true, std::memory_order_relaxed);
        return;
      }
      texts[k] = static_cast<const char*>(PyUnicode_DATA(rle[0]));
      offsets[k + 1] = PyUnicode_GET_LENGTH(rle[0]);
    }
  };
  PyObject* chars_out = nullptr;
  try {
#ifdef Py_GIL_DISABLED
    find_strings(0, count);  // free-threaded Python: no GIL keeps other threads off the dicts
#else
    mt::parallel_for(0, count, mt::grain_for(kStringNs), find_strings);
#endif
    if (!irregular.load()) {
      offsets[0] = 0;
      for (Py_ssize_t k = 0; k < count; ++k) {
        offsets[k + 1] += offsets[k];
      }
      chars_out = PyByteArray_FromStringAndSize(nullptr, offsets[count]);
    }
    if (chars_out != nullptr) {
      char* chars = PyByteArray_AS_STRING(chars_out);
      mt::parallel_for(0, count, mt::grain_for(kStringNs), [&](int64_t first, int64_t last) {
        for (int64_t k = first; k < last; ++k) {
          std::memcpy(chars + offsets[k], texts[k], offsets[k + 1] - offsets[k]);
        }
      });
    }
  } catch (const std::exception& error) {
    Py_XDECREF(chars_out);
    chars_out = nullptr;
    PyErr_SetString(PyExc_RuntimeError, error.what());
  }
  Py_DECREF(record_keys);
  Py_DECREF(rle_keys);
  if (chars_out == nullptr) {
    Py_DECREF(offsets_out);
    if (PyErr_Occurred()) {
      return nullptr;
    }
    Py_RETURN_NONE;
  }
  return Py_BuildValue("(NN)", chars_out, offsets_out);
}

PyMethodDef methods[] = {
    {"columns", columns, METH_VARARGS,
     "columns(records, keys, kinds, list_numbers=0) -> tuple of bytearrays, one per key:\n"
     "the values of that key in every dict of the list `records`, by `kinds` (one letter\n"
     "per key: i int64, r float64, t truth as uint8, b box as 4 float64, l a list of\n"
     "`list_numbers` float64); None when a record is not a dict or a value is missing or\n"
     "of another kind."},
    {"rle_strings", rle_strings, METH_VARARGS,
     "rle_strings(records, positions, sizes) -> (chars, char_offsets) or None: the\n"
     "compressed RLE strings of records[positions[k]]['segmentation'] one after another,\n"
     "each of size sizes[k] (int64 buffers); None when any is not such a dict."},
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
