#include "core/backend_cpu_simd.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/backend_checks.h"
#include "core/backend_cpu_simd_kernels.h"

namespace shoal {
namespace {

template <typename T>
void EigenGemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
               const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Stride = Eigen::OuterStride<>;
  if (m == 0 || n == 0) return;
  Eigen::Map<Mat, 0, Stride> C(c, m, n, Stride(ldc));
  if (k == 0) {
    if (beta == T(0)) C.setZero(); else C *= beta;
    return;
  }
  Eigen::Map<const Mat, 0, Stride> A(a, ta ? k : m, ta ? m : k, Stride(lda));
  Eigen::Map<const Mat, 0, Stride> B(b, tb ? n : k, tb ? k : n, Stride(ldb));
  if (beta == T(0)) {
    C.setZero();
  } else if (beta != T(1)) {
    C *= beta;
  }
  if (!ta && !tb) C.noalias() += alpha * A * B;
  else if (ta && !tb) C.noalias() += alpha * A.transpose() * B;
  else if (!ta && tb) C.noalias() += alpha * A * B.transpose();
  else C.noalias() += alpha * A.transpose() * B.transpose();
}

// Output columns x in [lo, hi) of one kernel offset read in-bounds input
// columns (ix = x * stride - pad + kj in [0, width)); the rest are padding.
struct ColRange {
  int lo, hi;
};
ColRange ValidCols(int kj, int pad, int stride, int width, int ow) {
  // smallest x with x*stride >= pad - kj; largest x with x*stride <= width - 1 + pad - kj
  int first = pad - kj <= 0 ? 0 : (pad - kj + stride - 1) / stride;
  int last_num = width - 1 + pad - kj;
  int hi = last_num < 0 ? 0 : std::min(ow, last_num / stride + 1);
  return {std::min(first, hi), hi};
}

template <typename T>
void Im2ColRows(const ConvGeom& g, const T* img, T* col, int64_t ldc) {
  const int oh = g.out_h(), ow = g.out_w(), s = g.stride;
  for (int c = 0; c < g.channels; ++c)
    for (int ki = 0; ki < g.kernel_h; ++ki)
      for (int kj = 0; kj < g.kernel_w; ++kj) {
        const ColRange r = ValidCols(kj, g.pad, s, g.width, ow);
        T* dst = col + ((int64_t{c} * g.kernel_h + ki) * g.kernel_w + kj) * ldc;
        for (int y = 0; y < oh; ++y, dst += ow) {
          const int iy = y * s - g.pad + ki;
          if (iy < 0 || iy >= g.height) {
            std::fill(dst, dst + ow, T(0));
            continue;
          }
          std::fill(dst, dst + r.lo, T(0));
          std::fill(dst + r.hi, dst + ow, T(0));
          if (r.hi == r.lo) continue;
          const T* src = img + (int64_t{c} * g.height + iy) * g.width + (r.lo * s - g.pad + kj);
          if (s == 1) {
            std::memcpy(dst + r.lo, src, sizeof(T) * (r.hi - r.lo));
          } else {
            for (int x = r.lo; x < r.hi; ++x) dst[x] = src[(x - r.lo) * s];
          }
        }
      }
}

template <typename T>
void Col2ImRows(const ConvGeom& g, const T* col, int64_t ldc, T* img) {
  const int oh = g.out_h(), ow = g.out_w(), s = g.stride;
  for (int c = 0; c < g.channels; ++c)
    for (int ki = 0; ki < g.kernel_h; ++ki)
      for (int kj = 0; kj < g.kernel_w; ++kj) {
        const ColRange r = ValidCols(kj, g.pad, s, g.width, ow);
        const T* src = col + ((int64_t{c} * g.kernel_h + ki) * g.kernel_w + kj) * ldc;
        for (int y = 0; y < oh; ++y, src += ow) {
          const int iy = y * s - g.pad + ki;
          if (iy < 0 || iy >= g.height || r.hi == r.lo) continue;
          T* dst = img + (int64_t{c} * g.height + iy) * g.width + (r.lo * s - g.pad + kj);
          if (s == 1) {
            // Unit stride: col and img never alias, so this vectorizes; each
            // pixel still gets its contributions in the reference order.
            T* __restrict d = dst;
            const T* __restrict from = src + r.lo;
            const int n = r.hi - r.lo;
            for (int x = 0; x < n; ++x) d[x] += from[x];
          } else {
            for (int x = r.lo; x < r.hi; ++x) dst[(x - r.lo) * s] += src[x];
          }
        }
      }
}

}  // namespace

void CpuSimdBackend::Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) const {
  EigenGemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void CpuSimdBackend::Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                          int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) const {
  EigenGemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void CpuSimdBackend::Im2Col(const ConvGeom& g, const float* img, float* col, int64_t ldc) const {
  Im2ColRows(g, img, col, ldc);
}
void CpuSimdBackend::Im2Col(const ConvGeom& g, const double* img, double* col, int64_t ldc) const {
  Im2ColRows(g, img, col, ldc);
}
void CpuSimdBackend::Col2Im(const ConvGeom& g, const float* col, int64_t ldc, float* img) const {
  Col2ImRows(g, col, ldc, img);
}
void CpuSimdBackend::Col2Im(const ConvGeom& g, const double* col, int64_t ldc, double* img) const {
  Col2ImRows(g, col, ldc, img);
}
double CpuSimdBackend::SoftmaxXent(const float* logits, const int32_t* labels, int64_t batch, int64_t classes,
                                   float* grad, int64_t* correct) const {
  return simd::SoftmaxXent(logits, labels, batch, classes, grad, correct);
}
void CpuSimdBackend::Axpy(float a, std::span<const float> x, std::span<float> y) const {
  simd::Axpy(a, x.data(), y.data(), x.size());
}
void CpuSimdBackend::Scale(float a, std::span<float> x) const { simd::Scale(a, x.data(), x.size()); }
void CpuSimdBackend::WeightedAccumulate(float w, std::span<const float> x, std::span<float> acc) const {
  simd::Axpy(w, x.data(), acc.data(), x.size());
}
double CpuSimdBackend::Dot(std::span<const float> x, std::span<const float> y) const {
  return simd::Dot(x.data(), y.data(), x.size());
}
double CpuSimdBackend::SquaredNorm(std::span<const float> x) const { return simd::SquaredNorm(x.data(), x.size()); }
double CpuSimdBackend::ClipByNorm(std::span<float> x, double max_norm) const {
  double norm = std::sqrt(SquaredNorm(x));
  if (norm > max_norm && norm > 0) Scale(static_cast<float>(max_norm / norm), x);
  return norm;
}
void CpuSimdBackend::GaussianFill(std::array<uint32_t, 2> key, uint64_t offset, float mean, float stddev,
                                  std::span<float> x) const {
  simd::GaussianFill(key, offset, mean, stddev, x.data(), x.size());
}
void CpuSimdBackend::SgdStep(float lr, std::span<const float> g, std::span<float> p) const {
  simd::SgdStep(lr, g.data(), p.data(), p.size());
}
void CpuSimdBackend::MomentumStep(float lr, float mu, float wd, bool nesterov, bool first, std::span<const float> g,
                                  std::span<float> b, std::span<float> p) const {
  simd::MomentumStep(lr, mu, wd, nesterov, first, g.data(), b.data(), p.data(), p.size());
}
void CpuSimdBackend::AdamStep(const AdamStepParams& h, std::span<const float> g, std::span<float> m,
                              std::span<float> v, std::span<float> p) const {
  // Same scalar preamble as cpu_ref, so the vector loop sees identical constants.
  const double bc1 = 1.0 - std::pow(double(h.beta1), double(h.step));
  const double bc2 = 1.0 - std::pow(double(h.beta2), double(h.step));
  const float step_size = static_cast<float>(h.lr / bc1);
  const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  const float decay = h.decoupled ? 1.0f - h.lr * h.weight_decay : 1.0f;
  const float l2 = h.decoupled ? 0.0f : h.weight_decay;
  simd::AdamStep(h.beta1, h.beta2, h.eps, step_size, inv_sqrt_bc2, decay, l2, g.data(), m.data(), v.data(),
                 p.data(), p.size());
}
void CpuSimdBackend::Adam8bitStep(const Adam8bitStepParams& h, std::span<const float> g, std::span<float> p,
                                  std::span<uint8_t> qm, std::span<uint8_t> qv, std::span<float> absm,
                                  std::span<float> absv) const {
  simd::Adam8bitStep(h, g.data(), p.data(), qm.data(), qv.data(), absm.data(), absv.data(), p.size());
}
Status CpuSimdBackend::QuantizeInt8(std::span<const float> x, int64_t block, std::array<uint32_t, 2> key,
                                    uint64_t offset, std::span<int8_t> q, std::span<float> scales) const {
  RETURN_IF_ERROR(backend_checks::Quantize("quantize_int8", x.size(), block, q.size(), scales.size()));
  simd::QuantizeInt8(x.data(), x.size(), block, key, offset, q.data(), scales.data());
  return Status::Ok();
}
Status CpuSimdBackend::DequantizeInt8(std::span<const int8_t> q, std::span<const float> scales, int64_t block,
                                      std::span<float> x) const {
  RETURN_IF_ERROR(backend_checks::Quantize("dequantize_int8", x.size(), block, q.size(), scales.size()));
  simd::DequantizeInt8(q.data(), scales.data(), block, x.data(), x.size());
  return Status::Ok();
}
Status CpuSimdBackend::CountSketchApply(const CountSketchSpec& s, std::span<const float> x,
                                        std::span<float> table) const {
  RETURN_IF_ERROR(backend_checks::CountSketch("count_sketch_apply", s, table.size()));
  simd::CountSketchApply(s, x.data(), x.size(), table.data());
  return Status::Ok();
}
Status CpuSimdBackend::CountSketchUnapply(const CountSketchSpec& s, std::span<const float> table,
                                          std::span<float> x) const {
  RETURN_IF_ERROR(backend_checks::CountSketch("count_sketch_unapply", s, table.size()));
  simd::CountSketchUnapply(s, table.data(), x.data(), x.size());
  return Status::Ok();
}
Status CpuSimdBackend::RandomSketchApply(const RandomSketchSpec& s, std::span<const float> x,
                                         std::span<float> y) const {
  RETURN_IF_ERROR(backend_checks::RandomSketch("random_sketch_apply", s, y.size()));
  simd::RandomSketchApply(s, x.data(), x.size(), y.data());
  return Status::Ok();
}
Status CpuSimdBackend::RandomSketchUnapply(const RandomSketchSpec& s, std::span<const float> y,
                                           std::span<float> x) const {
  RETURN_IF_ERROR(backend_checks::RandomSketch("random_sketch_unapply", s, y.size()));
  simd::RandomSketchUnapply(s, y.data(), x.data(), x.size());
  return Status::Ok();
}

std::string CpuSimdBackend::CpuTarget() { return simd::ChosenTarget(); }

}  // namespace shoal
