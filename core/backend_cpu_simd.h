// cpu_simd: the fast CPU backend.
// - Element-wise, reduction, optimizer, quantisation, sketch and Gaussian-fill
//   ops: Google Highway kernels with run-time dispatch to the best instruction
//   set of this CPU (core/backend_cpu_simd_kernels.h), overridable with the
//   environment variable SHOAL_CPU_TARGET (read once, when the backend is
//   first requested) for tests and bisecting.
// - GEMM: Eigen's blocked kernels (single-threaded: Shoal parallelises across
//   clients, never inside one), compiled for the build target.
// - im2col/col2im: row copies with the padding ranges computed once per row
//   instead of a bounds test per element; same values and summation order as
//   cpu_ref, so bit-identical.
// - 8-bit Adam: a gather-free Highway kernel (backend_cpu_simd_adam8bit.cc),
//   bit-identical to cpu_ref.
// - Softmax cross-entropy: float rows with Highway's vector exp (the double
//   overload stays the reference loop).
// Deterministic: no op depends on the number of threads or on the target
// chosen (see the kernels header for the one-ulp Gaussian caveat).
#pragma once

#include <string>

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
  void Im2Col(const ConvGeom& g, const float* img, float* col, int64_t ldc) const override;
  void Im2Col(const ConvGeom& g, const double* img, double* col, int64_t ldc) const override;
  void Col2Im(const ConvGeom& g, const float* col, int64_t ldc, float* img) const override;
  void Col2Im(const ConvGeom& g, const double* col, int64_t ldc, double* img) const override;
  double SoftmaxXent(const float* logits, const int32_t* labels, int64_t batch, int64_t classes, float* grad,
                     int64_t* correct) const override;
  using CpuRefBackend::SoftmaxXent;  // the double overload
  void Axpy(float a, std::span<const float> x, std::span<float> y) const override;
  void Scale(float a, std::span<float> x) const override;
  void WeightedAccumulate(float w, std::span<const float> x, std::span<float> acc) const override;
  double Dot(std::span<const float> x, std::span<const float> y) const override;
  double SquaredNorm(std::span<const float> x) const override;
  double ClipByNorm(std::span<float> x, double max_norm) const override;
  void GaussianFill(std::array<uint32_t, 2> key, uint64_t offset, float mean, float stddev,
                    std::span<float> x) const override;
  void SgdStep(float lr, std::span<const float> g, std::span<float> p) const override;
  void MomentumStep(float lr, float mu, float wd, bool nesterov, bool first, std::span<const float> g,
                    std::span<float> b, std::span<float> p) const override;
  void AdamStep(const AdamStepParams& h, std::span<const float> g, std::span<float> m, std::span<float> v,
                std::span<float> p) const override;
  void Adam8bitStep(const Adam8bitStepParams& h, std::span<const float> g, std::span<float> p,
                    std::span<uint8_t> qm, std::span<uint8_t> qv, std::span<float> absm,
                    std::span<float> absv) const override;
  Status QuantizeInt8(std::span<const float> x, int64_t block, std::array<uint32_t, 2> key, uint64_t offset,
                      std::span<int8_t> q, std::span<float> scales) const override;
  Status DequantizeInt8(std::span<const int8_t> q, std::span<const float> scales, int64_t block,
                        std::span<float> x) const override;
  Status CountSketchApply(const CountSketchSpec& s, std::span<const float> x, std::span<float> table) const override;
  Status CountSketchUnapply(const CountSketchSpec& s, std::span<const float> table,
                            std::span<float> x) const override;
  Status RandomSketchApply(const RandomSketchSpec& s, std::span<const float> x, std::span<float> y) const override;
  Status RandomSketchUnapply(const RandomSketchSpec& s, std::span<const float> y, std::span<float> x) const override;

  // Instruction set the Highway kernels dispatch to now (e.g. "AVX3", "AVX2").
  static std::string CpuTarget();
};

}  // namespace shoal
