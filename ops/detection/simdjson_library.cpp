// simdjson's implementation, compiled into the library (coco_json.cpp uses it).
//
// setup.py fetches simdjson's single-file release (simdjson.h, simdjson.cpp)
// at build time and puts its folder on the include path as a system folder,
// so this one line builds it under our flags without reporting its warnings
// as ours (-Werror). simdjson picks its kernels (AVX-512, AVX2, SSE4.2, or
// portable) at run time; coco_json.cpp aligns that choice with <torch_mt/simd.h>.
#include <simdjson.cpp>  // NOLINT(bugprone-suspicious-include): the release is one .cpp
