// The text-metrics operators: checks, then the kernels of text_metrics.h on
// str[] values (TorchScript, C++, torch.ops from Python), then schemas.
//
// The string operators take no tensor: the dispatcher runs their
// CompositeExplicitAutograd kernel, and torch.compile their Python fakes
// (torch_mt/text_metrics/fakes.py), which call mt::_text_metrics_checks for
// the same errors. References are sacrebleu's: a list of streams, stream r
// holding reference r of every sentence.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include <torch_mt/parallel.h>
#include "text_metrics.h"

namespace mt::text_metrics {
namespace {

using namespace text_metrics;

using Strings = std::vector<std::string>;
using Streams = std::vector<Strings>;

// ---- checks (shared with the fakes through mt::_text_metrics_checks) -------

// Every stream as long as the hypotheses, and at least one stream.
int64_t check_streams(const char* op, int64_t count, c10::IntArrayRef lengths) {
  TORCH_CHECK_VALUE(!lengths.empty() || count == 0, op,
                    ": argument 'references' has no reference stream (give a list of streams, "
                    "each a list of one reference per hypothesis)");
  for (size_t r = 0; r < lengths.size(); ++r) {
    TORCH_CHECK_VALUE(lengths[r] == count, op, ": argument 'references' stream ", r, " has ",
                      lengths[r], " strings but 'hypotheses' has ", count,
                      " (every stream needs one reference per hypothesis)");
  }
  return static_cast<int64_t>(lengths.size());
}

BleuTokenizer check_tokenizer(const char* op, const std::string& name) {
  const auto tokenizer = parse_bleu_tokenizer(name);
  TORCH_CHECK_VALUE(tokenizer.has_value(), op, ": argument 'tokenize' must be one of ",
                    kBleuTokenizers, ", got '", name, "'");
  return *tokenizer;
}

BleuSmoothing check_smoothing(const char* op, const std::string& method,
                              std::optional<double> value, bool effective_order) {
  const auto smoothing = parse_smoothing(method, value, effective_order);
  if (!smoothing.has_value()) {
    TORCH_CHECK_VALUE(!value.has_value() || std::isfinite(*value), op,
                      ": argument 'smooth_value' must be finite, got ", *value);
    TORCH_CHECK_VALUE(false, op, ": argument 'smooth_method' must be one of ", kSmoothingMethods,
                      ", got '", method, "'");
  }
  return *smoothing;
}

ChrfOptions check_chrf(const char* op, int64_t char_order, int64_t word_order, int64_t beta) {
  ChrfOptions options;
  options.char_order = char_order;
  options.word_order = word_order;
  options.beta = beta;
  if (!options.valid()) {
    TORCH_CHECK_VALUE(char_order >= 0, op, ": argument 'char_order' must be >= 0, got ",
                      char_order);
    TORCH_CHECK_VALUE(word_order >= 0, op, ": argument 'word_order' must be >= 0, got ",
                      word_order);
    TORCH_CHECK_VALUE(char_order + word_order >= 1, op,
                      ": arguments 'char_order' and 'word_order' are both 0 (no n-gram to count)");
    TORCH_CHECK_VALUE(false, op, ": argument 'beta' must be in [0, 2**31], got ", beta);
  }
  return options;
}

// mt::_text_metrics_checks: what an operator checks before reading a string,
// for the Python fakes. count < 0: no references (the pairwise operators).
void text_metrics_checks(const std::string& op, int64_t count, c10::IntArrayRef stream_lengths,
                         const std::string& tokenize, const std::string& smooth_method,
                         std::optional<double> smooth_value, int64_t char_order, int64_t word_order,
                         int64_t beta) {
  if (count >= 0) (void)check_streams(op.c_str(), count, stream_lengths);
  (void)check_tokenizer(op.c_str(), tokenize);
  (void)check_smoothing(op.c_str(), smooth_method, smooth_value, true);
  (void)check_chrf(op.c_str(), char_order, word_order, beta);
}

// ---- reading str[] values ----------------------------------------------------

// References stream-major, as text_metrics.h reads them: item r * count + i.
struct FlatStreams {
  const Streams* streams;
  int64_t count;
};
strings::StringView read_stream_string(const void* items, int64_t index) {
  const auto* flat = static_cast<const FlatStreams*>(items);
  return strings::read_std_string((*flat->streams)[index / flat->count].data(),
                                  index % flat->count);
}

struct Sentences {
  int64_t count, streams;
  FlatStreams flat;
  strings::StringSide hypotheses, references;

  Sentences(const char* op, const Strings& hyps, const Streams& refs)
      : count(static_cast<int64_t>(hyps.size())), flat{&refs, std::max<int64_t>(count, 1)} {
    std::vector<int64_t> lengths;
    for (const Strings& stream : refs) lengths.push_back(static_cast<int64_t>(stream.size()));
    streams = check_streams(op, count, lengths);
    hypotheses = {hyps.data(), &strings::read_std_string, "hypotheses"};
    references = {&flat, &read_stream_string, "references"};
  }
};

// ---- kernels -------------------------------------------------------------------

at::Tensor bleu_statistics_cpu(const Strings& hypotheses, const Streams& references,
                               const std::string& tokenize, bool lowercase) {
  constexpr const char* op = "mt::bleu_statistics";
  const Sentences sentences(op, hypotheses, references);
  const BleuOptions options{check_tokenizer(op, tokenize), lowercase};
  at::Tensor stats = at::empty({sentences.count, kBleuColumns}, at::kLong);
  (void)bleu_statistics(op, sentences.hypotheses, sentences.references, sentences.count,
                        sentences.streams, options, stats.data_ptr<int64_t>());
  return stats;
}

at::Tensor chrf_statistics_cpu(const Strings& hypotheses, const Streams& references,
                               int64_t char_order, int64_t word_order, int64_t beta, bool lowercase,
                               bool whitespace, bool eps_smoothing) {
  constexpr const char* op = "mt::chrf_statistics";
  const Sentences sentences(op, hypotheses, references);
  ChrfOptions options = check_chrf(op, char_order, word_order, beta);
  options.lowercase = lowercase;
  options.whitespace = whitespace;
  options.eps_smoothing = eps_smoothing;
  at::Tensor stats = at::empty({sentences.count, 3 * options.orders()}, at::kLong);
  (void)chrf_statistics(op, sentences.hypotheses, sentences.references, sentences.count,
                        sentences.streams, options, stats.data_ptr<int64_t>());
  return stats;
}

std::tuple<at::Tensor, at::Tensor> ter_statistics_cpu(const Strings& hypotheses,
                                                      const Streams& references, bool normalized,
                                                      bool no_punct, bool asian_support,
                                                      bool case_sensitive) {
  constexpr const char* op = "mt::ter_statistics";
  const Sentences sentences(op, hypotheses, references);
  const TerOptions options{normalized, no_punct, asian_support, case_sensitive};
  at::Tensor edits = at::empty({sentences.count}, at::kLong);
  at::Tensor lengths = at::empty({sentences.count}, at::kDouble);
  (void)ter_statistics(op, sentences.hypotheses, sentences.references, sentences.count,
                       sentences.streams, options, edits.data_ptr<int64_t>(),
                       lengths.data_ptr<double>());
  return {edits, lengths};
}

at::Tensor pairwise_bleu_cpu(const Strings& a, const Strings& b, const std::string& tokenize,
                             const std::string& smooth_method, std::optional<double> smooth_value,
                             bool lowercase, bool use_effective_order) {
  constexpr const char* op = "mt::pairwise_bleu";
  const BleuOptions options{check_tokenizer(op, tokenize), lowercase};
  const BleuSmoothing smoothing =
      check_smoothing(op, smooth_method, smooth_value, use_effective_order);
  const auto count_a = static_cast<int64_t>(a.size()), count_b = static_cast<int64_t>(b.size());
  check_allocation(op, "the output", {count_a, count_b}, sizeof(double));
  at::Tensor scores = at::empty({count_a, count_b}, at::kDouble);
  (void)bleu_pairwise(op, {a.data(), &strings::read_std_string, "a"}, count_a,
                      {b.data(), &strings::read_std_string, "b"}, count_b, options, smoothing,
                      scores.data_ptr<double>());
  return scores;
}

at::Tensor pairwise_chrf_cpu(const Strings& a, const Strings& b, int64_t char_order,
                             int64_t word_order, int64_t beta, bool lowercase, bool whitespace,
                             bool eps_smoothing) {
  constexpr const char* op = "mt::pairwise_chrf";
  ChrfOptions options = check_chrf(op, char_order, word_order, beta);
  options.lowercase = lowercase;
  options.whitespace = whitespace;
  options.eps_smoothing = eps_smoothing;
  const auto count_a = static_cast<int64_t>(a.size()), count_b = static_cast<int64_t>(b.size());
  check_allocation(op, "the output", {count_a, count_b}, sizeof(double));
  at::Tensor scores = at::empty({count_a, count_b}, at::kDouble);
  (void)chrf_pairwise(op, {a.data(), &strings::read_std_string, "a"}, count_a,
                      {b.data(), &strings::read_std_string, "b"}, count_b, options,
                      scores.data_ptr<double>());
  return scores;
}

// ---- scores from statistics (tensor in, tensor out: CPU and Meta) -------------

void check_statistics(const char* op, Kernel kernel, const at::Tensor& statistics,
                      int64_t columns) {
  check_devices(op, kernel, {{&statistics, "statistics"}});
  check_dtype(op, statistics, "statistics", at::kLong);
  check_dim(op, statistics, "statistics", 2, "[N, columns]");
  check_size(op, statistics, "statistics", 1, columns, "the statistics' row length is");
}

template <typename Score>
at::Tensor scores_from_rows(const at::Tensor& statistics, Score score) {
  const at::Tensor rows = statistics.contiguous();
  const int64_t count = rows.size(0), columns = rows.size(1);
  at::Tensor out = at::empty({count}, at::kDouble);
  const int64_t* in = rows.data_ptr<int64_t>();
  double* scores = out.data_ptr<double>();
  parallel_for(0, count, grain_for(50), [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) scores[i] = score(in + i * columns);
  });
  return out;
}

at::Tensor bleu_scores_kernel(Kernel kernel, const at::Tensor& statistics,
                              const std::string& smooth_method, std::optional<double> smooth_value,
                              bool use_effective_order) {
  constexpr const char* op = "mt::bleu_scores";
  check_statistics(op, kernel, statistics, kBleuColumns);
  const BleuSmoothing smoothing =
      check_smoothing(op, smooth_method, smooth_value, use_effective_order);
  if (kernel == Kernel::kMeta) {
    return at::empty_symint({statistics.sym_size(0)}, statistics.options().dtype(at::kDouble));
  }
  return scores_from_rows(statistics,
                          [&](const int64_t* row) { return bleu_score(row, smoothing); });
}

at::Tensor chrf_scores_kernel(Kernel kernel, const at::Tensor& statistics, int64_t char_order,
                              int64_t word_order, int64_t beta, bool eps_smoothing) {
  constexpr const char* op = "mt::chrf_scores";
  const ChrfOptions options = check_chrf(op, char_order, word_order, beta);
  check_statistics(op, kernel, statistics, 3 * options.orders());
  if (kernel == Kernel::kMeta) {
    return at::empty_symint({statistics.sym_size(0)}, statistics.options().dtype(at::kDouble));
  }
  return scores_from_rows(statistics, [&](const int64_t* row) {
    return chrf_score(row, options.orders(), beta, eps_smoothing);
  });
}

// mt::_bleu_details: compute_bleu's fields of every row, for corpus_bleu's
// BLEUScore: [N, 15] float64, score, bp, precisions[4], counts[4],
// totals[4], smoothed_orders (BleuDetails).
at::Tensor bleu_details_cpu(const at::Tensor& statistics, const std::string& smooth_method,
                            std::optional<double> smooth_value, bool use_effective_order,
                            bool compensated_sum) {
  constexpr const char* op = "mt::_bleu_details";
  check_statistics(op, Kernel::kCpu, statistics, kBleuColumns);
  const BleuSmoothing smoothing =
      check_smoothing(op, smooth_method, smooth_value, use_effective_order);
  const at::Tensor rows = statistics.contiguous();
  constexpr int64_t kColumns = 15;
  at::Tensor out = at::empty({rows.size(0), kColumns}, at::kDouble);
  const int64_t* in = rows.data_ptr<int64_t>();
  double* fields = out.data_ptr<double>();
  parallel_for(0, rows.size(0), grain_for(200), [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) {
      const BleuDetails details = bleu_details(in + i * kBleuColumns, smoothing, compensated_sum);
      double* row = fields + i * kColumns;
      row[0] = details.score;
      row[1] = details.bp;
      for (int n = 0; n < 4; ++n) {
        row[2 + n] = details.precisions[n];
        row[6 + n] = details.counts[n];
        row[10 + n] = details.totals[n];
      }
      row[14] = details.smoothed_orders;
    }
  });
  return out;
}

template <Kernel kKernel>
at::Tensor bleu_scores_impl(const at::Tensor& statistics, const std::string& smooth_method,
                            std::optional<double> smooth_value, bool use_effective_order) {
  return bleu_scores_kernel(kKernel, statistics, smooth_method, smooth_value, use_effective_order);
}

template <Kernel kKernel>
at::Tensor chrf_scores_impl(const at::Tensor& statistics, int64_t char_order, int64_t word_order,
                            int64_t beta, bool eps_smoothing) {
  return chrf_scores_kernel(kKernel, statistics, char_order, word_order, beta, eps_smoothing);
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def(
      "bleu_statistics(str[] hypotheses, str[][] references, str tokenize=\"13a\", "
      "bool lowercase=False) -> Tensor");
  m.def(
      "chrf_statistics(str[] hypotheses, str[][] references, int char_order=6, int word_order=0, "
      "int beta=2, bool lowercase=False, bool whitespace=False, bool eps_smoothing=False) -> "
      "Tensor");
  m.def(
      "ter_statistics(str[] hypotheses, str[][] references, bool normalized=False, "
      "bool no_punct=False, bool asian_support=False, bool case_sensitive=False) -> "
      "(Tensor, Tensor)");
  m.def(
      "bleu_scores(Tensor statistics, str smooth_method=\"exp\", float? smooth_value=None, "
      "bool use_effective_order=True) -> Tensor");
  m.def(
      "chrf_scores(Tensor statistics, int char_order=6, int word_order=0, int beta=2, "
      "bool eps_smoothing=False) -> Tensor");
  m.def(
      "pairwise_bleu(str[] a, str[] b, str tokenize=\"13a\", str smooth_method=\"exp\", "
      "float? smooth_value=None, bool lowercase=False, bool use_effective_order=True) -> Tensor");
  m.def(
      "pairwise_chrf(str[] a, str[] b, int char_order=6, int word_order=0, int beta=2, "
      "bool lowercase=False, bool whitespace=False, bool eps_smoothing=False) -> Tensor");
  m.def(
      "_bleu_details(Tensor statistics, str smooth_method, float? smooth_value, "
      "bool use_effective_order, bool compensated_sum) -> Tensor");
  m.def(
      "_text_metrics_checks(str op, int count, int[] stream_lengths, str tokenize, "
      "str smooth_method, float? smooth_value, int char_order, int word_order, int beta) -> ()");
}

// The string operators have no tensor argument: the dispatcher runs these,
// and torch.compile their fakes.
TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("bleu_statistics", &bleu_statistics_cpu);
  m.impl("chrf_statistics", &chrf_statistics_cpu);
  m.impl("ter_statistics", &ter_statistics_cpu);
  m.impl("pairwise_bleu", &pairwise_bleu_cpu);
  m.impl("pairwise_chrf", &pairwise_chrf_cpu);
  m.impl("_bleu_details", &bleu_details_cpu);
  m.impl("_text_metrics_checks", &text_metrics_checks);
  // Tensor in, tensor out, registered as every family's are (docs/design.md):
  // a tensor on another device reaches the checks, which name the argument.
  m.impl("bleu_scores", &bleu_scores_impl<Kernel::kCpu>);
  m.impl("chrf_scores", &chrf_scores_impl<Kernel::kCpu>);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) {
  m.impl("bleu_scores", &bleu_scores_impl<Kernel::kMeta>);
  m.impl("chrf_scores", &chrf_scores_impl<Kernel::kMeta>);
}

}  // namespace mt::text_metrics
