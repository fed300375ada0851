// COCO's run-length masks (RLE) for segm evaluation, as pycocotools 2.0.11's
// maskApi gives them, on packed tensors, in parallel.
//
// An RLE is a column-major binary mask of height h and width w, as run
// lengths alternating from zeros: counts [c0, c1, c2, ...] means c0 zeros,
// c1 ones, c2 zeros, ... Packed RLEs: counts int64 [S], item i's runs at
// counts[offsets[i] : offsets[i + 1]], sizes int64 [N, 2] (h, w).
//
//   coco_rle_from_strings(chars uint8 [B], char_offsets [N + 1])
//       -> (counts [B], lengths [N])     item i's runs at counts[char_offsets[i]:][:lengths[i]]
//   coco_rle_from_polygons(coordinates [V], polygon_offsets [Q + 1], annotation_offsets [N + 1],
//                          sizes [N, 2]) -> (counts [S], offsets [N + 1])
//   coco_rle_area_bbox(counts [S], offsets [N + 1] or [N, 2], sizes [N, 2])
//       -> (areas [N], boxes [N, 4])
//   coco_mask_iou(dt_counts, dt_offsets [D + 1] or [D, 2], gt_counts, gt_offsets [G + 1] or
//                 [G, 2], gt_crowd [G], pair_dt [P], pair_gt [P]) -> ious [P] float64
//
// Those two read each RLE at offsets (packed one after another) or at spans
// (begin, end): the strings' decoded runs, or a selection, read in place.
//
// The string form is COCO's compressed "counts" (rleFrString): 5 bits a
// character from '0', a continuation bit, a sign bit, each run from the
// fourth on stored as the difference to the run two before. A string of B
// characters holds at most B runs, so the decoded runs fit in place of their
// characters: a static shape, no second pass.
//
// Polygons are rasterised as rleFrPoly does (upsampled by 5, boundary points
// on the column crossings, rounded back), and an annotation's polygons
// merged by union, as annToRLE does with frPyObjects + merge. The number of
// runs depends on the coordinates, so that operator has a Python fake
// (torch_mt/detection/coco_fakes.py) that calls mt::_coco_rle_from_polygons_checks.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <tuple>
#include <utility>
#include <vector>

#include <torch_mt/parallel.h>
#include "coco_checks.h"

namespace mt {
namespace {

constexpr const char* kStrings = "mt::coco_rle_from_strings";
constexpr const char* kPolygons = "mt::coco_rle_from_polygons";
constexpr const char* kAreaBbox = "mt::coco_rle_area_bbox";
constexpr const char* kMaskIou = "mt::coco_mask_iou";

void check_vector(const char* op, const at::Tensor& tensor, const char* name,
                  at::ScalarType dtype) {
  check_dim(op, tensor, name, 1, "[N]");
  check_dtype(op, tensor, name, dtype);
}

void check_sizes(const char* op, const at::Tensor& sizes, const c10::SymInt& items,
                 const char* what) {
  check_dim(op, sizes, "sizes", 2, "[N, 2]");
  check_dtype(op, sizes, "sizes", at::kLong);
  check_size(op, sizes, "sizes", 1, 2, "(height, width) pairs need");
  check_size(op, sizes, "sizes", 0, items, what);
}

// CPU: every (h, w) >= 0, and h * w fits maskApi's int pixel indices.
void check_size_values(const char* op, const int64_t* sizes, int64_t items) {
  for (int64_t i = 0; i < items; ++i) {
    const int64_t h = sizes[2 * i], w = sizes[2 * i + 1];
    TORCH_CHECK_VALUE(h >= 0 && w >= 0 && h <= INT32_MAX && w <= INT32_MAX && h * w <= INT32_MAX,
                      op, ": sizes[", i, "] = (", h, ", ", w,
                      ") must be >= 0 with at most 2^31 - 1 pixels");
  }
}

// ---- compressed strings: rleFrString -----------------------------------------

// Item i's characters into runs at `runs`; the run count, or -1 - position
// of the first bad character. Runs are COCO's 32-bit unsigned counts.
int64_t decode_counts(const uint8_t* chars, int64_t length, int64_t* runs) {
  int64_t count = 0;
  int64_t p = 0;
  while (p < length) {
    int64_t value = 0;
    int shift = 0;
    bool more = true;
    while (more) {
      if (p >= length || chars[p] < '0' || chars[p] > '0' + 63 || shift > 30) {
        return -1 - std::min(p, length - 1);
      }
      const int c = chars[p] - '0';
      value |= static_cast<int64_t>(c & 0x1f) << shift;
      more = (c & 0x20) != 0;
      ++p;
      shift += 5;
      if (!more && (c & 0x10) != 0) {
        value |= -(int64_t{1} << shift);  // sign-extend
      }
    }
    if (count > 2) {
      value += runs[count - 2];
    }
    if (value < 0 || value > UINT32_MAX) {  // pycocotools would wrap it to garbage
      return -1 - (p - 1);
    }
    runs[count++] = value;
  }
  return count;
}

std::tuple<at::Tensor, at::Tensor> strings_outputs(const at::Tensor& chars,
                                                   const at::Tensor& char_offsets) {
  const auto options = char_offsets.options();
  return {at::empty_symint({chars.sym_size(0)}, options),
          at::empty_symint({char_offsets.sym_size(0) - 1}, options)};
}

void check_strings_arguments(Kernel kernel, const at::Tensor& chars,
                             const at::Tensor& char_offsets) {
  check_devices(kStrings, kernel, {{&chars, "chars"}, {&char_offsets, "char_offsets"}});
  check_vector(kStrings, chars, "chars", at::kByte);
  check_vector(kStrings, char_offsets, "char_offsets", at::kLong);
  TORCH_CHECK_VALUE(char_offsets.sym_size(0) >= 1, kStrings,
                    ": argument 'char_offsets' must hold N + 1 >= 1 offsets, got none");
}

std::tuple<at::Tensor, at::Tensor> coco_rle_from_strings_meta(const at::Tensor& chars,
                                                              const at::Tensor& char_offsets) {
  check_strings_arguments(Kernel::kMeta, chars, char_offsets);
  return strings_outputs(chars, char_offsets);
}

std::tuple<at::Tensor, at::Tensor> coco_rle_from_strings_cpu(const at::Tensor& chars,
                                                             const at::Tensor& char_offsets) {
  check_strings_arguments(Kernel::kCpu, chars, char_offsets);
  const at::Tensor text = contiguous_on_pool(chars, kStrings, "chars");
  const at::Tensor starts = contiguous_on_pool(char_offsets, kStrings, "char_offsets");
  const int64_t items = starts.size(0) - 1;
  const int64_t* offsets = starts.const_data_ptr<int64_t>();
  check_offsets(kStrings, offsets, items, "char_offsets", text.size(0), "characters");
  auto [counts, lengths] = strings_outputs(chars, char_offsets);
  counts.zero_();
  const uint8_t* data = text.const_data_ptr<uint8_t>();
  int64_t* runs = counts.data_ptr<int64_t>();
  int64_t* run_counts = lengths.data_ptr<int64_t>();
  const int64_t typical = std::max<int64_t>(1, text.size(0) / std::max<int64_t>(1, items));
  parallel_for(0, items, grain_for(3 * typical + 20), [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) {
      run_counts[i] =
          decode_counts(data + offsets[i], offsets[i + 1] - offsets[i], runs + offsets[i]);
    }
  });
  for (int64_t i = 0; i < items; ++i) {
    TORCH_CHECK_VALUE(run_counts[i] >= 0, kStrings, ": item ", i, " is not a COCO RLE string (at ",
                      "character ", -1 - run_counts[i], ": each is '0' to 'o', a run is at most ",
                      "32 bits, none negative)");
  }
  return {counts, lengths};
}

// ---- polygons: rleFrPoly + merge ----------------------------------------------

// C's (int) cast of a double as x86-64 performs it (cvttsd2si): truncation,
// and INT_MIN for NaN or a value out of range. rleFrPoly divides 0 by 0 for
// a vertex repeated after rounding and casts the NaN: its result depends on
// this, so it is spelled out instead of left undefined.
int x86_int(double value) {
  if (std::isnan(value) || value >= 2147483648.0 || value <= -2147483649.0) {
    return INT_MIN;
  }
  return static_cast<int>(value);
}

// The column-major pixel indices where a rasterised polygon's runs change,
// rleFrPoly's arithmetic step by step (its y-boundary points, sorted, with
// h * w last).
void polygon_changes(const double* xy, int64_t k, int64_t h, int64_t w,
                     std::vector<uint32_t>& changes) {
  constexpr double kScale = 5;
  std::vector<int> x(k + 1), y(k + 1);
  for (int64_t j = 0; j < k; ++j) {
    x[j] = x86_int(kScale * xy[2 * j] + .5);
    y[j] = x86_int(kScale * xy[2 * j + 1] + .5);
  }
  x[k] = k > 0 ? x[0] : 0;
  y[k] = k > 0 ? y[0] : 0;
  std::vector<int> u, v;  // points densely along the upsampled boundary
  for (int64_t j = 0; j < k; ++j) {
    int xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
    const int dx = std::abs(xe - xs), dy = std::abs(ys - ye);
    const bool flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      std::swap(xs, xe);
      std::swap(ys, ye);
    }
    const double s =
        dx >= dy ? static_cast<double>(ye - ys) / dx : static_cast<double>(xe - xs) / dy;
    if (dx >= dy) {
      for (int d = 0; d <= dx; ++d) {
        const int t = flip ? dx - d : d;
        u.push_back(t + xs);
        v.push_back(x86_int(ys + s * t + .5));
      }
    } else {
      for (int d = 0; d <= dy; ++d) {
        const int t = flip ? dy - d : d;
        v.push_back(t + ys);
        u.push_back(x86_int(xs + s * t + .5));
      }
    }
  }
  changes.clear();
  const double last_column = static_cast<double>(static_cast<uint64_t>(w) - 1);  // siz arithmetic
  for (size_t j = 1; j < u.size(); ++j) {
    if (u[j] == u[j - 1]) {
      continue;
    }
    double xd = static_cast<double>(u[j] < u[j - 1] ? u[j] : u[j] - 1);
    xd = (xd + .5) / kScale - .5;
    if (std::floor(xd) != xd || xd < 0 || xd > last_column) {
      continue;
    }
    double yd = static_cast<double>(v[j] < v[j - 1] ? v[j] : v[j - 1]);
    yd = (yd + .5) / kScale - .5;
    if (yd < 0) {
      yd = 0;
    } else if (yd > static_cast<double>(h)) {
      yd = static_cast<double>(h);
    }
    yd = std::ceil(yd);
    changes.push_back(
        static_cast<uint32_t>(static_cast<int>(xd) * static_cast<int>(h) + static_cast<int>(yd)));
  }
  changes.push_back(static_cast<uint32_t>(h * w));
  std::sort(changes.begin(), changes.end());
}

// One polygon's runs from its change points (differences, a zero-length run
// folding the next run into the one before, as rleFrPoly does), appended to
// `ones` as [start, end) intervals of ones.
void polygon_ones(const std::vector<uint32_t>& changes,
                  std::vector<std::pair<int64_t, int64_t>>& ones) {
  std::vector<uint32_t> runs;
  uint32_t previous = 0;
  std::vector<uint32_t> steps(changes.size());
  for (size_t j = 0; j < changes.size(); ++j) {
    steps[j] = changes[j] - previous;
    previous = changes[j];
  }
  size_t j = 0;
  runs.push_back(steps[j++]);
  while (j < steps.size()) {
    if (steps[j] > 0) {
      runs.push_back(steps[j++]);
    } else {
      ++j;
      if (j < steps.size()) {
        runs.back() += steps[j++];
      }
    }
  }
  int64_t at = 0;
  for (size_t r = 0; r < runs.size(); ++r) {
    if (r % 2 == 1 && runs[r] > 0) {
      ones.emplace_back(at, at + runs[r]);
    }
    at += runs[r];
  }
}

// Runs of the union of intervals of ones in a mask of `pixels`.
void union_runs(std::vector<std::pair<int64_t, int64_t>>& ones, int64_t pixels,
                std::vector<int64_t>& runs) {
  std::sort(ones.begin(), ones.end());
  runs.clear();
  int64_t at = 0;  // end of the runs so far
  size_t j = 0;
  while (j < ones.size()) {
    int64_t start = ones[j].first, end = ones[j].second;
    for (++j; j < ones.size() && ones[j].first <= end; ++j) {
      end = std::max(end, ones[j].second);
    }
    start = std::max(start, at);
    end = std::min(end, pixels);
    if (end <= start) {
      continue;
    }
    runs.push_back(start - at);
    runs.push_back(end - start);
    at = end;
  }
  if (at < pixels || runs.empty()) {  // no zero-length run at the end
    runs.push_back(pixels - at);
  }
}

void check_polygon_arguments(Kernel kernel, const at::Tensor& coordinates,
                             const at::Tensor& polygon_offsets,
                             const at::Tensor& annotation_offsets, const at::Tensor& sizes) {
  const char* op = kPolygons;
  check_devices(op, kernel,
                {{&coordinates, "coordinates"},
                 {&polygon_offsets, "polygon_offsets"},
                 {&annotation_offsets, "annotation_offsets"},
                 {&sizes, "sizes"}});
  check_vector(op, coordinates, "coordinates", at::kDouble);
  check_vector(op, polygon_offsets, "polygon_offsets", at::kLong);
  check_vector(op, annotation_offsets, "annotation_offsets", at::kLong);
  TORCH_CHECK_VALUE(polygon_offsets.sym_size(0) >= 1 && annotation_offsets.sym_size(0) >= 1, op,
                    ": arguments 'polygon_offsets' and 'annotation_offsets' must hold at least ",
                    "one offset each");
  check_sizes(op, sizes, annotation_offsets.sym_size(0) - 1,
              "the number of annotations ('annotation_offsets' minus 1) is");
}

std::tuple<at::Tensor, at::Tensor> coco_rle_from_polygons_cpu(const at::Tensor& coordinates,
                                                              const at::Tensor& polygon_offsets,
                                                              const at::Tensor& annotation_offsets,
                                                              const at::Tensor& sizes) {
  const char* op = kPolygons;
  check_polygon_arguments(Kernel::kCpu, coordinates, polygon_offsets, annotation_offsets, sizes);
  const at::Tensor xy = contiguous_on_pool(coordinates, op, "coordinates");
  const at::Tensor po = contiguous_on_pool(polygon_offsets, op, "polygon_offsets");
  const at::Tensor ao = contiguous_on_pool(annotation_offsets, op, "annotation_offsets");
  const at::Tensor hw = contiguous_on_pool(sizes, op, "sizes");
  const int64_t polygons = po.size(0) - 1, items = ao.size(0) - 1;
  const int64_t *polygon_at = po.const_data_ptr<int64_t>(), *item_at = ao.const_data_ptr<int64_t>(),
                *size = hw.const_data_ptr<int64_t>();
  const double* points = xy.const_data_ptr<double>();
  check_offsets(op, polygon_at, polygons, "polygon_offsets", xy.size(0), "coordinates");
  check_offsets(op, item_at, items, "annotation_offsets", polygons, "polygons");
  check_size_values(op, size, items);
  // Finite and within 1e6 of the origin: (int)(5 x + .5) fits, and an edge
  // is rasterised as at most 5e6 points (memory grows with the edge's length).
  for (int64_t i = 0; i < xy.size(0); ++i) {
    TORCH_CHECK_VALUE(std::isfinite(points[i]) && std::abs(points[i]) <= 1e6, op, ": coordinates[",
                      i, "] = ", points[i], " is NaN, infinite or beyond 1e6");
  }
  std::vector<std::vector<int64_t>> per_item(static_cast<size_t>(items));
  parallel_for(0, items, grain_for(2000), [&](int64_t first, int64_t last) {
    std::vector<uint32_t> changes;
    std::vector<std::pair<int64_t, int64_t>> ones;
    for (int64_t i = first; i < last; ++i) {
      ones.clear();
      const int64_t h = size[2 * i], w = size[2 * i + 1];
      for (int64_t q = item_at[i]; q < item_at[i + 1]; ++q) {
        const int64_t begin = polygon_at[q], vertices = (polygon_at[q + 1] - begin) / 2;
        polygon_changes(points + begin, vertices, h, w, changes);
        polygon_ones(changes, ones);
      }
      union_runs(ones, h * w, per_item[i]);
    }
  });
  at::Tensor offsets = at::empty({items + 1}, ao.options());
  int64_t* out_at = offsets.data_ptr<int64_t>();
  out_at[0] = 0;
  for (int64_t i = 0; i < items; ++i) {
    out_at[i + 1] = out_at[i] + static_cast<int64_t>(per_item[i].size());
  }
  at::Tensor counts = at::empty({out_at[items]}, ao.options());
  int64_t* runs = counts.data_ptr<int64_t>();
  parallel_for(0, items, grain_for(200), [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) {
      std::copy(per_item[i].begin(), per_item[i].end(), runs + out_at[i]);
    }
  });
  return {counts, offsets};
}

void coco_rle_from_polygons_checks_meta(const at::Tensor& coordinates,
                                        const at::Tensor& polygon_offsets,
                                        const at::Tensor& annotation_offsets,
                                        const at::Tensor& sizes) {
  check_polygon_arguments(Kernel::kMeta, coordinates, polygon_offsets, annotation_offsets, sizes);
}
void coco_rle_from_polygons_checks_cpu(const at::Tensor& coordinates,
                                       const at::Tensor& polygon_offsets,
                                       const at::Tensor& annotation_offsets,
                                       const at::Tensor& sizes) {
  check_polygon_arguments(Kernel::kCpu, coordinates, polygon_offsets, annotation_offsets, sizes);
}

// ---- area and box: rleArea, rleToBbox ----------------------------------------

// Where each RLE's runs are: offsets [N + 1] (packed one after another) or
// spans [N, 2] (begin, end) anywhere in the counts, gaps and any order
// allowed (coco_rle_from_strings' output, or a selection, read in place).
void check_rle_arguments(const char* op, Kernel kernel, const at::Tensor& counts,
                         const at::Tensor& offsets, const char* counts_name,
                         const char* offsets_name) {
  check_devices(op, kernel, {{&counts, counts_name}, {&offsets, offsets_name}});
  check_vector(op, counts, counts_name, at::kLong);
  check_dtype(op, offsets, offsets_name, at::kLong);
  TORCH_CHECK_VALUE(offsets.dim() == 1 || (offsets.dim() == 2 && offsets.sym_size(1) == 2), op,
                    ": argument '", offsets_name, "' must be offsets [N + 1] or spans [N, 2], got ",
                    offsets.dim(), " dimensions");
  TORCH_CHECK_VALUE(offsets.dim() == 2 || offsets.sym_size(0) >= 1, op, ": argument '",
                    offsets_name, "' must hold N + 1 >= 1 offsets, got none");
}

c10::SymInt rle_count(const at::Tensor& offsets) {
  return offsets.dim() == 2 ? offsets.sym_size(0) : offsets.sym_size(0) - 1;
}

struct RunSpans {
  const int64_t* data;
  bool pairs;
  int64_t begin(int64_t i) const { return pairs ? data[2 * i] : data[i]; }
  int64_t end(int64_t i) const { return pairs ? data[2 * i + 1] : data[i + 1]; }
  int64_t size(int64_t i) const { return end(i) - begin(i); }
};

// CPU: runs in [0, 2^32) (COCO's counts); offsets from 0 to the run count,
// or spans inside the counts.
RunSpans check_runs(const char* op, const int64_t* counts, int64_t runs, const at::Tensor& where,
                    int64_t items, const char* counts_name, const char* offsets_name) {
  const RunSpans spans{where.const_data_ptr<int64_t>(), where.dim() == 2};
  if (!spans.pairs) {
    check_offsets(op, spans.data, items, offsets_name, runs, "runs");
  }
  for (int64_t i = 0; spans.pairs && i < items; ++i) {
    TORCH_CHECK_VALUE(0 <= spans.begin(i) && spans.begin(i) <= spans.end(i) && spans.end(i) <= runs,
                      op, ": ", offsets_name, "[", i, "] = (", spans.begin(i), ", ", spans.end(i),
                      ") is not a span of the ", runs, " runs");
  }
  for (int64_t r = 0; r < runs; ++r) {
    TORCH_CHECK_VALUE(counts[r] >= 0 && counts[r] <= UINT32_MAX, op, ": ", counts_name, "[", r,
                      "] = ", counts[r], " is not a run length (0 to 2^32 - 1)");
  }
  return spans;
}

std::tuple<at::Tensor, at::Tensor> area_bbox_outputs(const at::Tensor& offsets) {
  const auto options = offsets.options().dtype(at::kDouble);
  const c10::SymInt items = rle_count(offsets);
  return {at::empty_symint({items}, options), at::empty_symint({items, 4}, options)};
}

std::tuple<at::Tensor, at::Tensor> coco_rle_area_bbox_meta(const at::Tensor& counts,
                                                           const at::Tensor& offsets,
                                                           const at::Tensor& sizes) {
  check_rle_arguments(kAreaBbox, Kernel::kMeta, counts, offsets, "counts", "offsets");
  check_sizes(kAreaBbox, sizes, rle_count(offsets), "the number of RLEs is");
  return area_bbox_outputs(offsets);
}

// maskUtils.toBbox (rleToBbox of pycocotools 2.0.11), in its unsigned
// 32-bit arithmetic: an odd last run is dropped; each non-empty run of ones
// widens the box by its first and last pixel, a run crossing a column spans
// the whole height; with no such run the width and height wrap around.
void run_box(const int64_t* runs, int64_t count, int64_t height, int64_t width, double* box) {
  const auto h = static_cast<uint32_t>(height), w = static_cast<uint32_t>(width);
  const int64_t m = (count / 2) * 2;
  if (m == 0) {
    box[0] = box[1] = box[2] = box[3] = 0;
    return;
  }
  uint32_t xs = w, ys = h, xe = 0, ye = 0, cc = 0;
  for (int64_t j = 0; j < m; ++j) {
    const uint32_t start = cc;
    cc += static_cast<uint32_t>(runs[j]);
    if (j % 2 == 0 || runs[j] == 0 || h == 0) {
      continue;
    }
    const uint32_t y_start = start % h, x_start = (start - y_start) / h;
    const uint32_t y_end = (cc - 1) % h, x_end = (cc - 1 - y_end) / h;
    xs = std::min(xs, x_start);
    xe = std::max(xe, x_end);
    if (x_start < x_end) {
      ys = 0;
      ye = h - 1;
    } else {
      ys = std::min(ys, y_start);
      ye = std::max(ye, y_end);
    }
  }
  box[0] = xs;
  box[2] = static_cast<uint32_t>(xe - xs + 1);
  box[1] = ys;
  box[3] = static_cast<uint32_t>(ye - ys + 1);
}

std::tuple<at::Tensor, at::Tensor> coco_rle_area_bbox_cpu(const at::Tensor& counts,
                                                          const at::Tensor& offsets,
                                                          const at::Tensor& sizes) {
  const char* op = kAreaBbox;
  check_rle_arguments(op, Kernel::kCpu, counts, offsets, "counts", "offsets");
  check_sizes(op, sizes, rle_count(offsets), "the number of RLEs is");
  const at::Tensor c = contiguous_on_pool(counts, op, "counts");
  const at::Tensor o = contiguous_on_pool(offsets, op, "offsets");
  const at::Tensor hw = contiguous_on_pool(sizes, op, "sizes");
  const int64_t items = rle_count(o).expect_int();
  const int64_t *runs = c.const_data_ptr<int64_t>(), *size = hw.const_data_ptr<int64_t>();
  const RunSpans at = check_runs(op, runs, c.size(0), o, items, "counts", "offsets");
  check_size_values(op, size, items);
  auto [areas, boxes] = area_bbox_outputs(offsets);
  double *area = areas.data_ptr<double>(), *box = boxes.data_ptr<double>();
  std::vector<int64_t> totals(static_cast<size_t>(items));
  const int64_t typical = std::max<int64_t>(1, c.size(0) / std::max<int64_t>(1, items));
  parallel_for(0, items, grain_for(2 * typical + 10), [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) {
      int64_t ones = 0, total = 0;
      for (int64_t r = at.begin(i); r < at.end(i); ++r) {
        ones += (r - at.begin(i)) % 2 == 1 ? runs[r] : 0;
        total += runs[r];
      }
      area[i] = static_cast<double>(ones);
      totals[i] = total;
      run_box(runs + at.begin(i), at.size(i), size[2 * i], size[2 * i + 1], box + 4 * i);
    }
  });
  for (int64_t i = 0; i < items; ++i) {
    TORCH_CHECK_VALUE(totals[i] == size[2 * i] * size[2 * i + 1], op, ": RLE ", i, "'s runs cover ",
                      totals[i], " pixels, its size (", size[2 * i], ", ", size[2 * i + 1],
                      ") has ", size[2 * i] * size[2 * i + 1]);
  }
  return {areas, boxes};
}

// ---- mask IoU: rleIou ----------------------------------------------------------

// rleIou's walk over two RLEs, in its 32-bit unsigned arithmetic: both
// lists advance one run at a time, and the walk stops when the two current
// runs are both empty, so zero-length runs in the middle of both lists end
// it early, as in pycocotools. Returns (intersection, union).
std::pair<uint32_t, uint32_t> walk(const int64_t* a, int64_t a_runs, const int64_t* b,
                                   int64_t b_runs) {
  uint32_t ca = a_runs > 0 ? static_cast<uint32_t>(a[0]) : 0;
  uint32_t cb = b_runs > 0 ? static_cast<uint32_t>(b[0]) : 0;
  bool va = false, vb = false;
  int64_t ia = 1, ib = 1;
  uint32_t shared = 0, united = 0, remaining = 1;
  while (remaining > 0) {
    const uint32_t c = std::min(ca, cb);
    if (va || vb) {
      united += c;
      shared += va && vb ? c : 0;
    }
    remaining = 0;
    ca -= c;
    if (ca == 0 && ia < a_runs) {
      ca = static_cast<uint32_t>(a[ia++]);
      va = !va;
    }
    remaining += ca;
    cb -= c;
    if (cb == 0 && ib < b_runs) {
      cb = static_cast<uint32_t>(b[ib++]);
      vb = !vb;
    }
    remaining += cb;
  }
  return {shared, united};
}

// rleArea: the ones, in 32-bit unsigned arithmetic.
uint32_t ones_of(const int64_t* runs, int64_t count) {
  uint32_t ones = 0;
  for (int64_t r = 1; r < count; r += 2) {
    ones += static_cast<uint32_t>(runs[r]);
  }
  return ones;
}

int64_t pixels_of(const int64_t* runs, int64_t count) {
  int64_t pixels = 0;
  for (int64_t r = 0; r < count; ++r) {
    pixels += runs[r];
  }
  return pixels;
}

void check_iou_arguments(Kernel kernel, const at::Tensor& dt_counts, const at::Tensor& dt_offsets,
                         const at::Tensor& gt_counts, const at::Tensor& gt_offsets,
                         const at::Tensor& gt_crowd, const at::Tensor& pair_dt,
                         const at::Tensor& pair_gt) {
  const char* op = kMaskIou;
  check_rle_arguments(op, kernel, dt_counts, dt_offsets, "dt_counts", "dt_offsets");
  check_rle_arguments(op, kernel, gt_counts, gt_offsets, "gt_counts", "gt_offsets");
  check_devices(op, kernel,
                {{&dt_counts, "dt_counts"},
                 {&gt_crowd, "gt_crowd"},
                 {&pair_dt, "pair_dt"},
                 {&pair_gt, "pair_gt"}});
  check_vector(op, gt_crowd, "gt_crowd", at::kBool);
  check_size(op, gt_crowd, "gt_crowd", 0, rle_count(gt_offsets),
             "the number of ground-truth RLEs is");
  check_vector(op, pair_dt, "pair_dt", at::kLong);
  check_vector(op, pair_gt, "pair_gt", at::kLong);
  check_size(op, pair_gt, "pair_gt", 0, pair_dt.sym_size(0), "the size of 'pair_dt' is");
}

at::Tensor coco_mask_iou_meta(const at::Tensor& dt_counts, const at::Tensor& dt_offsets,
                              const at::Tensor& gt_counts, const at::Tensor& gt_offsets,
                              const at::Tensor& gt_crowd, const at::Tensor& pair_dt,
                              const at::Tensor& pair_gt) {
  check_iou_arguments(Kernel::kMeta, dt_counts, dt_offsets, gt_counts, gt_offsets, gt_crowd,
                      pair_dt, pair_gt);
  return at::empty_symint({pair_dt.sym_size(0)}, pair_dt.options().dtype(at::kDouble));
}

at::Tensor coco_mask_iou_cpu(const at::Tensor& dt_counts, const at::Tensor& dt_offsets,
                             const at::Tensor& gt_counts, const at::Tensor& gt_offsets,
                             const at::Tensor& gt_crowd, const at::Tensor& pair_dt,
                             const at::Tensor& pair_gt) {
  const char* op = kMaskIou;
  check_iou_arguments(Kernel::kCpu, dt_counts, dt_offsets, gt_counts, gt_offsets, gt_crowd, pair_dt,
                      pair_gt);
  const auto read = [&](const at::Tensor& t, const char* name) {
    return contiguous_on_pool(t, op, name);
  };
  const at::Tensor dc = read(dt_counts, "dt_counts"), dof = read(dt_offsets, "dt_offsets"),
                   gc = read(gt_counts, "gt_counts"), gof = read(gt_offsets, "gt_offsets"),
                   crowd = read(gt_crowd, "gt_crowd"), pd = read(pair_dt, "pair_dt"),
                   pg = read(pair_gt, "pair_gt");
  const int64_t detections = rle_count(dof).expect_int(), truths = rle_count(gof).expect_int();
  const int64_t pairs = pd.size(0);
  const int64_t *d_runs = dc.const_data_ptr<int64_t>(), *g_runs = gc.const_data_ptr<int64_t>(),
                *dt_index = pd.const_data_ptr<int64_t>(), *gt_index = pg.const_data_ptr<int64_t>();
  const bool* is_crowd = crowd.const_data_ptr<bool>();
  const RunSpans d_at =
      check_runs(op, d_runs, dc.size(0), dof, detections, "dt_counts", "dt_offsets");
  const RunSpans g_at = check_runs(op, g_runs, gc.size(0), gof, truths, "gt_counts", "gt_offsets");
  for (int64_t p = 0; p < pairs; ++p) {
    TORCH_CHECK_VALUE(dt_index[p] >= 0 && dt_index[p] < detections, op, ": pair_dt[", p,
                      "] = ", dt_index[p], " is not an index of the ", detections, " detections");
    TORCH_CHECK_VALUE(gt_index[p] >= 0 && gt_index[p] < truths, op, ": pair_gt[", p,
                      "] = ", gt_index[p], " is not an index of the ", truths,
                      " ground-truth masks");
  }
  for (int64_t p = 0; p < pairs; ++p) {  // the walk needs masks of one size
    const int64_t i = dt_index[p], j = gt_index[p];
    const int64_t dt_pixels = pixels_of(d_runs + d_at.begin(i), d_at.size(i));
    const int64_t gt_pixels = pixels_of(g_runs + g_at.begin(j), g_at.size(j));
    TORCH_CHECK_VALUE(dt_pixels == gt_pixels, op, ": pair ", p, " compares a mask of ", dt_pixels,
                      " pixels (detection ", i, ") with one of ", gt_pixels, " (ground truth ", j,
                      ")");
  }
  at::Tensor ious = at::empty({pairs}, pd.options().dtype(at::kDouble));
  double* out = ious.data_ptr<double>();
  const int64_t typical =
      std::max<int64_t>(1, (dc.size(0) + gc.size(0)) / std::max<int64_t>(1, detections + truths));
  parallel_for(0, pairs, grain_for(4 * typical + 20), [&](int64_t first, int64_t last) {
    for (int64_t p = first; p < last; ++p) {
      const int64_t i = dt_index[p], j = gt_index[p];
      const int64_t *a = d_runs + d_at.begin(i), *b = g_runs + g_at.begin(j);
      const int64_t a_runs = d_at.size(i), b_runs = g_at.size(j);
      auto [shared, united] = walk(a, a_runs, b, b_runs);
      // rleIou: u = 1 without overlap; a crowd's union is the detection's area.
      if (shared == 0) {
        united = 1;
      } else if (is_crowd[j]) {
        united = ones_of(a, a_runs);
      }
      out[p] = static_cast<double>(shared) / static_cast<double>(united);
    }
  });
  return ious;
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def(
      "coco_rle_from_strings(Tensor chars, Tensor char_offsets) -> (Tensor counts, Tensor "
      "lengths)");
  m.def(
      "coco_rle_from_polygons(Tensor coordinates, Tensor polygon_offsets, Tensor "
      "annotation_offsets, "
      "Tensor sizes) -> (Tensor counts, Tensor offsets)");
  m.def(
      "_coco_rle_from_polygons_checks(Tensor coordinates, Tensor polygon_offsets, "
      "Tensor annotation_offsets, Tensor sizes) -> ()");
  m.def(
      "coco_rle_area_bbox(Tensor counts, Tensor offsets, Tensor sizes) -> (Tensor areas, Tensor "
      "boxes)");
  m.def(
      "coco_mask_iou(Tensor dt_counts, Tensor dt_offsets, Tensor gt_counts, Tensor gt_offsets, "
      "Tensor gt_crowd, Tensor pair_dt, Tensor pair_gt) -> Tensor");
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("coco_rle_from_strings", &coco_rle_from_strings_cpu);
  m.impl("coco_rle_from_polygons", &coco_rle_from_polygons_cpu);
  m.impl("_coco_rle_from_polygons_checks", &coco_rle_from_polygons_checks_cpu);
  m.impl("coco_rle_area_bbox", &coco_rle_area_bbox_cpu);
  m.impl("coco_mask_iou", &coco_mask_iou_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) {
  m.impl("coco_rle_from_strings", &coco_rle_from_strings_meta);
  m.impl("_coco_rle_from_polygons_checks", &coco_rle_from_polygons_checks_meta);
  m.impl("coco_rle_area_bbox", &coco_rle_area_bbox_meta);
  m.impl("coco_mask_iou", &coco_mask_iou_meta);
}

}  // namespace mt
