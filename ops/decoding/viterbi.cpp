// mt::viterbi_decode: the best tag sequence of a linear-chain CRF / HMM, per item.
//
//   emissions   [B, T, K] float32|float64: score of tag k at step t
//   transitions [K, K], same dtype: score of moving from tag i to tag j
//   lengths     [B] int64, optional: item b uses steps [0, lengths[b])
//   start, end  [K], optional: scores of the first and of the last tag
//   -> tags   int64 [B, T]: the best path, -1 past each length
//      scores [B], emissions' dtype: its total score
//                                   (start + emissions + transitions + end)
//
// -inf scores forbid a tag or a move (BIO constraints); NaN and +inf are
// errors. Scores accumulate in float64. Ties go to the lower tag index, both
// for the best previous tag and for the best last tag. Items fan out over the
// pool; each item's recursion over time is sequential.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include <torch_mt/parallel.h>

namespace mt::decoding {
namespace {

constexpr const char* kOp = "mt::viterbi_decode";
constexpr double kMinusInf = -std::numeric_limits<double>::infinity();

// One (previous tag, tag) pair of one step costs about 1 ns here.
constexpr int64_t kPairNs = 1;

void check_arguments(Kernel kernel, const at::Tensor& emissions, const at::Tensor& transitions,
                     const std::optional<at::Tensor>& lengths,
                     const std::optional<at::Tensor>& start, const std::optional<at::Tensor>& end) {
  check_devices(kOp, kernel,
                {{&emissions, "emissions"},
                 {&transitions, "transitions"},
                 {if_present(lengths), "lengths"},
                 {if_present(start), "start"},
                 {if_present(end), "end"}});
  check_dim(kOp, emissions, "emissions", 3, "[B, T, K]");
  check_floating(kOp, emissions, "emissions");
  const c10::SymInt tags = emissions.sym_size(2);
  check_dim(kOp, transitions, "transitions", 2, "[K, K]");
  check_dtype(kOp, transitions, "transitions", emissions.scalar_type());
  check_size(kOp, transitions, "transitions", 0, tags, "the number of tags K of 'emissions' is");
  check_size(kOp, transitions, "transitions", 1, tags, "the number of tags K of 'emissions' is");
  for (const auto& [boundary, name] : {std::pair{&start, "start"}, std::pair{&end, "end"}}) {
    if (boundary->has_value()) {
      check_dim(kOp, **boundary, name, 1, "[K]");
      check_dtype(kOp, **boundary, name, emissions.scalar_type());
      check_size(kOp, **boundary, name, 0, tags, "the number of tags K of 'emissions' is");
    }
  }
  check_lengths_argument(kOp, lengths, "lengths", emissions.sym_size(0),
                         "the batch size of 'emissions' is");
}

// Refuses NaN and +inf among `count` scores; `name` names them in the message.
template <typename scalar_t, typename Name>
void check_scores(const scalar_t* values, int64_t count, const Name& name) {
  for (int64_t i = 0; i < count; ++i) {
    TORCH_CHECK_VALUE(
        !std::isnan(values[i]) && values[i] != std::numeric_limits<scalar_t>::infinity(), kOp, ": ",
        name, " contains ", std::isnan(values[i]) ? "NaN" : "+inf",
        "; scores must be finite or -inf (forbidden)");
  }
}

// Names emissions[b] in messages.
struct ItemName {
  int64_t item;
};

std::ostream& operator<<(std::ostream& out, const ItemName& name) {
  return out << "emissions[" << name.item << "]";
}

// A float32|float64 tensor of the model as a flat float64 copy, converted in
// the caller ([K, K] at most: too little to fan out), checked for NaN / +inf.
std::vector<double> model_scores(const at::Tensor& tensor, const char* name) {
  const at::Tensor contiguous = contiguous_on_pool(tensor, kOp, name);
  std::vector<double> values;
  AT_DISPATCH_FLOATING_TYPES(tensor.scalar_type(), kOp, [&] {
    const scalar_t* data = contiguous.const_data_ptr<scalar_t>();
    values.assign(data, data + contiguous.numel());
  });
  check_scores(values.data(), static_cast<int64_t>(values.size()),
               std::string("argument '") + name + "'");
  return values;
}

struct Model {
  const double* transposed;  // transitions [K, K] in float64, transposed: [j, i]
  const double* start;       // [K] or nullptr
  const double* end;         // [K] or nullptr
  int64_t tags;
};

// Scratch of one chunk's items.
struct Workspace {
  std::vector<double> score, next;   // best score ending in each tag, now and next step
  std::vector<int32_t> backpointer;  // [T, K]: best previous tag
};

// Decodes one item of `length` steps; writes its tags and returns its score.
template <typename scalar_t>
double decode_item(const scalar_t* emissions, int64_t length, const Model& model, Workspace& ws,
                   int64_t* tags_out) {
  const int64_t k = model.tags;
  if (length == 0 || k == 0) {
    return 0.0;
  }
  ws.score.resize(k);
  ws.next.resize(k);
  ws.backpointer.resize(length * k);
  for (int64_t j = 0; j < k; ++j) {
    ws.score[j] = (model.start ? model.start[j] : 0.0) + static_cast<double>(emissions[j]);
  }
  for (int64_t t = 1; t < length; ++t) {
    // For each tag j, the best previous tag i maximises score[i] + T[i, j]:
    // a max over a contiguous row of the transposed transitions (four
    // independent running maxima, so the adds and compares overlap), then
    // the first i that reaches it (the lowest tag wins ties; the same sums
    // are recomputed, so the comparison is exact).
    int32_t* back = ws.backpointer.data() + t * k;
    const double* score = ws.score.data();
    for (int64_t j = 0; j < k; ++j) {
      const double* column = model.transposed + j * k;
      double best[4] = {kMinusInf, kMinusInf, kMinusInf, kMinusInf};
      int64_t i = 0;
      for (; i + 4 <= k; i += 4) {
        for (int lane = 0; lane < 4; ++lane) {
          best[lane] = std::max(best[lane], score[i + lane] + column[i + lane]);
        }
      }
      for (; i < k; ++i) {
        best[0] = std::max(best[0], score[i] + column[i]);
      }
      const double top = std::max(std::max(best[0], best[1]), std::max(best[2], best[3]));
      int64_t from = 0;
      while (score[from] + column[from] != top) {
        ++from;
      }
      ws.next[j] = top;
      back[j] = static_cast<int32_t>(from);
    }
    const scalar_t* emission = emissions + t * k;
    for (int64_t j = 0; j < k; ++j) {
      ws.score[j] = ws.next[j] + static_cast<double>(emission[j]);
    }
  }
  int64_t best = 0;
  double best_score = kMinusInf;
  for (int64_t j = 0; j < k; ++j) {
    const double total = ws.score[j] + (model.end ? model.end[j] : 0.0);
    if (j == 0 || total > best_score) {
      best = j;
      best_score = total;
    }
  }
  for (int64_t t = length - 1; t >= 0; --t) {
    tags_out[t] = best;
    if (t > 0) {
      best = ws.backpointer[t * k + best];
    }
  }
  return best_score;
}

std::tuple<at::Tensor, at::Tensor> viterbi_decode_cpu(const at::Tensor& emissions,
                                                      const at::Tensor& transitions,
                                                      const std::optional<at::Tensor>& lengths,
                                                      const std::optional<at::Tensor>& start,
                                                      const std::optional<at::Tensor>& end) {
  check_arguments(Kernel::kCpu, emissions, transitions, lengths, start, end);
  const int64_t batch = emissions.size(0), steps = emissions.size(1), k = emissions.size(2);
  check_allocation(kOp, "the tags", {batch, steps}, sizeof(int64_t));
  check_allocation(kOp, "one item's backpointers", {steps, k}, sizeof(int32_t));
  TORCH_CHECK_VALUE(k <= std::numeric_limits<int32_t>::max(), kOp, ": ", k, " tags is too many");
  const at::Tensor emission = contiguous_on_pool(emissions, kOp, "emissions");
  const ItemLengths length_of(kOp, lengths, "lengths", steps,
                              "the number of steps T of 'emissions'");
  const std::vector<double> transition = model_scores(transitions, "transitions");
  std::vector<double> transposed(transition.size());
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = 0; j < k; ++j) {
      transposed[j * k + i] = transition[i * k + j];
    }
  }
  const std::vector<double> start_scores =
      start.has_value() ? model_scores(*start, "start") : std::vector<double>();
  const std::vector<double> end_scores =
      end.has_value() ? model_scores(*end, "end") : std::vector<double>();
  const Model model{transposed.data(), start.has_value() ? start_scores.data() : nullptr,
                    end.has_value() ? end_scores.data() : nullptr, k};

  at::Tensor tags = at::full({batch, steps}, -1, emissions.options().dtype(at::kLong));
  at::Tensor scores = at::empty({batch}, emissions.options());
  ItemErrors errors;
  AT_DISPATCH_FLOATING_TYPES(emissions.scalar_type(), kOp, [&] {
    const scalar_t* data = emission.data_ptr<scalar_t>();
    int64_t* tag_out = tags.data_ptr<int64_t>();
    scalar_t* score_out = scores.data_ptr<scalar_t>();
    parallel_for(0, batch, grain_for(kPairNs * steps * k * k), [&](int64_t first, int64_t last) {
      Workspace ws;
      for (int64_t b = first; b < last; ++b) {
        errors.run(b, [&] {
          const int64_t length = length_of[b];
          const scalar_t* item = data + b * steps * k;
          check_scores(item, length * k, ItemName{b});
          score_out[b] =
              static_cast<scalar_t>(decode_item(item, length, model, ws, tag_out + b * steps));
        });
      }
    });
  });
  errors.rethrow();
  return {tags, scores};
}

std::tuple<at::Tensor, at::Tensor> viterbi_decode_meta(const at::Tensor& emissions,
                                                       const at::Tensor& transitions,
                                                       const std::optional<at::Tensor>& lengths,
                                                       const std::optional<at::Tensor>& start,
                                                       const std::optional<at::Tensor>& end) {
  check_arguments(Kernel::kMeta, emissions, transitions, lengths, start, end);
  return {at::empty_symint({emissions.sym_size(0), emissions.sym_size(1)},
                           emissions.options().dtype(at::kLong)),
          at::empty_symint({emissions.sym_size(0)}, emissions.options())};
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def(
      "viterbi_decode(Tensor emissions, Tensor transitions, Tensor? lengths=None, "
      "Tensor? start=None, Tensor? end=None) -> (Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("viterbi_decode", &viterbi_decode_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) { m.impl("viterbi_decode", &viterbi_decode_meta); }

}  // namespace mt::decoding
