// Fixed-order float reductions shared by the cpu_simd kernel files (Highway
// per-target header: included from inside foreach_target translation units,
// hence the toggle guard instead of #pragma once).
#if defined(SHOAL_CORE_BACKEND_CPU_SIMD_REDUCE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SHOAL_CORE_BACKEND_CPU_SIMD_REDUCE_INL_H_
#undef SHOAL_CORE_BACKEND_CPU_SIMD_REDUCE_INL_H_
#else
#define SHOAL_CORE_BACKEND_CPU_SIMD_REDUCE_INL_H_
#endif

#include <hwy/highway.h>

#include <cstddef>

HWY_BEFORE_NAMESPACE();
namespace shoal::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// ---- fixed-order reductions: 16 logical double accumulators, lane l of the
// sum owns the elements with index = l (mod 16), whatever the vector width ----

constexpr size_t kLogical = 16;

// logical[(base + t) % 16] += x[t] * y[t] (y == nullptr: x[t]^2).
// REQUIRES base % 16 == 0 unless n < 16.
HWY_INLINE void DotAccumulate(const float* x, const float* y, size_t n, size_t base, double* logical) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<float, decltype(dd)> dfh;
  const size_t N = hn::Lanes(dd);
  size_t t = 0;
  if (base % kLogical == 0 && N >= 2 && N <= 8) {
    const size_t K = kLogical / N;
    hn::Vec<decltype(dd)> acc[8];
    for (size_t k = 0; k < K; ++k) acc[k] = hn::LoadU(dd, logical + k * N);
    for (; t + kLogical <= n; t += kLogical) {
      for (size_t k = 0; k < K; ++k) {
        const auto xv = hn::PromoteTo(dd, hn::LoadU(dfh, x + t + k * N));
        const auto yv = y ? hn::PromoteTo(dd, hn::LoadU(dfh, y + t + k * N)) : xv;
        acc[k] = hn::MulAdd(xv, yv, acc[k]);  // float products are exact in double: FMA == mul + add
      }
    }
    for (size_t k = 0; k < K; ++k) hn::StoreU(acc[k], dd, logical + k * N);
  }
  for (; t < n; ++t) logical[(base + t) % kLogical] += double(x[t]) * double(y ? y[t] : x[t]);
}

HWY_INLINE double CombineLogical(const double* l) {
  double s8[8], s4[4];
  for (int k = 0; k < 8; ++k) s8[k] = l[2 * k] + l[2 * k + 1];
  for (int k = 0; k < 4; ++k) s4[k] = s8[2 * k] + s8[2 * k + 1];
  return (s4[0] + s4[1]) + (s4[2] + s4[3]);
}

}  // namespace shoal::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SHOAL_CORE_BACKEND_CPU_SIMD_REDUCE_INL_H_
