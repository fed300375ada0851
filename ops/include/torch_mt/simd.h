// Runtime choice of the SIMD paths some kernels have (the edit-distance lanes,
// the assignment solver's column scan): each has a portable twin that gives
// bitwise the same results, used where AVX2 is missing or switched off. Public
// (through <torch_mt/parallel.h>) so that a user's kernel with a SIMD path
// follows the same switch.
#pragma once

#include <cstdlib>

namespace mt::simd {

#if defined(__x86_64__)
// True when this CPU has AVX2 and TORCH_MT_DISABLE_SIMD is unset (the tests
// set it to check the portable paths against the same references).
inline bool avx2_enabled() {
  static const bool enabled =
      __builtin_cpu_supports("avx2") && std::getenv("TORCH_MT_DISABLE_SIMD") == nullptr;
  return enabled;
}
#else
inline bool avx2_enabled() { return false; }
#endif

}  // namespace mt::simd
