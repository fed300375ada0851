// Binary masks to and from COCO's run-length masks (RLE, layout in
// coco_rle.h), as maskUtils.encode and maskUtils.decode, in parallel:
//
//   coco_rle_encode(masks [N, H, W] bool or uint8) -> (counts [S], offsets [N + 1])
//   coco_rle_decode(counts [S], offsets [N + 1] or spans [N, 2], int height, int width)
//       -> masks [N, height, width] bool
//
// encode's runs are maskUtils.encode's: column-major, from zeros (a first
// zero-length run where the mask starts with a 1), no other empty run. Their
// number depends on the pixels, so encode has a Python fake
// (torch_mt/detection/coco/fakes.py) that calls mt::_coco_rle_encode_checks.
// decode needs each RLE's runs to cover height x width pixels.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <cstdint>
#include <tuple>
#include <vector>

#include <torch_mt/parallel.h>
#include "coco_checks.h"
#include "coco_rle.h"

namespace mt::detection {
namespace {

using namespace coco_rle;  // NOLINT: the family's shared mask checks

constexpr const char* kEncode = "mt::coco_rle_encode";
constexpr const char* kDecode = "mt::coco_rle_decode";

void check_encode_arguments(Kernel kernel, const at::Tensor& masks) {
  check_devices(kEncode, kernel, {{&masks, "masks"}});
  check_dim(kEncode, masks, "masks", 3, "[N, H, W]");
  TORCH_CHECK_TYPE(masks.scalar_type() == at::kBool || masks.scalar_type() == at::kByte, kEncode,
                   ": argument 'masks' must be bool or uint8, got ",
                   dtype_name(masks.scalar_type()));
}

// One mask's runs, reading it column by column (a set pixel is nonzero).
void encode_one(const uint8_t* pixels, int64_t height, int64_t width, std::vector<int64_t>& runs) {
  runs.clear();
  uint8_t current = 0;
  int64_t length = 0;
  for (int64_t x = 0; x < width; ++x) {
    for (int64_t y = 0; y < height; ++y) {
      const uint8_t value = pixels[y * width + x] != 0 ? 1 : 0;
      if (value != current) {
        runs.push_back(length);
        length = 0;
        current = value;
      }
      ++length;
    }
  }
  runs.push_back(length);
}

std::tuple<at::Tensor, at::Tensor> coco_rle_encode_cpu(const at::Tensor& masks) {
  check_encode_arguments(Kernel::kCpu, masks);
  const at::Tensor bytes = contiguous_on_pool(
      masks.scalar_type() == at::kBool ? masks.view(at::kByte) : masks, kEncode, "masks");
  const int64_t items = bytes.size(0), height = bytes.size(1), width = bytes.size(2);
  const uint8_t* data = bytes.const_data_ptr<uint8_t>();
  std::vector<std::vector<int64_t>> per_item(static_cast<size_t>(items));
  parallel_for(0, items, grain_for(height * width + 10), [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) {
      encode_one(data + i * height * width, height, width, per_item[i]);
    }
  });
  const auto options = masks.options().dtype(at::kLong);
  at::Tensor offsets = at::empty({items + 1}, options);
  int64_t* at = offsets.data_ptr<int64_t>();
  at[0] = 0;
  for (int64_t i = 0; i < items; ++i) {
    at[i + 1] = at[i] + static_cast<int64_t>(per_item[i].size());
  }
  at::Tensor counts = at::empty({at[items]}, options);
  int64_t* runs = counts.data_ptr<int64_t>();
  parallel_for(0, items, grain_for(200), [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) {
      std::copy(per_item[i].begin(), per_item[i].end(), runs + at[i]);
    }
  });
  return {counts, offsets};
}

void coco_rle_encode_checks_meta(const at::Tensor& masks) {
  check_encode_arguments(Kernel::kMeta, masks);
}
void coco_rle_encode_checks_cpu(const at::Tensor& masks) {
  check_encode_arguments(Kernel::kCpu, masks);
}

void check_decode_arguments(Kernel kernel, const at::Tensor& counts, const at::Tensor& offsets,
                            int64_t height, int64_t width) {
  check_rle_arguments(kDecode, kernel, counts, offsets, "counts", "offsets");
  TORCH_CHECK_VALUE(height >= 0 && width >= 0, kDecode,
                    ": arguments 'height' and 'width' must be >= 0, got ", height, " and ", width);
}

at::Tensor coco_rle_decode_meta(const at::Tensor& counts, const at::Tensor& offsets, int64_t height,
                                int64_t width) {
  check_decode_arguments(Kernel::kMeta, counts, offsets, height, width);
  return at::empty_symint({rle_count(offsets), height, width}, counts.options().dtype(at::kBool));
}

at::Tensor coco_rle_decode_cpu(const at::Tensor& counts, const at::Tensor& offsets, int64_t height,
                               int64_t width) {
  check_decode_arguments(Kernel::kCpu, counts, offsets, height, width);
  const at::Tensor c = contiguous_on_pool(counts, kDecode, "counts");
  const at::Tensor o = contiguous_on_pool(offsets, kDecode, "offsets");
  const int64_t items = rle_count(o).expect_int();
  const int64_t* runs = c.const_data_ptr<int64_t>();
  const RunSpans spans = check_runs(kDecode, runs, c.size(0), o, items, "counts", "offsets");
  for (int64_t i = 0; i < items; ++i) {
    int64_t pixels = 0;
    for (int64_t r = spans.begin(i); r < spans.end(i); ++r) {
      pixels += runs[r];
    }
    TORCH_CHECK_VALUE(pixels == height * width, kDecode, ": RLE ", i, "'s runs cover ", pixels,
                      " pixels, a ", height, " x ", width, " mask has ", height * width);
  }
  at::Tensor masks = at::zeros({items, height, width}, c.options().dtype(at::kBool));
  bool* out = masks.data_ptr<bool>();
  parallel_for(0, items, grain_for(height * width / 4 + 10), [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) {
      bool* mask = out + i * height * width;
      int64_t at = 0;
      for (int64_t r = spans.begin(i); r < spans.end(i); ++r) {
        if ((r - spans.begin(i)) % 2 == 1) {
          for (int64_t p = at; p < at + runs[r]; ++p) {  // column-major pixel p
            mask[(p % height) * width + p / height] = true;
          }
        }
        at += runs[r];
      }
    }
  });
  return masks;
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  m.def("coco_rle_encode(Tensor masks) -> (Tensor counts, Tensor offsets)");
  m.def("_coco_rle_encode_checks(Tensor masks) -> ()");
  m.def("coco_rle_decode(Tensor counts, Tensor offsets, int height, int width) -> Tensor");
}

TORCH_LIBRARY_IMPL(mt, CompositeExplicitAutograd, m) {
  m.impl("coco_rle_encode", &coco_rle_encode_cpu);
  m.impl("_coco_rle_encode_checks", &coco_rle_encode_checks_cpu);
  m.impl("coco_rle_decode", &coco_rle_decode_cpu);
}

TORCH_LIBRARY_IMPL(mt, Meta, m) {
  m.impl("_coco_rle_encode_checks", &coco_rle_encode_checks_meta);
  m.impl("coco_rle_decode", &coco_rle_decode_meta);
}

}  // namespace mt::detection
