#include "core/backend_cpu_simd.h"

#include <Eigen/Core>

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

// Eight independent double accumulators in a fixed lane order: vectorisable
// and independent of threads.
template <typename F>
double BlockedSum(size_t n, F term) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) acc[l] += term(i + l);
  for (; i < n; ++i) acc[i % 8] += term(i);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

}  // namespace

void CpuSimdBackend::Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                          const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                          float* c, int64_t ldc) const {
  EigenGemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void CpuSimdBackend::Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha,
                          const double* a, int64_t lda, const double* b, int64_t ldb, double beta,
                          double* c, int64_t ldc) const {
  EigenGemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
double CpuSimdBackend::Dot(std::span<const float> x, std::span<const float> y) const {
  return BlockedSum(x.size(), [&](size_t i) { return double(x[i]) * double(y[i]); });
}
double CpuSimdBackend::SquaredNorm(std::span<const float> x) const {
  return BlockedSum(x.size(), [&](size_t i) { return double(x[i]) * double(x[i]); });
}

std::string_view CpuSimdBackend::CpuTarget() {
#if defined(__AVX512F__)
  return "AVX-512";
#elif defined(__AVX2__) && defined(__FMA__)
  return "AVX2+FMA";
#elif defined(__AVX__)
  return "AVX";
#elif defined(__SSE4_2__)
  return "SSE4.2";
#elif defined(__ARM_NEON)
  return "NEON";
#else
  return "generic";
#endif
}

}  // namespace shoal
