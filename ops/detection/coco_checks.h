// What the COCO operators (coco_match.cpp, coco_accumulate.cpp) check alike.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace mt {

// CPU: the offsets run from 0 to the annotation count without decreasing.
inline void check_offsets(const char* op, const int64_t* offsets, int64_t cells, const char* name,
                          int64_t count, const char* counted) {
  TORCH_CHECK_VALUE(offsets[0] == 0, op, ": ", name, "[0] must be 0, got ", offsets[0]);
  for (int64_t c = 0; c < cells; ++c) {
    TORCH_CHECK_VALUE(offsets[c + 1] >= offsets[c], op, ": ", name, " must not decrease, but ",
                      name, "[", c + 1, "] = ", offsets[c + 1], " < ", name, "[", c,
                      "] = ", offsets[c]);
  }
  TORCH_CHECK_VALUE(offsets[cells] == count, op, ": ", name, "[-1] must be the number of ", counted,
                    ", ", count, ", got ", offsets[cells]);
}

}  // namespace mt
