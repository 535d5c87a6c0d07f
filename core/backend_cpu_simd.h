// cpu_simd: the fast CPU backend. GEMM through Eigen's blocked, vectorised
// kernels (single-threaded: Shoal parallelises across clients, never inside
// one); element-wise ops vectorised by the compiler for the build target.
// Deterministic: no op depends on the number of threads.
#pragma once

#include "core/backend_cpu_ref.h"

namespace shoal {

class CpuSimdBackend final : public CpuRefBackend {
 public:
  std::string_view name() const override { return "cpu_simd"; }
  void Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
            int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) const override;
  void Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
            int64_t lda, const double* b, int64_t ldb, double beta, double* c,
            int64_t ldc) const override;
  double Dot(std::span<const float> x, std::span<const float> y) const override;
  double SquaredNorm(std::span<const float> x) const override;
  // Instruction set the build targets (e.g. "AVX-512", "AVX2+FMA").
  static std::string_view CpuTarget();
};

}  // namespace shoal
