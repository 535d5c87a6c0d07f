// Highway kernels of the cpu_simd backend for int8 block-wise quantisation
// (stochastic rounding) and softmax cross-entropy (contract in
// core/backend_cpu_simd_kernels.h). Included once per target by
// hwy/foreach_target.h; the dispatch wrappers are in HWY_ONCE below.
//
// Quantisation must be memory-bound: one 16-lane hash vector gives the noise
// of 32 values (backend_rng::QuantizeNoise15's two halves), a multiply
// replaces the divide, and the fixed-point rounding of QuantizeValue is a
// magic-number add, an integer add and a shift (no floor, no float-to-int
// conversion fix-ups). Bit-identical to cpu_ref.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/backend_cpu_simd_quantize.cc"
// clang-format off
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// clang-format on

#include <hwy/cache_control.h>
#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/backend_cpu_simd_kernels.h"
#include "core/backend_rng.h"

HWY_BEFORE_NAMESPACE();
namespace shoal::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// At most 16 lanes: one hash vector covers the 16 words of a 32-value group.
using DQ = hn::CappedTag<float, 16>;
using DQU = hn::RebindToUnsigned<DQ>;
using DQI = hn::RebindToSigned<DQ>;

// max |x| (order-independent, so exact); four accumulators hide the latency of Max.
HWY_INLINE float MaxAbs(const float* x, size_t n) {
  const DQ d;
  const size_t N = hn::Lanes(d);
  auto m0 = hn::Zero(d), m1 = m0, m2 = m0, m3 = m0;
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    m0 = hn::Max(m0, hn::Abs(hn::LoadU(d, x + i)));
    m1 = hn::Max(m1, hn::Abs(hn::LoadU(d, x + i + N)));
    m2 = hn::Max(m2, hn::Abs(hn::LoadU(d, x + i + 2 * N)));
    m3 = hn::Max(m3, hn::Abs(hn::LoadU(d, x + i + 3 * N)));
  }
  for (; i + N <= n; i += N) m0 = hn::Max(m0, hn::Abs(hn::LoadU(d, x + i)));
  float mx = hn::GetLane(hn::MaxOfLanes(d, hn::Max(hn::Max(m0, m1), hn::Max(m2, m3))));
  for (; i < n; ++i) mx = std::max(mx, std::fabs(x[i]));
  return mx;
}

HWY_INLINE hn::Vec<DQU> Hash32V(hn::Vec<DQU> x) {
  const DQU du;
  x = hn::Xor(x, hn::ShiftRight<16>(x));
  x = hn::Mul(x, hn::Set(du, 0x7feb352du));
  x = hn::Xor(x, hn::ShiftRight<15>(x));
  x = hn::Mul(x, hn::Set(du, 0x846ca68bu));
  return hn::Xor(x, hn::ShiftRight<16>(x));
}

// q[0..N) = QuantizeValue(x[t], s15, -, k[t]) for a block whose s15 is finite,
// with `noise` = k + 2^22 (k < 2^15 in the low bits). y + 1.5 * 2^23 is exact
// and rounds y to the nearest integer Y (|y| < 2^22), leaving the float's bits
// 0x4B400000 + Y = 0x9680 * 2^15 + Y; with the 2^22 = 0x80 * 2^15 in the noise,
// (bits + noise) >> 15 = 0x9700 + floor((Y + k) / 2^15), whose low byte is q.
HWY_INLINE void QuantizeVec(const float* x, hn::Vec<DQ> vs15, hn::Vec<DQI> noise, int8_t* q) {
  const DQ d;
  const DQI di;
  const hn::Rebind<uint8_t, DQ> d8;
  const auto bits = hn::BitCast(di, hn::Add(hn::Mul(hn::LoadU(d, x), vs15), hn::Set(d, 12582912.0f)));
  auto r = hn::ShiftRight<15>(hn::Add(bits, noise));
  r = hn::Min(hn::Max(r, hn::Set(di, 0x9700 - 127)), hn::Set(di, 0x9700 + 127));
  hn::StoreU(hn::TruncateTo(d8, hn::BitCast(DQU(), r)), d8, reinterpret_cast<uint8_t*>(q));
}

constexpr size_t kAhead = 4096;

void QuantizeInt8Impl(const float* x, size_t n, int64_t block, std::array<uint32_t, 2> key, uint64_t offset, int8_t* q,
                      float* scales) {
  namespace br = backend_rng;
  const DQ d;
  const DQU du;
  const DQI di;
  const size_t N = hn::Lanes(d);  // divides 16
  const auto lane = hn::Iota(du, 0);
  const auto low15 = hn::Set(du, 0x7FFFu), bias = hn::Set(du, 1u << 22);
  uint32_t seg = 0, seed = br::QuantizeSegmentSeed(key, 0);
  for (size_t b = 0, start = 0; start < n; ++b, start += static_cast<size_t>(block)) {
    const size_t len = std::min<size_t>(static_cast<size_t>(block), n - start);
    const float* xb = x + start;
    int8_t* qb = q + start;
    // Software prefetch of every cache line kAhead floats ahead: the hardware
    // prefetcher alone leaves this read stream latency-bound.
    if (start + kAhead + len <= n)
      for (size_t k = 0; k < len; k += 16) hwy::Prefetch(xb + kAhead + k);
    const float mx = MaxAbs(xb, len);
    const float scale = mx / 127.0f, s15 = (127.0f / mx) * 32768.0f;
    scales[b] = scale;
    if (scale == 0.0f) {
      std::memset(qb, 0, len);
      continue;
    }
    const uint64_t pos0 = offset + start;
    size_t t = 0;
    auto scalar = [&](size_t i) { qb[i] = br::QuantizeValue(xb[i], s15, scale, br::QuantizeNoise15(key, pos0 + i)); };
    if (!(s15 <= 3.4028234e38f)) {  // max|x| so small that s15 overflows: the divide form
      for (; t < len; ++t) scalar(t);
      continue;
    }
    for (; t < len && (pos0 + t) % 32 != 0; ++t) scalar(t);
    const auto vs15 = hn::Set(d, s15);
    for (; t + 32 <= len; t += 32) {
      // An aligned 32-group reads words w0 .. w0 + 15 with w0 % 16 == 0: one segment.
      const uint64_t w0 = br::QuantizeNoiseWordIndex(pos0 + t);
      if (static_cast<uint32_t>(w0 >> 32) != seg) {
        seg = static_cast<uint32_t>(w0 >> 32);
        seed = br::QuantizeSegmentSeed(key, seg);
      }
      const auto base = hn::Set(du, static_cast<uint32_t>(w0));
      for (size_t k = 0; k < 16; k += N) {
        const auto h =
            Hash32V(hn::Xor(hn::Add(lane, hn::Add(base, hn::Set(du, static_cast<uint32_t>(k)))), hn::Set(du, seed)));
        QuantizeVec(xb + t + k, vs15, hn::BitCast(di, hn::Or(hn::And(h, low15), bias)), qb + t + k);
        QuantizeVec(xb + t + 16 + k, vs15, hn::BitCast(di, hn::Or(hn::ShiftRight<17>(h), bias)), qb + t + 16 + k);
      }
    }
    for (; t < len; ++t) scalar(t);
  }
}

void DequantizeInt8Impl(const int8_t* q, const float* scales, int64_t block, float* x, size_t n) {
  const hn::ScalableTag<float> d;
  const hn::Rebind<int32_t, decltype(d)> di;
  const hn::Rebind<int8_t, decltype(d)> d8;
  const size_t N = hn::Lanes(d);
  for (size_t b = 0, start = 0; start < n; ++b, start += static_cast<size_t>(block)) {
    const size_t len = std::min<size_t>(static_cast<size_t>(block), n - start);
    const float s = scales[b];
    const auto vs = hn::Set(d, s);
    size_t t = 0;
    for (; t + N <= len; t += N)
      hn::StoreU(hn::Mul(hn::ConvertTo(d, hn::PromoteTo(di, hn::LoadU(d8, q + start + t))), vs), d, x + start + t);
    for (; t < len; ++t) x[start + t] = static_cast<float>(q[start + t]) * s;
  }
}

// ---- softmax cross-entropy: cpu_ref's math in double with Highway's vector
// Exp. One exp per logit: e_j = exp(z_j - max) is kept (rows of up to
// kRowBuf classes; longer rows recompute it) and p_j = e_j / sum replaces
// cpu_ref's exp(z_j - lse); results differ from cpu_ref's by rounding only.
// Row tails go through a padded stack buffer, never past the caller's arrays. ----

using DD = hn::ScalableTag<double>;
using DFH = hn::Rebind<float, DD>;
constexpr size_t kRowBuf = 1024;

HWY_INLINE hn::Vec<DD> LoadPromoted(const float* z, size_t cnt) {
  const DFH df;
  if (cnt == hn::Lanes(df)) return hn::PromoteTo(DD(), hn::LoadU(df, z));
  HWY_ALIGN float tmp[HWY_MAX_BYTES / sizeof(double)] = {};
  std::memcpy(tmp, z, cnt * sizeof(float));
  return hn::PromoteTo(DD(), hn::Load(df, tmp));
}

double SoftmaxXentImpl(const float* logits, const int32_t* labels, int64_t batch, int64_t classes, float* grad,
                       int64_t* correct) {
  const DD dd;
  const DFH df;
  const size_t N = hn::Lanes(dd), C = static_cast<size_t>(classes);
  const bool keep = C <= kRowBuf;
  const auto lane = hn::Iota(dd, 0.0);
  const auto inv_batch = hn::Set(dd, 1.0 / static_cast<double>(batch));
  HWY_ALIGN double e[kRowBuf + HWY_MAX_BYTES / sizeof(double)];
  double total = 0;
  int64_t ok = 0;
  for (int64_t r = 0; r < batch; ++r) {
    const float* z = logits + r * classes;
    int64_t arg = 0;
    float mx = z[0];
    for (size_t j = 1; j < C; ++j)
      if (z[j] > mx) mx = z[j], arg = static_cast<int64_t>(j);
    const auto vmx = hn::Set(dd, static_cast<double>(mx));
    auto vsum = hn::Zero(dd);
    for (size_t j = 0; j < C; j += N) {
      const size_t cnt = std::min(N, C - j);
      auto ej = hn::Exp(dd, hn::Sub(LoadPromoted(z + j, cnt), vmx));
      ej = hn::IfThenElseZero(hn::Lt(lane, hn::Set(dd, static_cast<double>(cnt))), ej);
      if (keep) hn::Store(ej, dd, e + j);
      vsum = hn::Add(vsum, ej);
    }
    const double sum = hn::GetLane(hn::SumOfLanes(dd, vsum));
    const int32_t label = labels[r];
    total += static_cast<double>(mx) + std::log(sum) - static_cast<double>(z[label]);
    if (arg == label) ++ok;
    if (grad == nullptr) continue;
    float* gr = grad + r * classes;
    const auto inv_sum = hn::Set(dd, 1.0 / sum), vlabel = hn::Set(dd, static_cast<double>(label));
    for (size_t j = 0; j < C; j += N) {
      const size_t cnt = std::min(N, C - j);
      const auto ej = keep ? hn::Load(dd, e + j) : hn::Exp(dd, hn::Sub(LoadPromoted(z + j, cnt), vmx));
      const auto hot = hn::Eq(hn::Add(lane, hn::Set(dd, static_cast<double>(j))), vlabel);
      const auto p = hn::Mul(ej, inv_sum);
      const auto g = hn::DemoteTo(df, hn::Mul(hn::Sub(p, hn::IfThenElseZero(hot, hn::Set(dd, 1.0))), inv_batch));
      if (cnt == N) {
        hn::StoreU(g, df, gr + j);
      } else {
        HWY_ALIGN float tmp[HWY_MAX_BYTES / sizeof(double)];
        hn::Store(g, df, tmp);
        std::memcpy(gr + j, tmp, cnt * sizeof(float));
      }
    }
  }
  if (correct) *correct = ok;
  return batch > 0 ? total / static_cast<double>(batch) : 0.0;
}

}  // namespace shoal::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace shoal::simd {

HWY_EXPORT(QuantizeInt8Impl);
HWY_EXPORT(DequantizeInt8Impl);
HWY_EXPORT(SoftmaxXentImpl);

void QuantizeInt8(const float* x, size_t n, int64_t block, std::array<uint32_t, 2> key, uint64_t offset, int8_t* q,
                  float* scales) {
  HWY_DYNAMIC_DISPATCH(QuantizeInt8Impl)(x, n, block, key, offset, q, scales);
}
void DequantizeInt8(const int8_t* q, const float* scales, int64_t block, float* x, size_t n) {
  HWY_DYNAMIC_DISPATCH(DequantizeInt8Impl)(q, scales, block, x, n);
}
double SoftmaxXent(const float* logits, const int32_t* labels, int64_t batch, int64_t classes, float* grad,
                   int64_t* correct) {
  return HWY_DYNAMIC_DISPATCH(SoftmaxXentImpl)(logits, labels, batch, classes, grad, correct);
}

}  // namespace shoal::simd
#endif  // HWY_ONCE
