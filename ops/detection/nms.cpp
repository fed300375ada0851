// Non-maximum suppression with torchvision's semantics: visit boxes by
// decreasing score (equal scores: lower index first); keep a box unless its
// IoU with an already kept box is greater than iou_threshold.
//
//   nms(boxes [N, 4], scores [N], iou_threshold) -> int64 [K], kept indices by score
//   batched_nms(boxes, scores, idxs [N] int64, iou_threshold) -> int64 [K]
//       each category of `idxs` suppressed on its own; categories fan out
//   nms_padded(boxes [B, N, 4], scores [B, N], iou_threshold, lengths [B]?)
//       -> bool [B, N] keep mask (static shape); images fan out
//
// Boxes are (x1, y1, x2, y2) float32|float64 with x1 <= x2 and y1 <= y2.
// IoU is computed in the boxes' dtype exactly as torchvision does, so a pair
// of boxes with zero union (0 / 0 = NaN) never suppresses. Equal scores are
// visited lowest index first (a stable sort); torchvision's CPU kernel uses an
// unstable sort, so with 17 or more equal scores its order, and which of two
// overlapping tied boxes it keeps, can differ from ours.
// batched_nms of no boxes returns an empty int64 tensor without checking
// anything else, as torchvision.ops.batched_nms does.
//
// nms and batched_nms have data-dependent output sizes: their shape
// functions are Python fakes (torch_mt/detection/__init__.py), which call the
// check ops below for their argument checks. nms_padded's is below.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <ostream>
#include <utility>
#include <vector>

#include <torch_mt/parallel.h>

namespace mt::detection {
namespace {

constexpr const char* kNms = "mt::nms";
constexpr const char* kBatchedNms = "mt::batched_nms";
constexpr const char* kNmsPadded = "mt::nms_padded";

// ---- checks ---------------------------------------------------------------

// boxes [..., 4] and scores [...] of one float dtype, scores.shape == boxes.shape[:-1].
void check_boxes_and_scores(const char* op, const at::Tensor& boxes, const at::Tensor& scores,
                            int64_t batch_dims) {
  const char* boxes_shape = batch_dims == 0 ? "[N, 4]" : "[B, N, 4]";
  const char* scores_shape = batch_dims == 0 ? "[N]" : "[B, N]";
  check_dim(op, boxes, "boxes", batch_dims + 2, boxes_shape);
  check_dim(op, scores, "scores", batch_dims + 1, scores_shape);
  check_floating(op, boxes, "boxes");
  TORCH_CHECK_TYPE(scores.scalar_type() == boxes.scalar_type(), op,
                   ": arguments 'boxes' and 'scores' must have the same dtype, got ",
                   dtype_name(boxes.scalar_type()), " and ", dtype_name(scores.scalar_type()));
  check_size(op, boxes, "boxes", batch_dims + 1, 4, "(x1, y1, x2, y2) boxes need");
  for (int64_t d = 0; d <= batch_dims; ++d) {
    check_size(op, scores, "scores", d, boxes.sym_size(d), "the matching size of 'boxes' is");
  }
}

void check_threshold(const char* op, double iou_threshold) {
  TORCH_CHECK_VALUE(!std::isnan(iou_threshold), op, ": argument 'iou_threshold' is NaN");
}

// Names a box in messages: "boxes[7]", or "boxes[2, 7]" in a batch of images.
struct BoxName {
  int64_t image;  // -1 outside a batch
  int64_t index;
};

std::ostream& operator<<(std::ostream& out, const BoxName& box) {
  out << "boxes[";
  if (box.image >= 0) {
    out << box.image << ", ";
  }
  return out << box.index << "]";
}

// Refuses a NaN score, a NaN or infinite coordinate and an inverted box.
template <typename scalar_t>
void check_box(const char* op, const scalar_t* box, scalar_t score, BoxName name) {
  TORCH_CHECK_VALUE(!std::isnan(score), op, ": the score of ", name, " is NaN");
  for (int k = 0; k < 4; ++k) {
    TORCH_CHECK_VALUE(std::isfinite(box[k]), op, ": ", name, " has a NaN or infinite coordinate");
  }
  TORCH_CHECK_VALUE(box[2] >= box[0] && box[3] >= box[1], op, ": ", name,
                    " has x2 < x1 or y2 < y1; boxes must be (x1, y1, x2, y2) corners, not (x, y, ",
                    "width, height)");
}

// Checks the first `count` boxes of an image, lowest index first.
template <typename scalar_t>
void check_boxes(const char* op, const scalar_t* coords, const scalar_t* scores, int64_t count,
                 int64_t image) {
  for (int64_t i = 0; i < count; ++i) {
    check_box(op, coords + 4 * i, scores[i], BoxName{image, i});
  }
}

// ---- kernel ---------------------------------------------------------------

// A box in visiting order, with its area precomputed (as torchvision does).
template <typename scalar_t>
struct SortedBox {
  scalar_t x1, y1, x2, y2, area;
};

// torchvision's IoU test, operation for operation, so results match it bitwise.
template <typename scalar_t>
bool overlaps(const SortedBox<scalar_t>& a, const SortedBox<scalar_t>& b, double threshold) {
  const scalar_t width = std::max<scalar_t>(0, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
  const scalar_t height = std::max<scalar_t>(0, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
  const scalar_t intersection = width * height;
  const scalar_t iou = intersection / (a.area + b.area - intersection);
  return static_cast<double>(iou) > threshold;
}

// Boxes visited as a block by one thread before their verdicts are pushed to
// the later boxes in parallel: larger blocks mean fewer fan-outs but more
// sequential work.
constexpr int64_t kBlock = 256;
// One IoU test costs about 4 ns here.
constexpr int64_t kTestNs = 4;

// Per-thread scratch, reused across the images or categories of a chunk.
template <typename scalar_t>
struct Workspace {
  std::vector<int64_t> order;  // original box indices, by decreasing score
  std::vector<SortedBox<scalar_t>> sorted;
  std::vector<char> suppressed;  // by visiting position
  std::vector<int64_t> kept_in_block;
};

// Greedy NMS over ws.order's boxes (coords [*, 4] indexed by original box
// index); sets keep[original index] for the kept ones. Exact greedy result:
// when a block starts, every box in it already knows whether an earlier
// block's kept box suppresses it. On a pool worker (one image among many)
// the inner parallel_for runs inline.
template <typename scalar_t>
void suppress(Workspace<scalar_t>& ws, const scalar_t* coords, double threshold, bool* keep) {
  const int64_t count = static_cast<int64_t>(ws.order.size());
  ws.sorted.resize(count);
  for (int64_t p = 0; p < count; ++p) {
    const scalar_t* box = coords + 4 * ws.order[p];
    ws.sorted[p] = {box[0], box[1], box[2], box[3], (box[2] - box[0]) * (box[3] - box[1])};
  }
  ws.suppressed.assign(count, 0);
  for (int64_t block = 0; block < count; block += kBlock) {
    const int64_t block_end = std::min(count, block + kBlock);
    ws.kept_in_block.clear();
    for (int64_t p = block; p < block_end; ++p) {
      if (ws.suppressed[p]) {
        continue;
      }
      const bool beaten =
          std::any_of(ws.kept_in_block.begin(), ws.kept_in_block.end(),
                      [&](int64_t k) { return overlaps(ws.sorted[k], ws.sorted[p], threshold); });
      if (!beaten) {
        ws.kept_in_block.push_back(p);
        keep[ws.order[p]] = true;
      }
    }
    const int64_t tests = std::max<int64_t>(1, static_cast<int64_t>(ws.kept_in_block.size()));
    // Each later box reads the block's kept boxes and writes only its own flag.
    parallel_for(block_end, count, grain_for(kTestNs * tests), [&](int64_t first, int64_t last) {
      for (int64_t p = first; p < last; ++p) {
        if (ws.suppressed[p]) {
          continue;
        }
        for (const int64_t k : ws.kept_in_block) {
          if (overlaps(ws.sorted[k], ws.sorted[p], threshold)) {
            ws.suppressed[p] = 1;
            break;
          }
        }
      }
    });
  }
}

// Sorts `order` (box indices) by decreasing score, equal scores by index.
template <typename scalar_t>
void sort_by_score(std::vector<int64_t>& order, const scalar_t* scores) {
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
}

// Indices with keep[i] set, by decreasing score (equal scores: lower index
// first). Most boxes may be kept (16 477 of 20 000 in the batched_nms
// benchmark), so the sort is cut into one slice per thread, sorted in
// parallel, then merged. The order is total (score, then index), so the
// result is the same for any slicing, hence any thread count.
template <typename scalar_t>
at::Tensor kept_by_score(const bool* keep, const scalar_t* scores, int64_t count,
                         const at::TensorOptions& options) {
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < count; ++i) {
    if (keep[i]) {
      kept.push_back(i);
    }
  }
  const auto before = [&](int64_t a, int64_t b) {
    return scores[a] != scores[b] ? scores[a] > scores[b] : a < b;  // no NaN: checked
  };
  const auto size = static_cast<int64_t>(kept.size());
  const int64_t slices = std::min<int64_t>(get_num_threads(), std::max<int64_t>(1, size / 2048));
  const auto bound = [&](int64_t slice) { return kept.begin() + size * slice / slices; };
  parallel_for(0, slices, 1, [&](int64_t first, int64_t last) {
    for (int64_t slice = first; slice < last; ++slice) {
      std::sort(bound(slice), bound(slice + 1), before);
    }
  });
  for (int64_t slice = 1; slice < slices; ++slice) {
    std::inplace_merge(kept.begin(), bound(slice), bound(slice + 1), before);
  }
  at::Tensor out = at::empty({size}, options.dtype(at::kLong));
  std::copy(kept.begin(), kept.end(), out.data_ptr<int64_t>());
  return out;
}

// Box indices grouped by category (categories ascending), by index within
// one. Categories usually span a small range (class ids): then a counting
// sort, linear and cheap, since this part of batched_nms is serial; else a
// comparison sort of (category, index) pairs.
inline std::vector<int64_t> group_by_category(const int64_t* category_of, int64_t count) {
  std::vector<int64_t> by_category(static_cast<size_t>(count));
  if (count == 0) {
    return by_category;
  }
  const auto [low, high] = std::minmax_element(category_of, category_of + count);
  // Unsigned difference: exact for any two int64 values with high >= low.
  const uint64_t span = static_cast<uint64_t>(*high) - static_cast<uint64_t>(*low);
  if (span < static_cast<uint64_t>(4 * count)) {
    std::vector<int64_t> start(static_cast<size_t>(span) + 2, 0);
    for (int64_t i = 0; i < count; ++i) {
      ++start[static_cast<uint64_t>(category_of[i]) - static_cast<uint64_t>(*low) + 1];
    }
    std::partial_sum(start.begin(), start.end(), start.begin());
    for (int64_t i = 0; i < count; ++i) {  // ascending i: stable within a category
      by_category[start[static_cast<uint64_t>(category_of[i]) - static_cast<uint64_t>(*low)]++] = i;
    }
    return by_category;
  }
  std::vector<std::pair<int64_t, int64_t>> keyed(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    keyed[i] = {category_of[i], i};  // (category, index): no indirect loads while sorting
  }
  std::sort(keyed.begin(), keyed.end());
  for (int64_t p = 0; p < count; ++p) {
    by_category[p] = keyed[p].second;
  }
  return by_category;
}

// ---- operators --------------------------------------------------------------

void check_nms(Kernel kernel, const at::Tensor& boxes, const at::Tensor& scores,
               double iou_threshold) {
  check_devices(kNms, kernel, {{&boxes, "boxes"}, {&scores, "scores"}});
  check_boxes_and_scores(kNms, boxes, scores, /*batch_dims=*/0);
  check_threshold(kNms, iou_threshold);
}

at::Tensor nms_cpu(const at::Tensor& boxes, const at::Tensor& scores, double iou_threshold) {
  check_nms(Kernel::kCpu, boxes, scores, iou_threshold);
  const int64_t count = boxes.size(0);
  const at::Tensor coords = contiguous_on_pool(boxes, kNms, "boxes");
  const at::Tensor score = contiguous_on_pool(scores, kNms, "scores");
  const std::unique_ptr<bool[]> keep(new bool[count]());  // by original index
  at::Tensor out;
  AT_DISPATCH_FLOATING_TYPES(boxes.scalar_type(), kNms, [&] {
    const scalar_t* box_data = coords.data_ptr<scalar_t>();
    const scalar_t* score_data = score.data_ptr<scalar_t>();
    check_boxes(kNms, box_data, score_data, count, /*image=*/-1);
    Workspace<scalar_t> ws;
    ws.order.resize(count);
    std::iota(ws.order.begin(), ws.order.end(), 0);
    sort_by_score(ws.order, score_data);
    suppress(ws, box_data, iou_threshold, keep.get());
    out = kept_by_score(keep.get(), score_data, count, boxes.options());
  });
  return out;
}

// False for no boxes at all: then, as in torchvision, nothing else is checked
// and the result is empty.
bool check_batched_nms(Kernel kernel, const at::Tensor& boxes, const at::Tensor& scores,
                       const at::Tensor& idxs, double iou_threshold) {
  if (boxes.sym_numel() == 0) {
    return false;
  }
  check_devices(kBatchedNms, kernel, {{&boxes, "boxes"}, {&scores, "scores"}, {&idxs, "idxs"}});
  check_boxes_and_scores(kBatchedNms, boxes, scores, /*batch_dims=*/0);
  check_threshold(kBatchedNms, iou_threshold);
  check_dim(kBatchedNms, idxs, "idxs", 1, "[N]");
  check_dtype(kBatchedNms, idxs, "idxs", at::kLong);
  check_size(kBatchedNms, idxs, "idxs", 0, boxes.sym_size(0), "the number of boxes is");
  return true;
}

at::Tensor batched_nms_cpu(const at::Tensor& boxes, const at::Tensor& scores,
                           const at::Tensor& idxs, double iou_threshold) {
  if (!check_batched_nms(Kernel::kCpu, boxes, scores, idxs, iou_threshold)) {
    return at::empty({0}, boxes.options().dtype(at::kLong));
  }
  const int64_t count = boxes.size(0);
  const at::Tensor coords = contiguous_on_pool(boxes, kBatchedNms, "boxes");
  const at::Tensor score = contiguous_on_pool(scores, kBatchedNms, "scores");
  const at::Tensor category = contiguous_on_pool(idxs, kBatchedNms, "idxs");
  const int64_t* category_of = category.data_ptr<int64_t>();
  const std::unique_ptr<bool[]> keep(new bool[count]());  // by original index
  at::Tensor out;
  AT_DISPATCH_FLOATING_TYPES(boxes.scalar_type(), kBatchedNms, [&] {
    const scalar_t* box_data = coords.data_ptr<scalar_t>();
    const scalar_t* score_data = score.data_ptr<scalar_t>();
    check_boxes(kBatchedNms, box_data, score_data, count, /*image=*/-1);
    // Boxes by category, by index within one; group g is
    // by_category[group_start[g], group_start[g + 1]). Each group is put in
    // visiting order (by score) inside the fan-out, not here: the serial
    // part of the call is one sort, not two.
    const std::vector<int64_t> by_category = group_by_category(category_of, count);
    std::vector<int64_t> group_start;
    for (int64_t p = 0; p < count; ++p) {
      if (p == 0 || category_of[by_category[p]] != category_of[by_category[p - 1]]) {
        group_start.push_back(p);
      }
    }
    const int64_t groups = static_cast<int64_t>(group_start.size());
    group_start.push_back(count);
    const int64_t mean_group = count / std::max<int64_t>(1, groups);
    parallel_for(0, groups, grain_for(kTestNs * (mean_group * mean_group + 1)),
                 [&](int64_t first, int64_t last) {
                   Workspace<scalar_t> ws;
                   for (int64_t g = first; g < last; ++g) {
                     ws.order.assign(by_category.begin() + group_start[g],
                                     by_category.begin() + group_start[g + 1]);
                     sort_by_score(ws.order, score_data);  // ties: lower index first
                     suppress(ws, box_data, iou_threshold, keep.get());
                   }
                 });
    out = kept_by_score(keep.get(), score_data, count, boxes.options());
  });
  return out;
}

void check_nms_padded(Kernel kernel, const at::Tensor& boxes, const at::Tensor& scores,
                      double iou_threshold, const std::optional<at::Tensor>& lengths) {
  check_devices(kNmsPadded, kernel,
                {{&boxes, "boxes"}, {&scores, "scores"}, {if_present(lengths), "lengths"}});
  check_boxes_and_scores(kNmsPadded, boxes, scores, /*batch_dims=*/1);
  check_threshold(kNmsPadded, iou_threshold);
  check_lengths_argument(kNmsPadded, lengths, "lengths", boxes.sym_size(0),
                         "the batch size of 'boxes' is");
}

at::Tensor nms_padded_cpu(const at::Tensor& boxes, const at::Tensor& scores, double iou_threshold,
                          const std::optional<at::Tensor>& lengths) {
  check_nms_padded(Kernel::kCpu, boxes, scores, iou_threshold, lengths);
  const int64_t images = boxes.size(0), width = boxes.size(1);
  check_allocation(kNmsPadded, "the output", {images, width}, sizeof(bool));
  const at::Tensor coords = contiguous_on_pool(boxes, kNmsPadded, "boxes");
  const at::Tensor score = contiguous_on_pool(scores, kNmsPadded, "scores");
  const ItemLengths count_of(kNmsPadded, lengths, "lengths", width, "the width of 'boxes'");
  at::Tensor keep = at::zeros({images, width}, boxes.options().dtype(at::kBool));
  bool* keep_data = keep.data_ptr<bool>();
  ItemErrors errors;
  AT_DISPATCH_FLOATING_TYPES(boxes.scalar_type(), kNmsPadded, [&] {
    const scalar_t* box_data = coords.data_ptr<scalar_t>();
    const scalar_t* score_data = score.data_ptr<scalar_t>();
    parallel_for(0, images, grain_for(kTestNs * (width * width + 1)),
                 [&](int64_t first, int64_t last) {
                   Workspace<scalar_t> ws;
                   for (int64_t b = first; b < last; ++b) {
                     errors.run(b, [&] {
                       const int64_t count = count_of[b];
                       const scalar_t* image_boxes = box_data + 4 * b * width;
                       const scalar_t* image_scores = score_data + b * width;
                       check_boxes(kNmsPadded, image_boxes, image_scores, count, b);
                       ws.order.resize(count);
                       std::iota(ws.order.begin(), ws.order.end(), 0);
                       sort_by_score(ws.order, image_scores);
                       suppress(ws, image_boxes, iou_threshold, keep_data + b * width);
                     });
                   }
                 });
  });
  errors.rethrow();
  return keep;
}

at::Tensor nms_padded_meta(const at::Tensor& boxes, const at::Tensor& scores, double iou_threshold,
                           const std::optional<at::Tensor>& lengths) {
  check_nms_padded(Kernel::kMeta, boxes, scores, iou_threshold, lengths);
  return at::empty_symint({boxes.sym_size(0), boxes.sym_size(1)}, boxes.options().dtype(at::kBool));
}

// ---- check ops ---------------------------------------------------------------
//
// mt::_nms_checks and mt::_batched_nms_checks: the argument checks alone. The
// kept count depends on the data, so these two ops have Python fakes
// (torch_mt/detection/__init__.py); the fakes call these ops' Meta kernels
// for the checks and only add the data-dependent size: no message is
// restated in Python.
void nms_checks_meta(const at::Tensor& boxes, const at::Tensor& scores, double iou_threshold) {
  check_nms(Kernel::kMeta, boxes, scores, iou_threshold);
}
void nms_checks_cpu(const at::Tensor& boxes, const at::Tensor& scores, double iou_threshold) {
  check_nms(Kernel::kCpu, boxes, scores, iou_threshold);
}
void batched_nms_checks_meta(const at::Tensor& boxes, const at::Tensor& scores,
                             const at::Tensor& idxs, double iou_threshold) {
  (void)check_batched_nms(Kernel::kMeta, boxes, scores, idxs, iou_threshold);
}
void batched_nms_checks_cpu(const at::Tensor& boxes, const at::Tensor& scores,
                            const at::Tensor& idxs, double iou_threshold) {
  (void)check_batched_nms(Kernel::kCpu, boxes, scores, idxs, iou_threshold);
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def("nms(Tensor boxes, Tensor scores, float iou_threshold) -> Tensor");
  m.def("batched_nms(Tensor boxes, Tensor scores, Tensor idxs, float iou_threshold) -> Tensor");
  m.def(
      "nms_padded(Tensor boxes, Tensor scores, float iou_threshold, Tensor? lengths=None) "
      "-> Tensor");
  m.def("_nms_checks(Tensor boxes, Tensor scores, float iou_threshold) -> ()");
  m.def("_batched_nms_checks(Tensor boxes, Tensor scores, Tensor idxs, float iou_threshold) -> ()");
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("nms", &nms_cpu);
  m.impl("batched_nms", &batched_nms_cpu);
  m.impl("nms_padded", &nms_padded_cpu);
  m.impl("_nms_checks", &nms_checks_cpu);
  m.impl("_batched_nms_checks", &batched_nms_checks_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) {
  m.impl("nms_padded", &nms_padded_meta);
  m.impl("_nms_checks", &nms_checks_meta);
  m.impl("_batched_nms_checks", &batched_nms_checks_meta);
}

}  // namespace mt::detection
