// Highway kernels of the cpu_simd backend driven by the counter-based RNG:
// vectorised Philox4x32-10, Gaussian fill, count sketch and random
// projections (contract in core/backend_cpu_simd_kernels.h). Included once per
// target by hwy/foreach_target.h; the dispatch wrappers are in HWY_ONCE below.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/backend_cpu_simd_random.cc"
// clang-format off
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// clang-format on

#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/backend_cpu_simd_kernels.h"
#include "core/backend_cpu_simd_reduce-inl.h"
#include "core/backend_rng.h"
#include "core/rng.h"

HWY_BEFORE_NAMESPACE();
namespace shoal::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DD = hn::ScalableTag<double>;
using DU64 = hn::ScalableTag<uint64_t>;
constexpr size_t kMaxU64Lanes = HWY_MAX_BYTES / 8;
constexpr size_t kChunk = 256;  // elements per RNG buffer

// ---- Philox4x32-10 on 64-bit lanes holding 32-bit words ----

struct Words {
  hn::Vec<DU64> w0, w1, w2, w3;
};

HWY_INLINE Words PhiloxV(hn::Vec<DU64> c0, hn::Vec<DU64> c1, hn::Vec<DU64> c2, hn::Vec<DU64> c3,
                         std::array<uint32_t, 2> key) {
  const DU64 d;
#if HWY_TARGET == HWY_SCALAR  // one lane and no 32-bit repartition: the scalar block function
  auto w = Philox4x32({static_cast<uint32_t>(hn::GetLane(c0)), static_cast<uint32_t>(hn::GetLane(c1)),
                       static_cast<uint32_t>(hn::GetLane(c2)), static_cast<uint32_t>(hn::GetLane(c3))},
                      key);
  return {hn::Set(d, uint64_t{w[0]}), hn::Set(d, uint64_t{w[1]}), hn::Set(d, uint64_t{w[2]}),
          hn::Set(d, uint64_t{w[3]})};
#else
  const hn::Repartition<uint32_t, DU64> d32;
  const auto m0 = hn::BitCast(d32, hn::Set(d, 0xD2511F53ull));
  const auto m1 = hn::BitCast(d32, hn::Set(d, 0xCD9E8D57ull));
  const auto lo = hn::Set(d, 0xFFFFFFFFull);
  uint32_t k0 = key[0], k1 = key[1];
  for (int r = 0; r < 10; ++r) {
    const auto p0 = hn::MulEven(hn::BitCast(d32, c0), m0);
    const auto p1 = hn::MulEven(hn::BitCast(d32, c2), m1);
    const auto n0 = hn::Xor(hn::Xor(hn::ShiftRight<32>(p1), c1), hn::Set(d, uint64_t{k0}));
    const auto n2 = hn::Xor(hn::Xor(hn::ShiftRight<32>(p0), c3), hn::Set(d, uint64_t{k1}));
    c1 = hn::And(p1, lo);
    c3 = hn::And(p0, lo);
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {c0, c1, c2, c3};
#endif
}

// out[4 b + k] = word k of the block at counter (first + b, c2, c3), b < nblocks.
void PhiloxWords(std::array<uint32_t, 2> key, uint64_t first, uint32_t c2, uint32_t c3, size_t nblocks, uint32_t* out) {
  const DU64 d;
  const size_t N = hn::Lanes(d);
  HWY_ALIGN uint64_t t[4][kMaxU64Lanes];
  // Iota builds its vector through memory: make it once, add offsets after.
  const auto lane = hn::Iota(d, 0);
  size_t b = 0;
  for (; b + N <= nblocks; b += N) {
    const auto ctr = hn::Add(lane, hn::Set(d, uint64_t{first + b}));
    Words w = PhiloxV(hn::And(ctr, hn::Set(d, 0xFFFFFFFFull)), hn::ShiftRight<32>(ctr), hn::Set(d, uint64_t{c2}),
                      hn::Set(d, uint64_t{c3}), key);
    hn::Store(w.w0, d, t[0]);
    hn::Store(w.w1, d, t[1]);
    hn::Store(w.w2, d, t[2]);
    hn::Store(w.w3, d, t[3]);
    for (size_t l = 0; l < N; ++l)
      for (int k = 0; k < 4; ++k) out[4 * (b + l) + k] = static_cast<uint32_t>(t[k][l]);
  }
  for (; b < nblocks; ++b) {
    uint64_t c = first + b;
    auto w = Philox4x32({static_cast<uint32_t>(c), static_cast<uint32_t>(c >> 32), c2, c3}, key);
    for (int k = 0; k < 4; ++k) out[4 * b + k] = w[k];
  }
}

// Stream words [pos, pos + count) of `key` (RngStream::WordAt order); count <= kChunk.
HWY_INLINE const uint32_t* StreamWords(std::array<uint32_t, 2> key, uint64_t pos, size_t count, uint32_t* buf) {
  const uint64_t first = pos / 4;
  const size_t skip = pos % 4;
  PhiloxWords(key, first, 0, 0, (skip + count + 3) / 4, buf);
  return buf + skip;
}

// ---- Gaussian fill: GaussianAt's Box-Muller, vectorised over Philox blocks ----

void GaussianFillImpl(std::array<uint32_t, 2> key, uint64_t offset, float mean, float stddev, float* x, size_t n) {
  const DU64 du;
  const DD dd;
  const hn::Rebind<int64_t, DD> di;
  const hn::Rebind<float, DD> dfh;
  const size_t N = hn::Lanes(du);
  size_t i = 0;
  for (; i < n && (offset + i) % 4 != 0; ++i) x[i] = mean + stddev * GaussianAt(key, offset, i);
  const auto half = hn::Set(dd, 0.5), scale = hn::Set(dd, 1.0 / 4294967296.0);
  const auto m2 = hn::Set(dd, -2.0), two_pi = hn::Set(dd, 2.0 * M_PI);
  const auto vmean = hn::Set(dfh, mean), vstd = hn::Set(dfh, stddev);
  HWY_ALIGN float t[4][kMaxU64Lanes];
  const auto lane = hn::Iota(du, 0);
  for (; i + 4 * N <= n; i += 4 * N) {
    const auto ctr = hn::Add(lane, hn::Set(du, uint64_t{(offset + i) / 4}));
    Words w =
        PhiloxV(hn::And(ctr, hn::Set(du, 0xFFFFFFFFull)), hn::ShiftRight<32>(ctr), hn::Zero(du), hn::Zero(du), key);
    auto u01 = [&](hn::Vec<DU64> v) { return hn::Mul(hn::Add(hn::ConvertTo(dd, hn::BitCast(di, v)), half), scale); };
    const auto r0 = hn::Sqrt(hn::Mul(m2, hn::Log(dd, u01(w.w0))));
    const auto a0 = hn::Mul(two_pi, u01(w.w1));
    const auto r1 = hn::Sqrt(hn::Mul(m2, hn::Log(dd, u01(w.w2))));
    const auto a1 = hn::Mul(two_pi, u01(w.w3));
    auto out = [&](hn::Vec<DD> g, float* dst) {
      hn::Store(hn::Add(vmean, hn::Mul(vstd, hn::DemoteTo(dfh, g))), dfh, dst);
    };
    out(hn::Mul(r0, hn::Cos(dd, a0)), t[0]);
    out(hn::Mul(r0, hn::Sin(dd, a0)), t[1]);
    out(hn::Mul(r1, hn::Cos(dd, a1)), t[2]);
    out(hn::Mul(r1, hn::Sin(dd, a1)), t[3]);
    for (size_t l = 0; l < N; ++l)
      for (int k = 0; k < 4; ++k) x[i + 4 * l + k] = t[k][l];
  }
  for (; i < n; ++i) x[i] = mean + stddev * GaussianAt(key, offset, i);
}

// ---- count sketch: hashes vectorised, scatter in increasing i (== cpu_ref) ----

// Philox words 0 and 1 of (i, row, tag) for i in [i0, i0 + cnt), cnt <= kChunk.
HWY_INLINE void SketchWords(std::array<uint32_t, 2> key, int64_t row, uint64_t i0, size_t cnt, uint32_t* buf) {
  PhiloxWords(key, i0, static_cast<uint32_t>(row), backend_rng::kCountSketchTag, cnt, buf);
}

void CountSketchApplyImpl(const CountSketchSpec& s, const float* x, size_t n, float* table) {
  HWY_ALIGN uint32_t buf[4 * kChunk];
  const uint64_t cols = static_cast<uint64_t>(s.cols);
  for (int64_t j = 0; j < s.rows; ++j) {
    float* row = table + j * s.cols;
    for (size_t c = 0; c < n; c += kChunk) {
      const size_t cnt = std::min(kChunk, n - c);
      SketchWords(s.key, j, c, cnt, buf);
      for (size_t t = 0; t < cnt; ++t) {
        const uint64_t bucket = (uint64_t{buf[4 * t]} * cols) >> 32;
        const float sign = (buf[4 * t + 1] >> 31) ? -1.0f : 1.0f;
        row[bucket] += sign * x[c + t];
      }
    }
  }
}

void CountSketchUnapplyImpl(const CountSketchSpec& s, const float* table, float* x, size_t n) {
  constexpr size_t kSub = 64;
  HWY_ALIGN uint32_t buf[4 * kSub];
  float est[backend_rng::kMaxCountSketchRows][kSub];
  const uint64_t cols = static_cast<uint64_t>(s.cols);
  const int64_t r = s.rows;
  for (size_t c = 0; c < n; c += kSub) {
    const size_t cnt = std::min(kSub, n - c);
    for (int64_t j = 0; j < r; ++j) {
      SketchWords(s.key, j, c, cnt, buf);
      for (size_t t = 0; t < cnt; ++t) {
        const uint64_t bucket = (uint64_t{buf[4 * t]} * cols) >> 32;
        const float sign = (buf[4 * t + 1] >> 31) ? -1.0f : 1.0f;
        est[j][t] = sign * table[j * s.cols + static_cast<int64_t>(bucket)];
      }
    }
    if (r == 1) {  // the median of one row is that row (sketch-as-JL decoding)
      std::copy(est[0], est[0] + cnt, x + c);
      continue;
    }
    float col[backend_rng::kMaxCountSketchRows];
    for (size_t t = 0; t < cnt; ++t) {
      for (int64_t j = 0; j < r; ++j) col[j] = est[j][t];
      std::sort(col, col + r);
      x[c + t] = (r % 2 == 1) ? col[r / 2] : (col[r / 2 - 1] + col[r / 2]) * 0.5f;
    }
  }
}

// ---- random projection, R generated chunk by chunk ----

// e[t] = e_j,(i0 + t) for t < cnt; i0 % 128 == 0 for Rademacher, cnt <= kChunk.
HWY_INLINE void ProjectionChunk(const RandomSketchSpec& s, int64_t j, uint64_t i0, size_t cnt, uint64_t d, float* e) {
  if (s.dist == SketchDist::kGaussian) {
    GaussianFillImpl(s.key, static_cast<uint64_t>(j) * d + i0, 0.0f, 1.0f, e, cnt);
    // GaussianAt returns the float itself; 0 + 1 * g == g exactly.
    return;
  }
  for (size_t t0 = 0; t0 < cnt; t0 += 128) {
    auto bits = backend_rng::RademacherBits(s.key, j, (i0 + t0) / 128);
    const size_t m = std::min<size_t>(128, cnt - t0);
    for (size_t t = 0; t < m; ++t) e[t0 + t] = ((bits[t / 32] >> (t % 32)) & 1u) ? -1.0f : 1.0f;
  }
}

void RandomSketchApplyImpl(const RandomSketchSpec& s, const float* x, size_t n, float* y) {
  HWY_ALIGN float e[kChunk];
  const double inv = 1.0 / std::sqrt(static_cast<double>(s.rows));
  for (int64_t j = 0; j < s.rows; ++j) {
    HWY_ALIGN double logical[kLogical] = {};
    for (size_t c = 0; c < n; c += kChunk) {
      const size_t cnt = std::min(kChunk, n - c);
      ProjectionChunk(s, j, c, cnt, n, e);
      DotAccumulate(e, x + c, cnt, c, logical);
    }
    y[j] = static_cast<float>(CombineLogical(logical) * inv);
  }
}

void RandomSketchUnapplyImpl(const RandomSketchSpec& s, const float* y, float* x, size_t n) {
  const DD dd;
  const hn::Rebind<float, DD> dfh;
  const size_t N = hn::Lanes(dd);
  HWY_ALIGN float e[kChunk];
  HWY_ALIGN double acc[kChunk];
  const double inv = 1.0 / std::sqrt(static_cast<double>(s.rows));
  for (size_t c = 0; c < n; c += kChunk) {
    const size_t cnt = std::min(kChunk, n - c);
    std::fill(acc, acc + cnt, 0.0);
    for (int64_t j = 0; j < s.rows; ++j) {
      ProjectionChunk(s, j, c, cnt, n, e);
      const auto vy = hn::Set(dd, double(y[j]));
      size_t t = 0;
      for (; t + N <= cnt; t += N)  // exact product: FMA == mul + add
        hn::Store(hn::MulAdd(hn::PromoteTo(dd, hn::LoadU(dfh, e + t)), vy, hn::Load(dd, acc + t)), dd, acc + t);
      for (; t < cnt; ++t) acc[t] += double(e[t]) * double(y[j]);
    }
    for (size_t t = 0; t < cnt; ++t) x[c + t] = static_cast<float>(acc[t] * inv);
  }
}

}  // namespace shoal::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace shoal::simd {

HWY_EXPORT(GaussianFillImpl);
HWY_EXPORT(CountSketchApplyImpl);
HWY_EXPORT(CountSketchUnapplyImpl);
HWY_EXPORT(RandomSketchApplyImpl);
HWY_EXPORT(RandomSketchUnapplyImpl);

void GaussianFill(std::array<uint32_t, 2> key, uint64_t offset, float mean, float stddev, float* x, size_t n) {
  HWY_DYNAMIC_DISPATCH(GaussianFillImpl)(key, offset, mean, stddev, x, n);
}
void CountSketchApply(const CountSketchSpec& s, const float* x, size_t n, float* table) {
  HWY_DYNAMIC_DISPATCH(CountSketchApplyImpl)(s, x, n, table);
}
void CountSketchUnapply(const CountSketchSpec& s, const float* table, float* x, size_t n) {
  HWY_DYNAMIC_DISPATCH(CountSketchUnapplyImpl)(s, table, x, n);
}
void RandomSketchApply(const RandomSketchSpec& s, const float* x, size_t n, float* y) {
  HWY_DYNAMIC_DISPATCH(RandomSketchApplyImpl)(s, x, n, y);
}
void RandomSketchUnapply(const RandomSketchSpec& s, const float* y, float* x, size_t n) {
  HWY_DYNAMIC_DISPATCH(RandomSketchUnapplyImpl)(s, y, x, n);
}

}  // namespace shoal::simd
#endif  // HWY_ONCE
