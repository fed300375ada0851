// The one way torch_mt's kernels pick an instruction set. Public (through
// <torch_mt/parallel.h>) so that a user's kernel with a SIMD path follows
// the same switches.
//
// The pattern (docs/design.md, "SIMD"): a kernel asks isa() once, where it
// is called, and passes the answer to dispatch() around each piece of work
// (a chunk on the pool): dispatch() calls the body with an ISA tag
// (Portable, Avx2, Avx512) from an entry compiled under that ISA's target
// attribute with everything the body calls inlined into it (`flatten`).
// The body passes its tag down, and code below branches on it with
// `if constexpr` (never asking the CPU again) to helpers marked
// MT_TARGET_AVX2 / MT_TARGET_AVX512, the only places intrinsics appear
// (GCC cannot compile an intrinsic inside the generic body itself, nor in
// a lambda). Every generic function between the body and those helpers is
// MT_SIMD_INLINE: GCC will not inline one that calls a helper of another
// target, so `flatten` would leave each helper a call.
//
//   const simd::Isa chosen = simd::isa();
//   parallel_for(0, n, grain, [&](int64_t first, int64_t last) {
//     simd::dispatch(chosen, [&](auto isa) { chunk(isa, first, last); });
//   });
//
// Every variant gives bitwise the same results as the portable one (the
// tests run each against it through the switches below).
#pragma once

#include <cstdlib>

namespace mt::simd {

// The instruction sets a kernel is compiled for, narrowest first.
enum class Isa { portable, avx2, avx512 };

// Tags for a kernel body's template parameter.
struct Portable {
  static constexpr Isa isa = Isa::portable;
};
struct Avx2 {
  static constexpr Isa isa = Isa::avx2;
};
struct Avx512 {
  static constexpr Isa isa = Isa::avx512;
};

#if defined(__x86_64__)
// The target attributes of the entries. AVX2 with BMI1/2, POPCNT and LZCNT:
// every CPU with AVX2 has them (x86-64-v3 without FMA: contracting a * b + c
// into an FMA would round differently from the portable code). AVX-512 is
// F, BW, DQ and VL (Skylake-SP and later, Zen 4); it brings FMA with it, so
// kernels are built with -ffp-contract=off (setup.py, cpp_extension).
#define MT_TARGET_AVX2 __attribute__((target("avx2,bmi,bmi2,popcnt,lzcnt")))
#define MT_TARGET_AVX512 \
  __attribute__((target("avx2,bmi,bmi2,popcnt,lzcnt,avx512f,avx512bw,avx512dq,avx512vl")))
#define MT_ENTRY_AVX2 __attribute__((target("avx2,bmi,bmi2,popcnt,lzcnt"), flatten))
#define MT_ENTRY_AVX512 \
  __attribute__((target("avx2,bmi,bmi2,popcnt,lzcnt,avx512f,avx512bw,avx512dq,avx512vl"), flatten))
#endif
#define MT_SIMD_INLINE __attribute__((always_inline)) inline

// Whether the switch `name` is set on: to anything but "" and "0" (so that
// TORCH_MT_DISABLE_AVX512=0 leaves AVX-512 on, as a user would expect).
inline bool switched_on(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && value[0] != '\0' && !(value[0] == '0' && value[1] == '\0');
}

// The instruction set this process's kernels run, decided once: AVX-512
// where the CPU has it, else AVX2 where it has that, else portable.
// TORCH_MT_DISABLE_AVX512=1 caps it at AVX2 (what AMD Zen 2/3 and older
// Intel run), TORCH_MT_DISABLE_SIMD=1 at portable: the tests set them to
// check every variant against the same references on one machine.
inline Isa isa() {
#if defined(__x86_64__)
  static const Isa chosen = [] {
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
                      __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt") &&
                      !switched_on("TORCH_MT_DISABLE_SIMD");
    if (!avx2) {
      return Isa::portable;
    }
    const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                        !switched_on("TORCH_MT_DISABLE_AVX512");
    return avx512 ? Isa::avx512 : Isa::avx2;
  }();
  return chosen;
#else
  return Isa::portable;
#endif
}

#if defined(__x86_64__)
// dispatch()'s entries: the body instantiated for a tag, inlined here with
// everything it calls, under the tag's target.
template <class Body>
MT_ENTRY_AVX2 void run_as_avx2(Body& body) {
  body(Avx2{});
}
template <class Body>
MT_ENTRY_AVX512 void run_as_avx512(Body& body) {
  body(Avx512{});
}
#endif

// Calls body(tag) for `chosen` (an isa() taken once at the kernel's entry):
// body(Avx512{}) or body(Avx2{}) compiled for that instruction set, else
// body(Portable{}).
template <class Body>
void dispatch(Isa chosen, Body&& body) {
#if defined(__x86_64__)
  switch (chosen) {
    case Isa::avx512: run_as_avx512(body); return;
    case Isa::avx2: run_as_avx2(body); return;
    case Isa::portable: break;
  }
#else
  (void)chosen;
#endif
  body(Portable{});
}

// Earlier spellings of isa() >= avx2 and isa() == avx512, kept for users'
// kernels written against them.
inline bool avx2_enabled() { return isa() != Isa::portable; }
inline bool avx512_enabled() { return isa() == Isa::avx512; }

}  // namespace mt::simd
