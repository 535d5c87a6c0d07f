#include "core/backend_cpu_ref.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "core/dynamic_quant.h"
#include "core/ref_kernels.h"
#include "core/rng.h"

namespace shoal {

void CpuRefBackend::Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                         const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                         float* c, int64_t ldc) const {
  ref::GemmRef(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void CpuRefBackend::Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha,
                         const double* a, int64_t lda, const double* b, int64_t ldb, double beta,
                         double* c, int64_t ldc) const {
  ref::GemmRef(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void CpuRefBackend::Im2Col(const ConvGeom& g, const float* img, float* col, int64_t ldc) const {
  ref::Im2ColRef(g, img, col, ldc);
}
void CpuRefBackend::Im2Col(const ConvGeom& g, const double* img, double* col, int64_t ldc) const {
  ref::Im2ColRef(g, img, col, ldc);
}
void CpuRefBackend::Col2Im(const ConvGeom& g, const float* col, int64_t ldc, float* img) const {
  ref::Col2ImRef(g, col, ldc, img);
}
void CpuRefBackend::Col2Im(const ConvGeom& g, const double* col, int64_t ldc, double* img) const {
  ref::Col2ImRef(g, col, ldc, img);
}
double CpuRefBackend::SoftmaxXent(const float* logits, const int32_t* labels, int64_t batch,
                                  int64_t classes, float* grad, int64_t* correct) const {
  return ref::SoftmaxXentRef(logits, labels, batch, classes, grad, correct);
}
double CpuRefBackend::SoftmaxXent(const double* logits, const int32_t* labels, int64_t batch,
                                  int64_t classes, double* grad, int64_t* correct) const {
  return ref::SoftmaxXentRef(logits, labels, batch, classes, grad, correct);
}
void CpuRefBackend::Axpy(float a, std::span<const float> x, std::span<float> y) const {
  for (size_t i = 0; i < x.size(); ++i) y[i] += a * x[i];
}
void CpuRefBackend::Scale(float a, std::span<float> x) const {
  for (float& v : x) v *= a;
}
void CpuRefBackend::WeightedAccumulate(float w, std::span<const float> x, std::span<float> acc) const {
  for (size_t i = 0; i < x.size(); ++i) acc[i] += w * x[i];
}
double CpuRefBackend::Dot(std::span<const float> x, std::span<const float> y) const {
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += double(x[i]) * double(y[i]);
  return s;
}
double CpuRefBackend::SquaredNorm(std::span<const float> x) const { return Dot(x, x); }
double CpuRefBackend::ClipByNorm(std::span<float> x, double max_norm) const {
  double norm = std::sqrt(SquaredNorm(x));
  if (norm > max_norm && norm > 0) Scale(static_cast<float>(max_norm / norm), x);
  return norm;
}
void CpuRefBackend::GaussianFill(std::array<uint32_t, 2> key, uint64_t offset, float mean,
                                 float stddev, std::span<float> x) const {
  for (size_t i = 0; i < x.size(); ++i) x[i] = mean + stddev * GaussianAt(key, offset, i);
}
void CpuRefBackend::SgdStep(float lr, std::span<const float> g, std::span<float> p) const {
  for (size_t i = 0; i < p.size(); ++i) p[i] -= lr * g[i];
}

void CpuRefBackend::MomentumStep(float lr, float mu, float wd, bool nesterov, bool first, std::span<const float> g,
                                 std::span<float> b, std::span<float> p) const {
  for (size_t i = 0; i < p.size(); ++i) {
    float d = g[i] + wd * p[i];
    float bi = first ? d : mu * b[i] + d;
    b[i] = bi;
    p[i] -= lr * (nesterov ? d + mu * bi : bi);
  }
}

void CpuRefBackend::AdamStep(const AdamStepParams& h, std::span<const float> g, std::span<float> m,
                             std::span<float> v, std::span<float> p) const {
  const double bc1 = 1.0 - std::pow(double(h.beta1), double(h.step));
  const double bc2 = 1.0 - std::pow(double(h.beta2), double(h.step));
  const float step_size = static_cast<float>(h.lr / bc1);
  const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  const float decay = h.decoupled ? 1.0f - h.lr * h.weight_decay : 1.0f;
  const float l2 = h.decoupled ? 0.0f : h.weight_decay;
  for (size_t i = 0; i < p.size(); ++i) {
    float pi = p[i] * decay;
    float gi = g[i] + l2 * pi;
    float mi = h.beta1 * m[i] + (1.0f - h.beta1) * gi;
    float vi = h.beta2 * v[i] + (1.0f - h.beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - step_size * mi / (std::sqrt(vi) * inv_sqrt_bc2 + h.eps);
  }
}

void CpuRefBackend::Adam8bitStep(const Adam8bitStepParams& h, std::span<const float> g, std::span<float> p,
                                 std::span<uint8_t> qm, std::span<uint8_t> qv, std::span<float> absm,
                                 std::span<float> absv) const {
  const float *cs = dq::SignedMap().data(), *cu = dq::UnsignedMap().data();
  const float b1 = h.beta1, c1 = 1.0f - h.beta1, b2 = h.beta2, c2 = 1.0f - h.beta2, wd = h.weight_decay;
  const int64_t size = static_cast<int64_t>(p.size());
  const uint8_t zero_v = dq::UnsignedQuantizer()(0.0f);
  float m[256], v[256];
  for (int64_t b0 = 0, blk = 0; b0 < size; b0 += h.block, ++blk) {
    const int64_t n = std::min(h.block, size - b0);
    const float am0 = absm[blk], av0 = absv[blk];
    uint32_t max_m = 0, max_v = 0;
    for (int64_t j = 0; j < n; ++j) {
      const size_t i = static_cast<size_t>(b0 + j);
      const float gi = g[i] + wd * p[i];
      const float mj = b1 * cs[qm[i]] * am0 + c1 * gi, vj = b2 * cu[qv[i]] * av0 + c2 * gi * gi;
      p[i] -= h.step * mj / (std::sqrt(vj) * h.rsbc2 + h.eps);
      m[j] = mj, v[j] = vj;
      max_m = std::max(max_m, std::bit_cast<uint32_t>(std::fabs(mj)));
      max_v = std::max(max_v, std::bit_cast<uint32_t>(vj));  // vj >= +0
    }
    const float new_am = std::bit_cast<float>(max_m), new_av = std::bit_cast<float>(max_v);
    const float im = new_am > 0 ? 1.0f / new_am : 0.0f, iv = new_av > 0 ? 1.0f / new_av : 0.0f;
    dq::SignedQuantizer().Quantize(m, im, qm.data() + b0, n, -1);
    dq::UnsignedQuantizer().Quantize(v, iv, qv.data() + b0, n, zero_v);  // a positive v never takes code 0
    absm[blk] = new_am, absv[blk] = new_av;
  }
}

}  // namespace shoal
