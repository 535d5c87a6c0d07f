// Element-wise helpers for the optimizers' fused loops: written as plain
// branch-free float/double code so that GCC vectorizes the loops that call
// them (-O3, -fno-math-errno, no -ffast-math: every result is the same on
// every run and in every loop position).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace shoal::vec {

// exp(x) for x <= 0 (Cephes expf: x = n ln2 + r, |r| <= ln2/2, degree-6
// polynomial, 2^n by exponent bits). Relative error ~2 ulp. x below -87 is
// clamped (result ~1e-38); the clamp is an integer min on the bit pattern of
// -x, because a float compare-and-select lets GCC split the loop into a
// branch (and -ftrapping-math then blocks vectorizing it; so does std::floor).
inline float ExpNonPositive(float x) {
  int32_t a = std::bit_cast<int32_t>(-x);
  const int32_t k = std::bit_cast<int32_t>(87.0f);
  a = a < k ? a : k;
  x = -std::bit_cast<float>(a);
  const int n = -static_cast<int>(x * -1.44269504088896341f + 0.5f);  // round(x log2 e), x <= 0
  const float fn = static_cast<float>(n);
  const float r = (x - fn * 0.693359375f) - fn * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  return y * std::bit_cast<float>((n + 127) << 23);
}

// sign(x) with sign(0) = 0, as a float.
inline float Sign(float x) { return (x > 0.0f ? 1.0f : 0.0f) - (x < 0.0f ? 1.0f : 0.0f); }

// Fixed-order sums in double over kLanes interleaved lanes (lane j takes
// entries j, j + kLanes, ...), lanes added in order at the end: the same
// result on every call, and a loop the compiler vectorizes.
inline constexpr int kLanes = 16;
struct LaneSum {
  double lane[kLanes] = {};
  double Total() const {
    double s = 0;
    for (double x : lane) s += x;
    return s;
  }
};

}  // namespace shoal::vec
