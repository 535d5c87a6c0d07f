// Reference kernels as templates: the loops of the cpu_ref backend, also used
// for scalar types no backend supports (e.g. Dual numbers, core/dual.h).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "core/backend.h"

namespace shoal::ref {

// Value of a real or dual scalar as double.
template <typename T>
double ValueOfScalar(const T& x) {
  if constexpr (requires { x.v; }) return static_cast<double>(x.v);
  else return static_cast<double>(x);
}

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


// Softmax cross-entropy computed entirely in T (so dual tangents propagate).
template <typename T>
double SoftmaxXentGeneric(const T* logits, const int32_t* labels, int64_t batch, int64_t classes, T* grad,
                          int64_t* correct) {
  using std::exp;
  using std::log;
  double total = 0;
  int64_t ok = 0;
  for (int64_t r = 0; r < batch; ++r) {
    const T* z = logits + r * classes;
    int64_t arg = 0;
    for (int64_t j = 1; j < classes; ++j)
      if (z[j] > z[arg]) arg = j;
    T sum = T(0);
    for (int64_t j = 0; j < classes; ++j) sum += exp(z[j] - z[arg]);
    T lse = z[arg] + log(sum);
    total += ValueOfScalar(lse - z[labels[r]]);
    if (arg == labels[r]) ++ok;
    if (grad)
      for (int64_t j = 0; j < classes; ++j)
        grad[r * classes + j] = (exp(z[j] - lse) - T(j == labels[r] ? 1.0 : 0.0)) / T(static_cast<double>(batch));
  }
  if (correct) *correct = ok;
  return batch > 0 ? total / double(batch) : 0.0;
}

}  // namespace shoal::ref
