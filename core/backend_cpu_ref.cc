#include "core/backend_cpu_ref.h"

#include <algorithm>
#include <cmath>

#include "core/rng.h"

namespace shoal {
namespace {

template <typename T>
void GemmRef(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
             const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      T s = 0;
      for (int64_t p = 0; p < k; ++p) {
        T av = ta ? a[p * lda + i] : a[i * lda + p];
        T bv = tb ? b[j * ldb + p] : b[p * ldb + j];
        s += av * bv;
      }
      T& out = c[i * ldc + j];
      out = (beta == T(0) ? T(0) : beta * out) + alpha * s;
    }
  }
}

template <typename T>
void Im2ColRef(const ConvGeom& g, const T* img, T* col, int64_t ldc) {
  const int oh = g.out_h(), ow = g.out_w();
  for (int c = 0; c < g.channels; ++c)
    for (int ki = 0; ki < g.kernel_h; ++ki)
      for (int kj = 0; kj < g.kernel_w; ++kj) {
        int64_t row = (int64_t{c} * g.kernel_h + ki) * g.kernel_w + kj;
        T* dst = col + row * ldc;
        for (int y = 0; y < oh; ++y) {
          int iy = y * g.stride - g.pad + ki;
          for (int x = 0; x < ow; ++x) {
            int ix = x * g.stride - g.pad + kj;
            bool in = iy >= 0 && iy < g.height && ix >= 0 && ix < g.width;
            dst[y * ow + x] = in ? img[(int64_t{c} * g.height + iy) * g.width + ix] : T(0);
          }
        }
      }
}

template <typename T>
void Col2ImRef(const ConvGeom& g, const T* col, int64_t ldc, T* img) {
  const int oh = g.out_h(), ow = g.out_w();
  for (int c = 0; c < g.channels; ++c)
    for (int ki = 0; ki < g.kernel_h; ++ki)
      for (int kj = 0; kj < g.kernel_w; ++kj) {
        int64_t row = (int64_t{c} * g.kernel_h + ki) * g.kernel_w + kj;
        const T* src = col + row * ldc;
        for (int y = 0; y < oh; ++y) {
          int iy = y * g.stride - g.pad + ki;
          if (iy < 0 || iy >= g.height) continue;
          for (int x = 0; x < ow; ++x) {
            int ix = x * g.stride - g.pad + kj;
            if (ix < 0 || ix >= g.width) continue;
            img[(int64_t{c} * g.height + iy) * g.width + ix] += src[y * ow + x];
          }
        }
      }
}

template <typename T>
double SoftmaxXentRef(const T* logits, const int32_t* labels, int64_t batch, int64_t classes,
                      T* grad, int64_t* correct) {
  double total = 0;
  int64_t ok = 0;
  for (int64_t r = 0; r < batch; ++r) {
    const T* z = logits + r * classes;
    int64_t arg = 0;
    T mx = z[0];
    for (int64_t j = 1; j < classes; ++j)
      if (z[j] > mx) mx = z[j], arg = j;
    double sum = 0;
    for (int64_t j = 0; j < classes; ++j) sum += std::exp(double(z[j]) - double(mx));
    double lse = double(mx) + std::log(sum);
    total += lse - double(z[labels[r]]);
    if (arg == labels[r]) ++ok;
    if (grad) {
      T* gr = grad + r * classes;
      for (int64_t j = 0; j < classes; ++j) {
        double p = std::exp(double(z[j]) - lse);
        gr[j] = static_cast<T>((p - (j == labels[r] ? 1.0 : 0.0)) / double(batch));
      }
    }
  }
  if (correct) *correct = ok;
  return batch > 0 ? total / double(batch) : 0.0;
}

}  // namespace

void CpuRefBackend::Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                         const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                         float* c, int64_t ldc) const {
  GemmRef(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void CpuRefBackend::Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha,
                         const double* a, int64_t lda, const double* b, int64_t ldb, double beta,
                         double* c, int64_t ldc) const {
  GemmRef(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void CpuRefBackend::Im2Col(const ConvGeom& g, const float* img, float* col, int64_t ldc) const {
  Im2ColRef(g, img, col, ldc);
}
void CpuRefBackend::Im2Col(const ConvGeom& g, const double* img, double* col, int64_t ldc) const {
  Im2ColRef(g, img, col, ldc);
}
void CpuRefBackend::Col2Im(const ConvGeom& g, const float* col, int64_t ldc, float* img) const {
  Col2ImRef(g, col, ldc, img);
}
void CpuRefBackend::Col2Im(const ConvGeom& g, const double* col, int64_t ldc, double* img) const {
  Col2ImRef(g, col, ldc, img);
}
double CpuRefBackend::SoftmaxXent(const float* logits, const int32_t* labels, int64_t batch,
                                  int64_t classes, float* grad, int64_t* correct) const {
  return SoftmaxXentRef(logits, labels, batch, classes, grad, correct);
}
double CpuRefBackend::SoftmaxXent(const double* logits, const int32_t* labels, int64_t batch,
                                  int64_t classes, double* grad, int64_t* correct) const {
  return SoftmaxXentRef(logits, labels, batch, classes, grad, correct);
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

}  // namespace shoal
