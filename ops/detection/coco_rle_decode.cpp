// COCO's run-length masks (RLE, layout in coco_rle.h) made from what COCO
// files hold, as pycocotools 2.0.11's maskApi makes them, in parallel:
//
//   coco_rle_from_strings(chars uint8 [B], char_offsets [N + 1])
//       -> (counts [B], lengths [N])     item i's runs at counts[char_offsets[i]:][:lengths[i]]
//   _coco_rle_from_strings_pixels(chars, char_offsets) -> (counts, lengths, pixels [N])
//   coco_rle_from_polygons(coordinates [V], polygon_offsets [Q + 1], annotation_offsets [N + 1],
//                          sizes [N, 2]) -> (counts [S], offsets [N + 1])
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
// (torch_mt/detection/coco/fakes.py) that calls mt::_coco_rle_from_polygons_checks.
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

#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h>
#endif

#include <torch_mt/parallel.h>
#include "coco_checks.h"
#include "coco_rle.h"

namespace mt::detection {
namespace {

using namespace coco_rle;  // NOLINT: the family's shared mask checks

constexpr const char* kStrings = "mt::coco_rle_from_strings";
constexpr const char* kPolygons = "mt::coco_rle_from_polygons";

// ---- compressed strings: rleFrString -----------------------------------------

// Item i's characters into runs at `runs`; the run count, or -1 - position
// of the first bad character. Runs are COCO's 32-bit unsigned counts;
// `pixels` gets their sum.
int64_t decode_counts(const uint8_t* chars, int64_t length, int64_t* runs, int64_t& pixels) {
  int64_t count = 0;
  int64_t p = 0;
  int64_t total = 0;
  while (p < length) {
    int64_t value = 0;
    const int first = chars[p] - '0';
    if (first >= 0 && first < 0x20) {                      // one character: most runs of a mask
      value = (first & 0x10) != 0 ? first - 0x20 : first;  // sign-extended from 5 bits
      ++p;
    } else {
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
    }
    if (count > 2) {
      value += runs[count - 2];
    }
    if (value < 0 || value > UINT32_MAX) {  // pycocotools would wrap it to garbage
      return -1 - (p - 1);
    }
    runs[count++] = value;
    total += value;
  }
  pixels = total;
  return count;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> strings_outputs(const at::Tensor& chars,
                                                               const at::Tensor& char_offsets) {
  const auto options = char_offsets.options();
  const c10::SymInt items = char_offsets.sym_size(0) - 1;
  return {at::empty_symint({chars.sym_size(0)}, options), at::empty_symint({items}, options),
          at::empty_symint({items}, options)};
}

void check_strings_arguments(Kernel kernel, const at::Tensor& chars,
                             const at::Tensor& char_offsets) {
  check_devices(kStrings, kernel, {{&chars, "chars"}, {&char_offsets, "char_offsets"}});
  check_vector(kStrings, chars, "chars", at::kByte);
  check_vector(kStrings, char_offsets, "char_offsets", at::kLong);
  TORCH_CHECK_VALUE(char_offsets.sym_size(0) >= 1, kStrings,
                    ": argument 'char_offsets' must hold N + 1 >= 1 offsets, got none");
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> strings_pixels_meta(const at::Tensor& chars,
                                                                   const at::Tensor& char_offsets) {
  check_strings_arguments(Kernel::kMeta, chars, char_offsets);
  return strings_outputs(chars, char_offsets);
}

std::tuple<at::Tensor, at::Tensor> coco_rle_from_strings_meta(const at::Tensor& chars,
                                                              const at::Tensor& char_offsets) {
  auto [counts, lengths, pixels] = strings_pixels_meta(chars, char_offsets);
  return {counts, lengths};
}

// (counts, lengths, pixels): the decoded runs in place of their characters
// (the rest of each item's place zero), their number and their sum.
std::tuple<at::Tensor, at::Tensor, at::Tensor> strings_pixels_cpu(const at::Tensor& chars,
                                                                  const at::Tensor& char_offsets) {
  check_strings_arguments(Kernel::kCpu, chars, char_offsets);
  const at::Tensor text = contiguous_on_pool(chars, kStrings, "chars");
  const at::Tensor starts = contiguous_on_pool(char_offsets, kStrings, "char_offsets");
  const int64_t items = starts.size(0) - 1;
  const int64_t* offsets = starts.const_data_ptr<int64_t>();
  check_offsets(kStrings, offsets, items, "char_offsets", text.size(0), "characters");
  auto [counts, lengths, pixels] = strings_outputs(chars, char_offsets);
  advise_huge_pages(counts.data_ptr(), counts.nbytes());  // 8 bytes a character
  const uint8_t* data = text.const_data_ptr<uint8_t>();
  int64_t* runs = counts.data_ptr<int64_t>();
  int64_t *run_counts = lengths.data_ptr<int64_t>(), *pixel_counts = pixels.data_ptr<int64_t>();
  const int64_t typical = std::max<int64_t>(1, text.size(0) / std::max<int64_t>(1, items));
  // Only the items' characters are written; a range before the first or
  // after the last item (offsets start at 0 and end at B) cannot exist.
  parallel_for(0, items, grain_for(3 * typical + 20), [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) {
      const int64_t begin = offsets[i], length = offsets[i + 1] - begin;
      int64_t item_pixels = 0;
      const int64_t count = decode_counts(data + begin, length, runs + begin, item_pixels);
      std::fill(runs + begin + std::max<int64_t>(count, 0), runs + begin + length, 0);
      run_counts[i] = count;
      pixel_counts[i] = item_pixels;
    }
  });
  for (int64_t i = 0; i < items; ++i) {
    TORCH_CHECK_VALUE(run_counts[i] >= 0, kStrings, ": item ", i, " is not a COCO RLE string (at ",
                      "character ", -1 - run_counts[i], ": each is '0' to 'o', a run is at most ",
                      "32 bits, none negative)");
  }
  return {counts, lengths, pixels};
}

std::tuple<at::Tensor, at::Tensor> coco_rle_from_strings_cpu(const at::Tensor& chars,
                                                             const at::Tensor& char_offsets) {
  auto [counts, lengths, pixels] = strings_pixels_cpu(chars, char_offsets);
  return {counts, lengths};
}

// ---- polygons: rleFrPoly + merge ----------------------------------------------

// C's (int) cast of a double as x86-64 performs it (cvttsd2si): truncation,
// and INT_MIN for NaN or a value out of range. rleFrPoly divides 0 by 0 for
// a vertex repeated after rounding and casts the NaN: its result depends on
// this, so it is spelled out instead of left undefined.
int x86_int(double value) {
#if defined(__x86_64__) || defined(_M_X64)
  return _mm_cvttsd_si32(_mm_set_sd(value));  // the instruction itself: no branch
#else
  if (std::isnan(value) || value >= 2147483648.0 || value <= -2147483649.0) {
    return INT_MIN;
  }
  return static_cast<int>(value);
#endif
}

// The column-major pixel indices where a rasterised polygon's runs change,
// rleFrPoly's arithmetic step by step (its y-boundary points, sorted, with
// h * w last). rleFrPoly stores every point of the upsampled boundary and
// maps each back with two double divisions by 5; here each point is taken
// as it is made, and the mapping is done in integers, which gives the same
// values (see boundary_change).
struct PolygonScratch {
  std::vector<int> x, y;
  std::vector<uint32_t> steps, runs;
};

// rleFrPoly maps a boundary step from (u0, v0) to (u1, v1), u1 != u0, to a
// pixel: with X the column step's lower end and Y the lower row, it takes
// xd = (X + .5) / 5 - .5 and yd = (Y + .5) / 5 - .5 in doubles. Those are
// (X - 2) / 5 and (Y - 2) / 5 to within 1e-9 for |X|, |Y| < 2^24, and a
// fifth is 0.2 from an integer, so: xd is an integer exactly when
// X - 2 is a multiple of 5, and ceil(yd) is the integer ceiling of (Y - 2) / 5.
// Returns false where rleFrPoly skips the step.
inline bool boundary_change(int u0, int v0, int u1, int v1, int64_t h, uint64_t w,
                            uint32_t& change) {
  const int64_t column_end = u1 < u0 ? u1 : int64_t{u1} - 1;
  const int64_t x_shift = column_end - 2;
  if (x_shift < 0 || x_shift % 5 != 0) {
    return false;  // xd < 0, or not an integer
  }
  const int64_t column = x_shift / 5;
  if (w > 0 && static_cast<uint64_t>(column) > w - 1) {
    return false;  // xd > w - 1 (with w = 0, siz arithmetic makes w - 1 huge)
  }
  const int64_t row_low = v1 < v0 ? v1 : v0;
  int64_t row = row_low < 2 ? 0 : (row_low - 2 + 4) / 5;  // ceil(yd), yd clamped at 0
  row = std::min(row, h);                                 // and at h
  // (int) xd * (int) h + (int) yd, in C's int arithmetic wrapped to 32 bits.
  change = static_cast<uint32_t>(column) * static_cast<uint32_t>(h) + static_cast<uint32_t>(row);
  return true;
}

void polygon_changes(const double* xy, int64_t k, int64_t h, int64_t w, PolygonScratch& scratch,
                     std::vector<uint32_t>& changes) {
  constexpr double kScale = 5;
  std::vector<int>&x = scratch.x, &y = scratch.y;
  x.resize(k + 1);
  y.resize(k + 1);
  for (int64_t j = 0; j < k; ++j) {
    x[j] = x86_int(kScale * xy[2 * j] + .5);
    y[j] = x86_int(kScale * xy[2 * j + 1] + .5);
  }
  x[k] = k > 0 ? x[0] : 0;
  y[k] = k > 0 ? y[0] : 0;
  changes.clear();
  bool started = false;
  int u_before = 0, v_before = 0;
  uint32_t change = 0;
  const auto point = [&](int u, int v) {  // the next point densely along the boundary
    if (started && u != u_before &&
        boundary_change(u_before, v_before, u, v, h, static_cast<uint64_t>(w), change)) {
      changes.push_back(change);
    }
    started = true;
    u_before = u;
    v_before = v;
  };
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
    const auto row_at = [&](int t) { return x86_int(ys + s * t + .5); };
    if (dx >= dy) {  // a column a point: a step maps to a column 1 time in 5
      const int first = flip ? dx : 0, last = flip ? 0 : dx;
      point(first + xs, row_at(first));  // paired with the edge before
      for (int d = 1; d <= dx; ++d) {
        const int t = flip ? dx - d : d, t_before = flip ? t + 1 : t - 1;
        const int column_end = std::min(t, t_before) + xs;
        // boundary_change's own first test, before the rows are computed.
        if (column_end >= 2 && (column_end - 2) % 5 == 0 &&
            boundary_change(t_before + xs, row_at(t_before), t + xs, row_at(t), h,
                            static_cast<uint64_t>(w), change)) {
          changes.push_back(change);
        }
      }
      u_before = last + xs;
      v_before = row_at(last);
    } else {
      for (int d = 0; d <= dy; ++d) {
        const int t = flip ? dy - d : d;
        point(x86_int(xs + s * t + .5), t + ys);
      }
    }
  }
  changes.push_back(static_cast<uint32_t>(h * w));
  std::sort(changes.begin(), changes.end());
}

// One polygon's runs from its change points (differences, a zero-length run
// folding the next run into the one before, as rleFrPoly does), appended to
// `ones` as [start, end) intervals of ones.
void polygon_ones(const std::vector<uint32_t>& changes, PolygonScratch& scratch,
                  std::vector<std::pair<int64_t, int64_t>>& ones) {
  std::vector<uint32_t>&runs = scratch.runs, &steps = scratch.steps;
  runs.clear();
  uint32_t previous = 0;
  steps.resize(changes.size());
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
    PolygonScratch scratch;
    for (int64_t i = first; i < last; ++i) {
      ones.clear();
      const int64_t h = size[2 * i], w = size[2 * i + 1];
      for (int64_t q = item_at[i]; q < item_at[i + 1]; ++q) {
        const int64_t begin = polygon_at[q], vertices = (polygon_at[q + 1] - begin) / 2;
        polygon_changes(points + begin, vertices, h, w, scratch, changes);
        polygon_ones(changes, scratch, ones);
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

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def(
      "coco_rle_from_strings(Tensor chars, Tensor char_offsets) -> (Tensor counts, Tensor "
      "lengths)");
  // coco_rle_from_strings with each item's pixels: coco_evaluate checks
  // that they cover its image with no second pass over the runs.
  m.def(
      "_coco_rle_from_strings_pixels(Tensor chars, Tensor char_offsets) -> (Tensor counts, "
      "Tensor lengths, Tensor pixels)");
  m.def(
      "coco_rle_from_polygons(Tensor coordinates, Tensor polygon_offsets, Tensor "
      "annotation_offsets, Tensor sizes) -> (Tensor counts, Tensor offsets)");
  m.def(
      "_coco_rle_from_polygons_checks(Tensor coordinates, Tensor polygon_offsets, "
      "Tensor annotation_offsets, Tensor sizes) -> ()");
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("coco_rle_from_strings", &coco_rle_from_strings_cpu);
  m.impl("_coco_rle_from_strings_pixels", &strings_pixels_cpu);
  m.impl("coco_rle_from_polygons", &coco_rle_from_polygons_cpu);
  m.impl("_coco_rle_from_polygons_checks", &coco_rle_from_polygons_checks_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) {
  m.impl("coco_rle_from_strings", &coco_rle_from_strings_meta);
  m.impl("_coco_rle_from_strings_pixels", &strings_pixels_meta);
  m.impl("_coco_rle_from_polygons_checks", &coco_rle_from_polygons_checks_meta);
}

}  // namespace mt::detection
