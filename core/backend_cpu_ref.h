// cpu_ref: plain-loop implementation of every Backend op; the correctness
// oracle. Faster CPU backends derive from it and override what they speed up.
#pragma once

#include "core/backend.h"

namespace shoal {

class CpuRefBackend : public Backend {
 public:
  std::string_view name() const override { return "cpu_ref"; }
  bool Supports(Op, DType) const override { return true; }

  void Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
            int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) const override;
  void Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
            int64_t lda, const double* b, int64_t ldb, double beta, double* c,
            int64_t ldc) const override;
  void Im2Col(const ConvGeom& g, const float* img, float* col, int64_t ldc) const override;
  void Im2Col(const ConvGeom& g, const double* img, double* col, int64_t ldc) const override;
  void Col2Im(const ConvGeom& g, const float* col, int64_t ldc, float* img) const override;
  void Col2Im(const ConvGeom& g, const double* col, int64_t ldc, double* img) const override;
  double SoftmaxXent(const float* logits, const int32_t* labels, int64_t batch, int64_t classes,
                     float* grad, int64_t* correct) const override;
  double SoftmaxXent(const double* logits, const int32_t* labels, int64_t batch, int64_t classes,
                     double* grad, int64_t* correct) const override;
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
  // The scalar loop with the table quantizer of core/dynamic_quant.h.
  void Adam8bitStep(const Adam8bitStepParams& h, std::span<const float> g, std::span<float> p,
                    std::span<uint8_t> qm, std::span<uint8_t> qv, std::span<float> absm,
                    std::span<float> absv) const override;
  // Compression ops: backend_cpu_ref_compress.cc.
  Status QuantizeInt8(std::span<const float> x, int64_t block, std::array<uint32_t, 2> key, uint64_t offset,
                      std::span<int8_t> q, std::span<float> scales) const override;
  Status DequantizeInt8(std::span<const int8_t> q, std::span<const float> scales, int64_t block,
                        std::span<float> x) const override;
  Status CountSketchApply(const CountSketchSpec& s, std::span<const float> x, std::span<float> table) const override;
  Status CountSketchUnapply(const CountSketchSpec& s, std::span<const float> table,
                            std::span<float> x) const override;
  Status RandomSketchApply(const RandomSketchSpec& s, std::span<const float> x, std::span<float> y) const override;
  Status RandomSketchUnapply(const RandomSketchSpec& s, std::span<const float> y, std::span<float> x) const override;
};

}  // namespace shoal
