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
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>
#include <cstring>

namespace {

// A field of each record, where it goes in the output.
enum class Kind { kInt, kReal, kTruth, kNumbers };

struct Field {
  Kind kind;
  Py_ssize_t numbers;  // kNumbers: how many (a box: 4, keypoints: 3 K)
};

bool read_real(PyObject* value, double* out) {
  if (PyFloat_CheckExact(value)) {
    *out = PyFloat_AS_DOUBLE(value);
    return true;
  }
  if (PyLong_Check(value)) {  // Python compares ints and floats exactly; as a double here
    *out = PyLong_AsDouble(value);
    return !(*out == -1.0 && PyErr_Occurred());
  }
  return false;
}

// One field of one record into `out` (an int64, a double, a byte or
// `field.numbers` doubles); false when the value is not of that kind.
bool read_field(PyObject* value, const Field& field, char* out) {
  switch (field.kind) {
    case Kind::kInt: {
      if (!PyLong_Check(value)) {
        return false;
      }
      int overflow = 0;
      const long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
      if (overflow != 0 || (number == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return false;
      }
      const auto v = static_cast<int64_t>(number);
      std::memcpy(out, &v, sizeof v);
      return true;
    }
    case Kind::kReal: {
      double v = 0;
      if (!read_real(value, &v)) {
        PyErr_Clear();
        return false;
      }
      std::memcpy(out, &v, sizeof v);
      return true;
    }
    case Kind::kTruth: {
      const int truth = PyObject_IsTrue(value);
      if (truth < 0) {
        PyErr_Clear();
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
          PyErr_Clear();
          return false;
        }
        std::memcpy(out + k * sizeof number, &number, sizeof number);
      }
      return true;
    }
  }
  return false;
}

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
  // Nothing below calls Python code but for exotic values (a number
  // subclass's __float__, an object's __bool__), so the list is read as is.
  for (Py_ssize_t i = 0; i < count; ++i) {
    PyObject* record = PyList_GET_ITEM(records, i);
    if (!PyDict_CheckExact(record)) {
      Py_DECREF(out);
      Py_RETURN_NONE;
    }
    for (Py_ssize_t f = 0; f < fields; ++f) {
      PyObject* value = PyDict_GetItemWithError(record, PyTuple_GET_ITEM(keys, f));
      const size_t width = width_of(parsed[f]);
      if (value == nullptr || !read_field(value, parsed[f], buffers[f] + width * i)) {
        PyErr_Clear();
        Py_DECREF(out);
        Py_RETURN_NONE;
      }
    }
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
