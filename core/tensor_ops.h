// Scalar-generic entry points for the ops layers use: float and double go
// through the Backend (where the fast kernels live); other scalar types (Dual
// numbers for exact second derivatives) use the reference templates.
#pragma once

#include <type_traits>

#include "core/backend.h"
#include "core/ref_kernels.h"

namespace shoal {

template <typename T>
inline constexpr bool kBackendScalar = std::is_same_v<T, float> || std::is_same_v<T, double>;

template <typename T>
void OpGemm(const Backend& be, bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
            const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if constexpr (kBackendScalar<T>) be.Gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else ref::GemmRef(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <typename T>
void OpIm2Col(const Backend& be, const ConvGeom& g, const T* img, T* col, int64_t ldc) {
  if constexpr (kBackendScalar<T>) be.Im2Col(g, img, col, ldc);
  else ref::Im2ColRef(g, img, col, ldc);
}

template <typename T>
void OpCol2Im(const Backend& be, const ConvGeom& g, const T* col, int64_t ldc, T* img) {
  if constexpr (kBackendScalar<T>) be.Col2Im(g, col, ldc, img);
  else ref::Col2ImRef(g, col, ldc, img);
}

template <typename T>
double OpSoftmaxXent(const Backend& be, const T* logits, const int32_t* labels, int64_t batch, int64_t classes,
                     T* grad, int64_t* correct) {
  if constexpr (kBackendScalar<T>) return be.SoftmaxXent(logits, labels, batch, classes, grad, correct);
  else return ref::SoftmaxXentGeneric(logits, labels, batch, classes, grad, correct);
}

}  // namespace shoal
