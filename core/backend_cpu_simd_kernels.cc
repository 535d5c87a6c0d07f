// Highway kernels of the cpu_simd backend (contract in the header). This file
// is included once per target by hwy/foreach_target.h; the dispatch table and
// the plain C++ entry points are in the HWY_ONCE section at the end.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/backend_cpu_simd_kernels.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <cctype>
#include <cstring>

#include "core/backend_cpu_simd_kernels.h"
#include "core/backend_rng.h"
#include "core/rng.h"

HWY_BEFORE_NAMESPACE();
namespace shoal::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using DD = hn::ScalableTag<double>;
using DU64 = hn::ScalableTag<uint64_t>;
constexpr size_t kMaxU64Lanes = HWY_MAX_BYTES / 8;
constexpr size_t kChunk = 256;  // elements per RNG buffer

int64_t TargetImpl() { return HWY_TARGET; }

// ---- element-wise (same operation order as cpu_ref, no FMA) ----

void AxpyImpl(float a, const float* x, float* y, size_t n) {
  const DF d;
  const size_t N = hn::Lanes(d);
  const auto va = hn::Set(d, a);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::Add(hn::LoadU(d, y + i), hn::Mul(va, hn::LoadU(d, x + i))), d, y + i);
  for (; i < n; ++i) y[i] += a * x[i];
}

void ScaleImpl(float a, float* x, size_t n) {
  const DF d;
  const size_t N = hn::Lanes(d);
  const auto va = hn::Set(d, a);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::Mul(hn::LoadU(d, x + i), va), d, x + i);
  for (; i < n; ++i) x[i] *= a;
}

void SgdStepImpl(float lr, const float* g, float* p, size_t n) {
  const DF d;
  const size_t N = hn::Lanes(d);
  const auto vlr = hn::Set(d, lr);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::Sub(hn::LoadU(d, p + i), hn::Mul(vlr, hn::LoadU(d, g + i))), d, p + i);
  for (; i < n; ++i) p[i] -= lr * g[i];
}

void MomentumStepImpl(float lr, float mu, float wd, bool nesterov, bool first, const float* g, float* b, float* p,
                      size_t n) {
  const DF d;
  const size_t N = hn::Lanes(d);
  const auto vlr = hn::Set(d, lr), vmu = hn::Set(d, mu), vwd = hn::Set(d, wd);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto pi = hn::LoadU(d, p + i);
    const auto di = hn::Add(hn::LoadU(d, g + i), hn::Mul(vwd, pi));
    const auto bi = first ? di : hn::Add(hn::Mul(vmu, hn::LoadU(d, b + i)), di);
    hn::StoreU(bi, d, b + i);
    const auto step = nesterov ? hn::Add(di, hn::Mul(vmu, bi)) : bi;
    hn::StoreU(hn::Sub(pi, hn::Mul(vlr, step)), d, p + i);
  }
  for (; i < n; ++i) {
    float di = g[i] + wd * p[i];
    float bi = first ? di : mu * b[i] + di;
    b[i] = bi;
    p[i] -= lr * (nesterov ? di + mu * bi : bi);
  }
}

void AdamStepImpl(float beta1, float beta2, float eps, float step_size, float inv_sqrt_bc2, float decay, float l2,
                  const float* g, float* m, float* v, float* p, size_t n) {
  const DF d;
  const size_t N = hn::Lanes(d);
  const float omb1 = 1.0f - beta1, omb2 = 1.0f - beta2;
  const auto vb1 = hn::Set(d, beta1), vb2 = hn::Set(d, beta2), vomb1 = hn::Set(d, omb1), vomb2 = hn::Set(d, omb2);
  const auto veps = hn::Set(d, eps), vss = hn::Set(d, step_size), vibc = hn::Set(d, inv_sqrt_bc2);
  const auto vdecay = hn::Set(d, decay), vl2 = hn::Set(d, l2);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto pi = hn::Mul(hn::LoadU(d, p + i), vdecay);
    const auto gi = hn::Add(hn::LoadU(d, g + i), hn::Mul(vl2, pi));
    const auto mi = hn::Add(hn::Mul(vb1, hn::LoadU(d, m + i)), hn::Mul(vomb1, gi));
    const auto vi = hn::Add(hn::Mul(vb2, hn::LoadU(d, v + i)), hn::Mul(hn::Mul(vomb2, gi), gi));
    hn::StoreU(mi, d, m + i);
    hn::StoreU(vi, d, v + i);
    const auto den = hn::Add(hn::Mul(hn::Sqrt(vi), vibc), veps);
    hn::StoreU(hn::Sub(pi, hn::Div(hn::Mul(vss, mi), den)), d, p + i);
  }
  for (; i < n; ++i) {
    float pi = p[i] * decay;
    float gi = g[i] + l2 * pi;
    float mi = beta1 * m[i] + omb1 * gi;
    float vi = beta2 * v[i] + omb2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - step_size * mi / (std::sqrt(vi) * inv_sqrt_bc2 + eps);
  }
}

// ---- fixed-order reductions: 16 logical double accumulators, lane l of the
// sum owns the elements with index = l (mod 16), whatever the vector width ----

constexpr size_t kLogical = 16;

// logical[(base + t) % 16] += x[t] * y[t] (y == nullptr: x[t]^2).
// REQUIRES base % 16 == 0 unless n < 16.
HWY_INLINE void DotAccumulate(const float* x, const float* y, size_t n, size_t base, double* logical) {
  const DD dd;
  const hn::Rebind<float, DD> dfh;
  const size_t N = hn::Lanes(dd);
  size_t t = 0;
  if (base % kLogical == 0 && N >= 2 && N <= 8) {
    const size_t K = kLogical / N;
    hn::Vec<DD> acc[8];
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

double DotImpl(const float* x, const float* y, size_t n) {
  HWY_ALIGN double logical[kLogical] = {};
  DotAccumulate(x, y, n, 0, logical);
  return CombineLogical(logical);
}

double SquaredNormImpl(const float* x, size_t n) { return DotImpl(x, nullptr, n); }

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
void PhiloxWords(std::array<uint32_t, 2> key, uint64_t first, uint32_t c2, uint32_t c3, size_t nblocks,
                 uint32_t* out) {
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
    Words w = PhiloxV(hn::And(ctr, hn::Set(du, 0xFFFFFFFFull)), hn::ShiftRight<32>(ctr), hn::Zero(du), hn::Zero(du),
                      key);
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

// ---- int8 block-wise quantisation with stochastic rounding ----

HWY_INLINE float MaxAbs(const float* x, size_t n) {
  const DF d;
  const size_t N = hn::Lanes(d);
  auto vmax = hn::Zero(d);
  size_t i = 0;
  for (; i + N <= n; i += N) vmax = hn::Max(vmax, hn::Abs(hn::LoadU(d, x + i)));
  float mx = hn::GetLane(hn::MaxOfLanes(d, vmax));
  for (; i < n; ++i) mx = std::max(mx, std::fabs(x[i]));
  return mx;
}

HWY_INLINE hn::Vec<hn::Rebind<uint32_t, DF>> Hash32V(hn::Vec<hn::Rebind<uint32_t, DF>> x) {
  const hn::Rebind<uint32_t, DF> du;
  x = hn::Xor(x, hn::ShiftRight<16>(x));
  x = hn::Mul(x, hn::Set(du, 0x7feb352du));
  x = hn::Xor(x, hn::ShiftRight<15>(x));
  x = hn::Mul(x, hn::Set(du, 0x846ca68bu));
  return hn::Xor(x, hn::ShiftRight<16>(x));
}

// One block: scale from max |x|, then noise from the per-position hash
// (backend_rng::QuantizeNoiseWord), vectorised where a vector's positions
// share their 2^32-segment (all but one vector per 4G positions).
void QuantizeInt8Impl(const float* x, size_t n, int64_t block, std::array<uint32_t, 2> key, uint64_t offset,
                      int8_t* q, float* scales) {
  const DF d;
  const hn::Rebind<int32_t, DF> di;
  const hn::Rebind<int8_t, DF> d8;
  const hn::Rebind<uint32_t, DF> du;
  const size_t N = hn::Lanes(d);
  const auto lo = hn::Set(d, -127.0f), hi = hn::Set(d, 127.0f), u24 = hn::Set(d, 1.0f / 16777216.0f);
  const auto lane = hn::Iota(du, 0);
  uint32_t seg = 0, seed = 0;
  bool have_seed = false;
  for (size_t b = 0, start = 0; start < n; ++b, start += block) {
    const size_t len = std::min<size_t>(block, n - start);
    const float scale = MaxAbs(x + start, len) / 127.0f;
    scales[b] = scale;
    if (scale == 0.0f) {
      std::memset(q + start, 0, len);
      continue;
    }
    const auto vs = hn::Set(d, scale);
    size_t t = 0;
    for (; t + N <= len; t += N) {
      const uint64_t p0 = offset + start + t;
      const uint32_t s0 = static_cast<uint32_t>(p0 >> 32);
      if (s0 != static_cast<uint32_t>((p0 + N - 1) >> 32)) break;  // segment boundary: scalar below
      if (!have_seed || s0 != seg) seg = s0, seed = backend_rng::QuantizeSegmentSeed(key, s0), have_seed = true;
      const auto w = Hash32V(hn::Xor(hn::Add(lane, hn::Set(du, static_cast<uint32_t>(p0))), hn::Set(du, seed)));
      const auto u = hn::Mul(hn::ConvertTo(d, hn::BitCast(di, hn::ShiftRight<8>(w))), u24);
      const auto v = hn::Floor(hn::Add(hn::Div(hn::LoadU(d, x + start + t), vs), u));
      hn::StoreU(hn::DemoteTo(d8, hn::ConvertTo(di, hn::Min(hn::Max(v, lo), hi))), d8, q + start + t);
    }
    for (; t < len; ++t) {
      const uint32_t w = backend_rng::QuantizeNoiseWord(key, offset + start + t);
      const float v = std::floor(x[start + t] / scale + backend_rng::UniformFromWord(w));
      q[start + t] = static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f));
    }
  }
}

void DequantizeInt8Impl(const int8_t* q, const float* scales, int64_t block, float* x, size_t n) {
  const DF d;
  const hn::Rebind<int32_t, DF> di;
  const hn::Rebind<int8_t, DF> d8;
  const size_t N = hn::Lanes(d);
  for (size_t b = 0, start = 0; start < n; ++b, start += block) {
    const size_t len = std::min<size_t>(block, n - start);
    const float s = scales[b];
    const auto vs = hn::Set(d, s);
    size_t t = 0;
    for (; t + N <= len; t += N)
      hn::StoreU(hn::Mul(hn::ConvertTo(d, hn::PromoteTo(di, hn::LoadU(d8, q + start + t))), vs), d, x + start + t);
    for (; t < len; ++t) x[start + t] = static_cast<float>(q[start + t]) * s;
  }
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
HWY_INLINE void ProjectionChunk(const RandomSketchSpec& s, int64_t j, uint64_t i0, size_t cnt, uint64_t d,
                                float* e) {
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

HWY_EXPORT(TargetImpl);
HWY_EXPORT(AxpyImpl);
HWY_EXPORT(ScaleImpl);
HWY_EXPORT(SgdStepImpl);
HWY_EXPORT(MomentumStepImpl);
HWY_EXPORT(AdamStepImpl);
HWY_EXPORT(DotImpl);
HWY_EXPORT(SquaredNormImpl);
HWY_EXPORT(GaussianFillImpl);
HWY_EXPORT(QuantizeInt8Impl);
HWY_EXPORT(DequantizeInt8Impl);
HWY_EXPORT(CountSketchApplyImpl);
HWY_EXPORT(CountSketchUnapplyImpl);
HWY_EXPORT(RandomSketchApplyImpl);
HWY_EXPORT(RandomSketchUnapplyImpl);

namespace {
std::string Upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u;
}
}  // namespace

std::string ChosenTarget() { return hwy::TargetName(HWY_DYNAMIC_DISPATCH(TargetImpl)()); }

// The CPU's real targets, captured before any SelectTarget mock is installed
// (SelectTarget calls this before it mocks anything).
const std::vector<int64_t>& RealTargets() {
  static const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  return targets;
}

std::vector<std::string> AvailableTargets() {
  std::vector<std::string> names;
  for (int64_t t : RealTargets()) names.emplace_back(hwy::TargetName(t));
  return names;
}

Status SelectTarget(std::string_view name) {
  const std::vector<int64_t>& real = RealTargets();
  if (name.empty() || Upper(name) == "BEST") {
    hwy::SetSupportedTargetsForTest(0);
    return Status::Ok();
  }
  std::string options;
  for (int64_t t : real) {
    if (Upper(hwy::TargetName(t)) == Upper(name)) {
      hwy::SetSupportedTargetsForTest(t);
      return Status::Ok();
    }
    options += std::string(options.empty() ? "" : ", ") + hwy::TargetName(t);
  }
  return InvalidArgument("CPU target '" + std::string(name) +
                         "' is not compiled in or not supported by this CPU; expected one of " + options +
                         " (or 'best')");
}

void Axpy(float a, const float* x, float* y, size_t n) { HWY_DYNAMIC_DISPATCH(AxpyImpl)(a, x, y, n); }
void Scale(float a, float* x, size_t n) { HWY_DYNAMIC_DISPATCH(ScaleImpl)(a, x, n); }
double Dot(const float* x, const float* y, size_t n) { return HWY_DYNAMIC_DISPATCH(DotImpl)(x, y, n); }
double SquaredNorm(const float* x, size_t n) { return HWY_DYNAMIC_DISPATCH(SquaredNormImpl)(x, n); }
void GaussianFill(std::array<uint32_t, 2> key, uint64_t offset, float mean, float stddev, float* x, size_t n) {
  HWY_DYNAMIC_DISPATCH(GaussianFillImpl)(key, offset, mean, stddev, x, n);
}
void SgdStep(float lr, const float* g, float* p, size_t n) { HWY_DYNAMIC_DISPATCH(SgdStepImpl)(lr, g, p, n); }
void MomentumStep(float lr, float mu, float wd, bool nesterov, bool first, const float* g, float* b, float* p,
                  size_t n) {
  HWY_DYNAMIC_DISPATCH(MomentumStepImpl)(lr, mu, wd, nesterov, first, g, b, p, n);
}
void AdamStep(float beta1, float beta2, float eps, float step_size, float inv_sqrt_bc2, float decay, float l2,
              const float* g, float* m, float* v, float* p, size_t n) {
  HWY_DYNAMIC_DISPATCH(AdamStepImpl)(beta1, beta2, eps, step_size, inv_sqrt_bc2, decay, l2, g, m, v, p, n);
}
void QuantizeInt8(const float* x, size_t n, int64_t block, std::array<uint32_t, 2> key, uint64_t offset,
                  int8_t* q, float* scales) {
  HWY_DYNAMIC_DISPATCH(QuantizeInt8Impl)(x, n, block, key, offset, q, scales);
}
void DequantizeInt8(const int8_t* q, const float* scales, int64_t block, float* x, size_t n) {
  HWY_DYNAMIC_DISPATCH(DequantizeInt8Impl)(q, scales, block, x, n);
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
