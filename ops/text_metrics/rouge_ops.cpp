// The ROUGE operators: checks, then the kernels of rouge.h on str[] values
// (TorchScript, C++, torch.ops from Python), then schemas. As the family's
// other string operators (text_metrics_ops.cpp), they take no tensor: the
// dispatcher runs their CompositeExplicitAutograd kernel, and torch.compile
// their Python fakes (torch_mt/text_metrics/fakes.py), which call
// mt::_rouge_checks for the same errors.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <string>
#include <vector>

#include <torch_mt/parallel.h>
#include "porter_stemmer.h"
#include "rouge.h"

namespace mt::text_metrics {
namespace {

using Strings = std::vector<std::string>;

// ---- checks (shared with the fakes through mt::_rouge_checks) -----------------

// A type named alone (pairwise_rouge's rouge_type).
RougeType check_rouge_type(const char* op, const std::string& name) {
  const auto type = parse_rouge_type(name);
  TORCH_CHECK_VALUE(type.has_value(), op, ": argument 'rouge_type' is '", name,
                    "', which is not one of ", kRougeTypes);
  return *type;
}

std::vector<RougeType> check_rouge_types(const char* op, const std::vector<std::string>& names) {
  TORCH_CHECK_VALUE(!names.empty(), op, ": argument 'rouge_types' is empty (name at least one of ",
                    kRougeTypes, ")");
  std::vector<RougeType> types;
  for (const std::string& name : names) {
    const auto type = parse_rouge_type(name);
    TORCH_CHECK_VALUE(type.has_value(), op, ": argument 'rouge_types' has '", name,
                      "', which is not one of ", kRougeTypes);
    types.push_back(*type);
  }
  return types;
}

// Where each prediction's references start in the flat list, and end:
// reference_counts[i] of them (none 0), or one each when None.
std::vector<int64_t> reference_offsets(const char* op, int64_t count, int64_t reference_total,
                                       at::OptionalIntArrayRef reference_counts) {
  std::vector<int64_t> offsets{0};
  if (reference_counts.has_value()) {
    TORCH_CHECK_VALUE(static_cast<int64_t>(reference_counts->size()) == count, op,
                      ": argument 'reference_counts' has ", reference_counts->size(),
                      " items but 'predictions' has ", count, " (give one per prediction)");
    for (size_t i = 0; i < reference_counts->size(); ++i) {
      const int64_t n = (*reference_counts)[i];
      TORCH_CHECK_VALUE(n > 0, op, ": argument 'reference_counts' item ", i, " is ", n,
                        " (give at least one reference per prediction)");
      offsets.push_back(offsets.back() + n);
    }
  } else {
    for (int64_t i = 0; i < count; ++i) offsets.push_back(i + 1);
  }
  TORCH_CHECK_VALUE(
      offsets.back() == reference_total, op, ": argument 'references' has ", reference_total,
      " strings but ",
      reference_counts.has_value() ? "'reference_counts' sums to " : "'predictions' has ",
      offsets.back(), reference_counts.has_value() ? "" : " (give one reference per prediction)");
  return offsets;
}

// mt::_rouge_checks: the ROUGE operators' checks before reading a string,
// for the Python fakes (pairwise_rouge: count -1, its one rouge_type).
void rouge_checks(const std::string& op, int64_t count, int64_t reference_total,
                  at::OptionalIntArrayRef reference_counts,
                  const std::vector<std::string>& rouge_types) {
  if (count < 0) {
    (void)check_rouge_type(op.c_str(), rouge_types.at(0));
    return;
  }
  (void)check_rouge_types(op.c_str(), rouge_types);
  (void)reference_offsets(op.c_str(), count, reference_total, reference_counts);
}

// ---- kernels -------------------------------------------------------------------

// References flat: prediction i's are the next reference_counts[i] (one
// each when None), so that the common one-reference call passes two str[].
at::Tensor rouge_scores_cpu(const Strings& predictions, const Strings& references,
                            at::OptionalIntArrayRef reference_counts,
                            const std::vector<std::string>& rouge_types, bool use_stemmer) {
  constexpr const char* op = "mt::rouge_scores";
  const auto count = static_cast<int64_t>(predictions.size());
  const std::vector<RougeType> types = check_rouge_types(op, rouge_types);
  const std::vector<int64_t> offsets =
      reference_offsets(op, count, static_cast<int64_t>(references.size()), reference_counts);
  const auto type_count = static_cast<int64_t>(types.size());
  check_allocation(op, "the output", {type_count, count, kRougeFields}, sizeof(double));
  at::Tensor scores = at::empty({type_count, count, kRougeFields}, at::kDouble);
  (void)rouge_scores(op, {predictions.data(), &strings::read_std_string, "predictions"},
                     {references.data(), &strings::read_std_string, "references"}, offsets.data(),
                     count, types, use_stemmer, scores.data_ptr<double>());
  return scores;
}

at::Tensor pairwise_rouge_cpu(const Strings& a, const Strings& b, const std::string& rouge_type,
                              bool use_stemmer) {
  constexpr const char* op = "mt::pairwise_rouge";
  const RougeType type = check_rouge_type(op, rouge_type);
  const auto count_a = static_cast<int64_t>(a.size()), count_b = static_cast<int64_t>(b.size());
  check_allocation(op, "the output", {count_a, count_b}, sizeof(double));
  at::Tensor scores = at::empty({count_a, count_b}, at::kDouble);
  (void)rouge_pairwise(op, {a.data(), &strings::read_std_string, "a"}, count_a,
                       {b.data(), &strings::read_std_string, "b"}, count_b, type, use_stemmer,
                       scores.data_ptr<double>());
  return scores;
}

// mt::_porter_stem: ROUGE's stemmer alone, for the tests that hold it
// against NLTK's word by word.
std::vector<std::string> porter_stems(const std::vector<std::string>& words) {
  constexpr const char* op = "mt::_porter_stem";
  for (size_t i = 0; i < words.size(); ++i) {
    for (const char c : words[i]) {
      TORCH_CHECK_VALUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'), op,
                        ": argument 'words' item ", i, " is '", words[i],
                        "': the stemmer takes ROUGE's tokens, lowercase ASCII letters and digits");
    }
  }
  std::vector<std::string> stems(words.size());
  parallel_for(0, static_cast<int64_t>(words.size()), grain_for(200),
               [&](int64_t first, int64_t last) {
                 for (int64_t i = first; i < last; ++i) porter_stem(words[i], stems[i]);
               });
  return stems;
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def(
      "rouge_scores(str[] predictions, str[] references, int[]? reference_counts, "
      "str[] rouge_types, bool use_stemmer=False) -> Tensor");
  m.def(
      "pairwise_rouge(str[] a, str[] b, str rouge_type=\"rougeL\", bool use_stemmer=False) -> "
      "Tensor");
  m.def("_porter_stem(str[] words) -> str[]");
  m.def(
      "_rouge_checks(str op, int count, int reference_total, int[]? reference_counts, "
      "str[] rouge_types) -> ()");
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("rouge_scores", &rouge_scores_cpu);
  m.impl("pairwise_rouge", &pairwise_rouge_cpu);
  m.impl("_rouge_checks", &rouge_checks);
  m.impl("_porter_stem", &porter_stems);
}

}  // namespace mt::text_metrics
