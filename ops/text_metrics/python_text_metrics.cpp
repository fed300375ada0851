// torch_mt._text's text-metrics functions: sacrebleu's statistics and
// pairwise scores of lists of Python strings, each str read in place by the
// pool's workers (text_metrics.h) with no copy and no
// per-sentence Python. Why that is safe: see read_python_string in
// ops/levenshtein/python_strings.cpp (the caller holds the GIL for the whole fan-out, the
// lists hold a reference to every item, and a str never changes).
//
// Each returns None when it cannot take the arguments as they are (not lists,
// an unknown option, streams of other lengths): the torch operator's path
// then raises its error. A non-str item is a TypeError naming it, here.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <exception>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "rouge.h"
#include "text_metrics.h"

namespace {

using mt::strings::StringView;
namespace tm = mt::text_metrics;

StringView read_item(PyObject* item) {
  if (!PyUnicode_Check(item)) return {nullptr, 0, mt::strings::kUnreadable};
#if PY_VERSION_HEX < 0x030C0000
  if (!PyUnicode_IS_READY(item)) return {nullptr, 0, mt::strings::kUnreadable};
#endif
  return {PyUnicode_DATA(item), PyUnicode_GET_LENGTH(item), static_cast<int>(PyUnicode_KIND(item))};
}

StringView read_list(const void* items, int64_t i) {
  return read_item(static_cast<PyObject* const*>(items)[i]);
}

// Lists held for the fan-out (snapshots as tuples on free-threaded Python,
// where no GIL keeps other threads off the lists).
struct HeldList {
  PyObject* object = nullptr;
  PyObject* const* items = nullptr;
  Py_ssize_t size = 0;

  bool hold(PyObject* list) {
    if (!PyList_CheckExact(list)) return false;
#ifdef Py_GIL_DISABLED
    object = PySequence_Tuple(list);
    if (object == nullptr) return false;
#else
    object = list;
    Py_INCREF(object);
#endif
    items = PySequence_Fast_ITEMS(object);
    size = PySequence_Fast_GET_SIZE(object);
    return true;
  }
  ~HeldList() { Py_XDECREF(object); }
};

// A TypeError for the first item that is not a str; false then.
bool all_strings(const char* op, const HeldList& list, const char* name, int64_t stream) {
  for (Py_ssize_t i = 0; i < list.size; ++i) {
    if (PyUnicode_Check(list.items[i])) continue;
    if (stream < 0) {
      PyErr_Format(PyExc_TypeError, "%s: argument '%s': item %zd must be a str, got %s", op, name,
                   i, Py_TYPE(list.items[i])->tp_name);
    } else {
      PyErr_Format(PyExc_TypeError, "%s: argument '%s': stream %lld item %zd must be a str, got %s",
                   op, name, static_cast<long long>(stream), i, Py_TYPE(list.items[i])->tp_name);
    }
    return false;
  }
  return true;
}

// Hypotheses and reference streams, read stream-major (text_metrics.h).
struct Corpus {
  HeldList hypotheses;
  std::vector<HeldList> streams;
  std::vector<PyObject* const*> stream_items;
  int64_t count = 0;

  // 1: ready; 0: not taken here (None); -1: a Python error is set.
  int take(const char* op, PyObject* hyps, PyObject* refs) {
    if (!hypotheses.hold(hyps) || !PyList_CheckExact(refs)) return 0;
    count = hypotheses.size;
    const Py_ssize_t stream_count = PyList_GET_SIZE(refs);
    if (stream_count == 0 && count > 0) return 0;
    streams.resize(static_cast<size_t>(stream_count));
    for (Py_ssize_t r = 0; r < stream_count; ++r) {
      if (!streams[r].hold(PyList_GET_ITEM(refs, r)) || streams[r].size != count) return 0;
      stream_items.push_back(streams[r].items);
    }
    if (!all_strings(op, hypotheses, "hypotheses", -1)) return -1;
    for (Py_ssize_t r = 0; r < stream_count; ++r) {
      if (!all_strings(op, streams[r], "references", r)) return -1;
    }
    return 1;
  }
  tm::StringSide hypotheses_side() const { return {hypotheses.items, &read_list, "hypotheses"}; }
  tm::StringSide references_side() const { return {this, &read_reference, "references"}; }
  int64_t stream_count() const { return static_cast<int64_t>(streams.size()); }

 private:
  static StringView read_reference(const void* self, int64_t index) {
    const auto* corpus = static_cast<const Corpus*>(self);
    return read_item(corpus->stream_items[index / corpus->count][index % corpus->count]);
  }
};

tm::ChrfOptions chrf_options(long long char_order, long long word_order, long long beta,
                             int lowercase, int whitespace, int eps_smoothing) {
  tm::ChrfOptions options;
  options.char_order = char_order;
  options.word_order = word_order;
  options.beta = beta;
  options.lowercase = lowercase != 0;
  options.whitespace = whitespace != 0;
  options.eps_smoothing = eps_smoothing != 0;
  return options;
}

// Runs a kernel, turning its C++ exceptions into Python's. The kernel
// returns false for an unreadable item (a legacy string before 3.12): None.
template <typename Kernel>
PyObject* run(Kernel kernel, PyObject* result) {
  std::string failure;
  PyObject* failure_type = PyExc_RuntimeError;
  bool read = false;
  try {
    read = kernel();
  } catch (const std::bad_alloc&) {
    failure = "torch_mt: out of memory";
    failure_type = PyExc_MemoryError;
  } catch (const std::exception& error) {
    failure = error.what();
    failure_type = PyExc_ValueError;  // the kernels' only errors: invalid UTF-8
  }
  if (!failure.empty() || !read) {
    Py_DECREF(result);
    if (!failure.empty()) {
      PyErr_SetString(failure_type, failure.c_str());
      return nullptr;
    }
    Py_RETURN_NONE;
  }
  return result;
}

PyObject* bytes_for(int64_t count) {
  return PyByteArray_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(count) * 8);
}
template <typename T>
T* data_of(PyObject* buffer) {
  return reinterpret_cast<T*>(PyByteArray_AS_STRING(buffer));
}

PyObject* bleu_statistics(PyObject*, PyObject* args) {
  PyObject *hyps, *refs;
  const char* tokenize;
  int lowercase;
  if (!PyArg_ParseTuple(args, "OOsp", &hyps, &refs, &tokenize, &lowercase)) return nullptr;
  const auto tokenizer = tm::parse_bleu_tokenizer(tokenize);
  Corpus corpus;
  const int taken = tokenizer ? corpus.take("torch_mt.bleu_statistics", hyps, refs) : 0;
  if (taken <= 0) return taken < 0 ? nullptr : (Py_INCREF(Py_None), Py_None);
  PyObject* out = bytes_for(corpus.count * tm::kBleuColumns);
  if (out == nullptr) return nullptr;
  const tm::BleuOptions options{*tokenizer, lowercase != 0};
  return run(
      [&] {
        return tm::bleu_statistics("torch_mt.bleu_statistics", corpus.hypotheses_side(),
                                   corpus.references_side(), corpus.count, corpus.stream_count(),
                                   options, data_of<int64_t>(out));
      },
      out);
}

PyObject* chrf_statistics(PyObject*, PyObject* args) {
  PyObject *hyps, *refs;
  long long char_order, word_order, beta;
  int lowercase, whitespace, eps_smoothing;
  if (!PyArg_ParseTuple(args, "OOLLLppp", &hyps, &refs, &char_order, &word_order, &beta, &lowercase,
                        &whitespace, &eps_smoothing)) {
    return nullptr;
  }
  const tm::ChrfOptions options =
      chrf_options(char_order, word_order, beta, lowercase, whitespace, eps_smoothing);
  Corpus corpus;  // invalid options: the operator's path names them
  const int taken = options.valid() ? corpus.take("torch_mt.chrf_statistics", hyps, refs) : 0;
  if (taken <= 0) return taken < 0 ? nullptr : (Py_INCREF(Py_None), Py_None);
  PyObject* out = bytes_for(corpus.count * 3 * options.orders());
  if (out == nullptr) return nullptr;
  return run(
      [&] {
        return tm::chrf_statistics("torch_mt.chrf_statistics", corpus.hypotheses_side(),
                                   corpus.references_side(), corpus.count, corpus.stream_count(),
                                   options, data_of<int64_t>(out));
      },
      out);
}

PyObject* ter_statistics(PyObject*, PyObject* args) {
  PyObject *hyps, *refs;
  int normalized, no_punct, asian_support, case_sensitive;
  if (!PyArg_ParseTuple(args, "OOpppp", &hyps, &refs, &normalized, &no_punct, &asian_support,
                        &case_sensitive)) {
    return nullptr;
  }
  Corpus corpus;
  const int taken = corpus.take("torch_mt.ter_statistics", hyps, refs);
  if (taken <= 0) return taken < 0 ? nullptr : (Py_INCREF(Py_None), Py_None);
  PyObject* edits = bytes_for(corpus.count);
  PyObject* lengths = edits == nullptr ? nullptr : bytes_for(corpus.count);
  PyObject* out = lengths == nullptr ? nullptr : Py_BuildValue("(NN)", edits, lengths);
  if (out == nullptr) {
    Py_XDECREF(edits);
    Py_XDECREF(lengths);
    return nullptr;
  }
  const tm::TerOptions options{normalized != 0, no_punct != 0, asian_support != 0,
                               case_sensitive != 0};
  return run(
      [&] {
        return tm::ter_statistics("torch_mt.ter_statistics", corpus.hypotheses_side(),
                                  corpus.references_side(), corpus.count, corpus.stream_count(),
                                  options, data_of<int64_t>(edits), data_of<double>(lengths));
      },
      out);
}

// Two lists of strings for the pairwise functions; 1, 0 or -1 as Corpus::take.
int take_pair(const char* op, PyObject* a, PyObject* b, HeldList& held_a, HeldList& held_b) {
  if (!held_a.hold(a) || !held_b.hold(b)) return 0;
  if (!all_strings(op, held_a, "a", -1) || !all_strings(op, held_b, "b", -1)) return -1;
  return 1;
}

PyObject* pairwise_bleu(PyObject*, PyObject* args) {
  PyObject *a, *b, *smooth_value;
  const char *tokenize, *smooth_method;
  int lowercase, effective_order;
  if (!PyArg_ParseTuple(args, "OOssOpp", &a, &b, &tokenize, &smooth_method, &smooth_value,
                        &lowercase, &effective_order)) {
    return nullptr;
  }
  const auto tokenizer = tm::parse_bleu_tokenizer(tokenize);
  bool valid =
      tokenizer.has_value() && (smooth_value == Py_None || PyFloat_CheckExact(smooth_value));
  std::optional<double> value;
  if (valid && smooth_value != Py_None) value = PyFloat_AS_DOUBLE(smooth_value);
  const auto smoothing = tm::parse_smoothing(smooth_method, value, effective_order != 0);
  valid = valid && smoothing.has_value();
  HeldList held_a, held_b;
  const int taken = valid ? take_pair("torch_mt.pairwise_bleu", a, b, held_a, held_b) : 0;
  if (taken <= 0) return taken < 0 ? nullptr : (Py_INCREF(Py_None), Py_None);
  PyObject* out = bytes_for(static_cast<int64_t>(held_a.size) * held_b.size);
  if (out == nullptr) return nullptr;
  const tm::BleuOptions options{*tokenizer, lowercase != 0};
  return run(
      [&] {
        return tm::bleu_pairwise("torch_mt.pairwise_bleu", {held_a.items, &read_list, "a"},
                                 held_a.size, {held_b.items, &read_list, "b"}, held_b.size, options,
                                 *smoothing, data_of<double>(out));
      },
      out);
}

PyObject* pairwise_chrf(PyObject*, PyObject* args) {
  PyObject *a, *b;
  long long char_order, word_order, beta;
  int lowercase, whitespace, eps_smoothing;
  if (!PyArg_ParseTuple(args, "OOLLLppp", &a, &b, &char_order, &word_order, &beta, &lowercase,
                        &whitespace, &eps_smoothing)) {
    return nullptr;
  }
  const tm::ChrfOptions options =
      chrf_options(char_order, word_order, beta, lowercase, whitespace, eps_smoothing);
  HeldList held_a, held_b;
  const int taken = options.valid() ? take_pair("torch_mt.pairwise_chrf", a, b, held_a, held_b) : 0;
  if (taken <= 0) return taken < 0 ? nullptr : (Py_INCREF(Py_None), Py_None);
  PyObject* out = bytes_for(static_cast<int64_t>(held_a.size) * held_b.size);
  if (out == nullptr) return nullptr;
  return run(
      [&] {
        return tm::chrf_pairwise("torch_mt.pairwise_chrf", {held_a.items, &read_list, "a"},
                                 held_a.size, {held_b.items, &read_list, "b"}, held_b.size, options,
                                 data_of<double>(out));
      },
      out);
}

// ROUGE's type names from a list of str; false (the operator's path then
// names the problem) for anything else.
bool rouge_types_of(PyObject* names, std::vector<tm::RougeType>& types) {
  if (!PyList_CheckExact(names) || PyList_GET_SIZE(names) == 0) return false;
  for (Py_ssize_t t = 0; t < PyList_GET_SIZE(names); ++t) {
    PyObject* name = PyList_GET_ITEM(names, t);
    Py_ssize_t size = 0;
    const char* text = PyUnicode_Check(name) ? PyUnicode_AsUTF8AndSize(name, &size) : nullptr;
    if (text == nullptr) {
      PyErr_Clear();
      return false;
    }
    const auto type = tm::parse_rouge_type(std::string_view(text, static_cast<size_t>(size)));
    if (!type.has_value()) return false;
    types.push_back(*type);
  }
  return true;
}

// Where each prediction's references start (mt::rouge_scores's offsets):
// from a list of counts, or one each for None; false when they do not fit.
bool reference_offsets_of(PyObject* counts, Py_ssize_t count, Py_ssize_t reference_total,
                          std::vector<int64_t>& offsets) {
  offsets.assign(1, 0);
  if (counts == Py_None) {
    for (Py_ssize_t i = 0; i < count; ++i) offsets.push_back(i + 1);
  } else {
    if (!PyList_CheckExact(counts) || PyList_GET_SIZE(counts) != count) return false;
    for (Py_ssize_t i = 0; i < count; ++i) {
      PyObject* item = PyList_GET_ITEM(counts, i);
      const long long n = PyLong_CheckExact(item) ? PyLong_AsLongLong(item) : -1;
      if (n < 1) {
        PyErr_Clear();
        return false;
      }
      offsets.push_back(offsets.back() + n);
    }
  }
  return offsets.back() == reference_total;
}

PyObject* rouge_scores(PyObject*, PyObject* args) {
  PyObject *predictions, *references, *counts, *names;
  int use_stemmer;
  if (!PyArg_ParseTuple(args, "OOOOp", &predictions, &references, &counts, &names, &use_stemmer)) {
    return nullptr;
  }
  constexpr const char* op = "torch_mt.rouge_scores";
  std::vector<tm::RougeType> types;
  std::vector<int64_t> offsets;
  HeldList held_predictions, held_references;
  if (!rouge_types_of(names, types) || !held_predictions.hold(predictions) ||
      !held_references.hold(references) ||
      !reference_offsets_of(counts, held_predictions.size, held_references.size, offsets)) {
    Py_RETURN_NONE;
  }
  if (!all_strings(op, held_predictions, "predictions", -1) ||
      !all_strings(op, held_references, "references", -1)) {
    return nullptr;
  }
  const auto count = static_cast<int64_t>(held_predictions.size);
  PyObject* out = bytes_for(static_cast<int64_t>(types.size()) * count * tm::kRougeFields);
  if (out == nullptr) return nullptr;
  return run(
      [&] {
        return tm::rouge_scores(op, {held_predictions.items, &read_list, "predictions"},
                                {held_references.items, &read_list, "references"}, offsets.data(),
                                count, types, use_stemmer != 0, data_of<double>(out));
      },
      out);
}

PyObject* pairwise_rouge(PyObject*, PyObject* args) {
  PyObject *a, *b;
  const char* name;
  int use_stemmer;
  if (!PyArg_ParseTuple(args, "OOsp", &a, &b, &name, &use_stemmer)) return nullptr;
  const auto type = tm::parse_rouge_type(name);
  HeldList held_a, held_b;
  const int taken = type ? take_pair("torch_mt.pairwise_rouge", a, b, held_a, held_b) : 0;
  if (taken <= 0) return taken < 0 ? nullptr : (Py_INCREF(Py_None), Py_None);
  PyObject* out = bytes_for(static_cast<int64_t>(held_a.size) * held_b.size);
  if (out == nullptr) return nullptr;
  return run(
      [&] {
        return tm::rouge_pairwise("torch_mt.pairwise_rouge", {held_a.items, &read_list, "a"},
                                  held_a.size, {held_b.items, &read_list, "b"}, held_b.size, *type,
                                  use_stemmer != 0, data_of<double>(out));
      },
      out);
}

}  // namespace

// Added to torch_mt._text's own functions (ops/levenshtein/python_strings.cpp).
PyMethodDef text_metrics_methods[] = {
    {"bleu_statistics", bleu_statistics, METH_VARARGS,
     "bleu_statistics(hypotheses, streams, tokenize, lowercase) -> bytearray of int64\n"
     "[N, 10] (mt::bleu_statistics), or None."},
    {"chrf_statistics", chrf_statistics, METH_VARARGS,
     "chrf_statistics(hypotheses, streams, char_order, word_order, beta, lowercase,\n"
     "whitespace, eps_smoothing) -> bytearray of int64 [N, 3 * orders], or None."},
    {"ter_statistics", ter_statistics, METH_VARARGS,
     "ter_statistics(hypotheses, streams, normalized, no_punct, asian_support,\n"
     "case_sensitive) -> (edits: bytearray of int64, ref_lengths: bytearray of float64), or None."},
    {"pairwise_bleu", pairwise_bleu, METH_VARARGS,
     "pairwise_bleu(a, b, tokenize, smooth_method, smooth_value, lowercase,\n"
     "use_effective_order) -> bytearray of float64 [len(a), len(b)], or None."},
    {"pairwise_chrf", pairwise_chrf, METH_VARARGS,
     "pairwise_chrf(a, b, char_order, word_order, beta, lowercase, whitespace,\n"
     "eps_smoothing) -> bytearray of float64 [len(a), len(b)], or None."},
    {"rouge_scores", rouge_scores, METH_VARARGS,
     "rouge_scores(predictions, references, reference_counts, rouge_types, use_stemmer)\n"
     "-> bytearray of float64 [T, N, 3] (mt::rouge_scores), or None."},
    {"pairwise_rouge", pairwise_rouge, METH_VARARGS,
     "pairwise_rouge(a, b, rouge_type, use_stemmer) -> bytearray of float64\n"
     "[len(a), len(b)], or None."},
    {nullptr, nullptr, 0, nullptr},
};
