// Runtime choice of the SIMD paths some kernels have (the edit-distance lanes,
// the assignment solver's column scan): each has a portable twin that gives
// bitwise the same results, used where AVX2 is missing or switched off. A
// kernel may also have an AVX-512 variant (same bits again), used where the
// CPU has AVX-512 F, BW, DQ and VL and TORCH_MT_DISABLE_AVX512 is unset. Public
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

// True when AVX2 is enabled and this CPU also has AVX-512 F, BW, DQ and VL, unless
// TORCH_MT_DISABLE_AVX512 is set (the tests set it to check the AVX2
// variants on a CPU that has both).
inline bool avx512_enabled() {
  static const bool enabled =
      avx2_enabled() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
      std::getenv("TORCH_MT_DISABLE_AVX512") == nullptr;
  return enabled;
}
#else
inline bool avx2_enabled() { return false; }
inline bool avx512_enabled() { return false; }
#endif

}  // namespace mt::simd
