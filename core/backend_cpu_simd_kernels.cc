// Highway element-wise, optimizer and reduction kernels of the cpu_simd
// backend, plus the run-time target selection (contract in the header). The
// RNG-driven kernels are in backend_cpu_simd_random.cc, quantisation and
// softmax cross-entropy in backend_cpu_simd_quantize.cc. This file is included
// once per target by hwy/foreach_target.h; the dispatch table and the plain
// C++ entry points are in the HWY_ONCE section at the end.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/backend_cpu_simd_kernels.cc"
// clang-format off
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// clang-format on

#include <hwy/highway.h>

#include <cctype>
#include <cmath>

#include "core/backend_cpu_simd_kernels.h"
#include "core/backend_cpu_simd_reduce-inl.h"

HWY_BEFORE_NAMESPACE();
namespace shoal::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;

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

double DotImpl(const float* x, const float* y, size_t n) {
  HWY_ALIGN double logical[kLogical] = {};
  DotAccumulate(x, y, n, 0, logical);
  return CombineLogical(logical);
}

double SquaredNormImpl(const float* x, size_t n) { return DotImpl(x, nullptr, n); }

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
void SgdStep(float lr, const float* g, float* p, size_t n) { HWY_DYNAMIC_DISPATCH(SgdStepImpl)(lr, g, p, n); }
void MomentumStep(float lr, float mu, float wd, bool nesterov, bool first, const float* g, float* b, float* p,
                  size_t n) {
  HWY_DYNAMIC_DISPATCH(MomentumStepImpl)(lr, mu, wd, nesterov, first, g, b, p, n);
}
void AdamStep(float beta1, float beta2, float eps, float step_size, float inv_sqrt_bc2, float decay, float l2,
              const float* g, float* m, float* v, float* p, size_t n) {
  HWY_DYNAMIC_DISPATCH(AdamStepImpl)(beta1, beta2, eps, step_size, inv_sqrt_bc2, decay, l2, g, m, v, p, n);
}
}  // namespace shoal::simd
#endif  // HWY_ONCE
