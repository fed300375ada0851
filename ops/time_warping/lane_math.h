// exp and log on kLanes doubles at once, for the soft minimum of the series
// kernels: libm's scalar exp and log were a third of soft-DTW's time (four
// calls a cell and lane). Written with GCC's vector extensions only: the
// same source compiles to SSE2 in the portable code and to AVX2 or AVX-512
// in simd::dispatch()'s entries, and as every operation is an IEEE one (no
// FMA: the entries' targets leave it out), each variant gives the same bits.
//
// Cephes' algorithms (range reduction by ln 2, then a rational or
// polynomial approximation): within 1.5 ulp of the exact result on the
// ranges used here (checked against numpy over 3 million points).
#pragma once

#include <cstdint>
#include <cstring>

#include <torch_mt/parallel.h>
#include "dtw_common.h"

// These take and return 256-bit vectors by value, which GCC warns would
// pass differently with and without AVX; they are always inlined, so no
// call (and no ABI) is ever involved.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"

namespace mt::time_warping {

using LaneBits = int64_t __attribute__((vector_size(kLanes * sizeof(int64_t))));
using LaneWords = uint64_t __attribute__((vector_size(kLanes * sizeof(uint64_t))));

MT_SIMD_INLINE LaneBits bits_of(const Lanes& x) {
  LaneBits bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
}

MT_SIMD_INLINE Lanes lanes_of(const LaneBits& bits) {
  Lanes x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

// Polynomial in x with coefficients from the highest degree down.
template <int kCount>
MT_SIMD_INLINE Lanes polynomial(const Lanes& x, const double (&coefficients)[kCount]) {
  Lanes result = Lanes{} + coefficients[0];
  for (int i = 1; i < kCount; ++i) {
    result = result * x + coefficients[i];
  }
  return result;
}

// 1.5 * 2**52: added to a double below 2**51 in magnitude, it rounds it to
// an integer held in the low bits of the sum.
constexpr double kRoundingShift = 6755399441055744.0;

// e**x for x <= 0 (the soft minimum's exponents): 0 below -708 (a term
// under 1e-307 of the smallest one's 1), and exactly 1 at 0.
MT_SIMD_INLINE Lanes exp_lanes(const Lanes& x) {
  constexpr double kLog2e = 1.4426950408889634073599;
  constexpr double kLn2High = 6.93145751953125e-1, kLn2Low = 1.42860682030941723212e-6;
  constexpr double kNumerator[] = {1.26177193074810590878e-4, 3.02994407707441961300e-2,
                                   9.99999999999999999910e-1};
  constexpr double kDenominator[] = {3.00198505138664455042e-6, 2.52448340349684104192e-3,
                                     2.27265548208155028766e-1, 2.00000000000000000009e0};
  const LaneBits underflows = x < -708.0;
  const Lanes safe = underflows ? Lanes{} : x;  // also keeps -inf out of the arithmetic
  const Lanes shifted = safe * kLog2e + kRoundingShift;
  const Lanes n = shifted - kRoundingShift;  // round(x / ln 2)
  Lanes r = safe - n * kLn2High;
  r = r - n * kLn2Low;
  const Lanes square = r * r;
  const Lanes p = r * polynomial(square, kNumerator);
  const Lanes fraction = 1.0 + 2.0 * (p / (polynomial(square, kDenominator) - p));
  // 2**n: n's bits sit in the low bits of `shifted`; n >= -1022 here.
  const LaneBits power = (bits_of(shifted) - bits_of(Lanes{} + kRoundingShift) + 1023) << 52;
  const Lanes result = fraction * lanes_of(power);
  return underflows ? Lanes{} : result;
}

// ln x for finite x >= 1 (the soft minimum's sums of terms).
MT_SIMD_INLINE Lanes log_lanes(const Lanes& x) {
  constexpr double kNumerator[] = {1.01875663804580931796e-4, 4.97494994976747001425e-1,
                                   4.70579119878881725854e0,  1.44989225341610930846e1,
                                   1.79368678507819816313e1,  7.70838733755885391666e0};
  constexpr double kDenominator[] = {1.0,
                                     1.12873587189167450590e1,
                                     4.52279145837532221105e1,
                                     8.29875266912776603211e1,
                                     7.11544750618563894466e1,
                                     2.31251620126765340583e1};
  // x = mantissa * 2**exponent with the mantissa in [0.5, 1).
  const LaneBits bits = bits_of(x);
  // (A logical shift: x > 0, and SSE2 and AVX2 have no 64-bit arithmetic one.)
  const LaneBits exponent_bits =
      reinterpret_cast<LaneBits>(reinterpret_cast<LaneWords>(bits) >> 52) - 1022;
  Lanes mantissa = lanes_of((bits & 0x000fffffffffffff) | 0x3fe0000000000000);
  Lanes exponent =
      lanes_of(exponent_bits + bits_of(Lanes{} + kRoundingShift)) - kRoundingShift;  // as a double
  // Mantissas below sqrt(1/2) are doubled, so that m - 1 lies in [-0.29, 0.41].
  const LaneBits low = mantissa < 0.70710678118654752440;
  exponent = low ? exponent - 1.0 : exponent;
  const Lanes m = low ? mantissa + mantissa - 1.0 : mantissa - 1.0;
  const Lanes square = m * m;
  Lanes y = m * (square * polynomial(m, kNumerator) / polynomial(m, kDenominator));
  y = y - exponent * 2.121944400546905827679e-4;
  y = y - 0.5 * square;
  return m + y + exponent * 0.693359375;
}

// softmin_with_shares() on every lane (softmin.h): the soft minimum into
// `value`, and with `shares` each argument's share of it into
// shares[kDiagonal, kUp, kLeft] (all 0 where every argument is +inf, the
// minimum then +inf). The smallest argument's term is exp(0) = 1 exactly,
// as there. (Arguments by reference: see the pragma above.)
MT_SIMD_INLINE void softmin_lanes(const Lanes& diagonal, const Lanes& up, const Lanes& left,
                                  double gamma, Lanes& value, Lanes* shares) {
  Lanes smallest = diagonal < up ? diagonal : up;
  smallest = left < smallest ? left : smallest;
  const LaneBits none = smallest == kInf;
  const Lanes base = none ? Lanes{} : smallest;  // (no inf - inf below)
  const Lanes t0 = exp_lanes((base - diagonal) / gamma);
  const Lanes t1 = exp_lanes((base - up) / gamma);
  const Lanes t2 = exp_lanes((base - left) / gamma);
  const Lanes total = t0 + t1 + t2;
  if (shares != nullptr) {
    shares[0] = none ? Lanes{} : t0 / total;
    shares[1] = none ? Lanes{} : t1 / total;
    shares[2] = none ? Lanes{} : t2 / total;
  }
  const Lanes soft = smallest - gamma * log_lanes(none ? Lanes{} + 1.0 : total);
  value = none ? Lanes{} + kInf : soft;
}

}  // namespace mt::time_warping

#pragma GCC diagnostic pop
