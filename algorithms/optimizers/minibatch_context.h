// The StepContext that RunLocalTraining hands to optimizers: the current
// minibatch of a client's local training.
//
// Hessian-vector products are exact (core/hvp.h, a dual-number twin of the
// worker's model built on first use); sampled-label gradients draw labels
// from the model's softmax. When the client objective is a custom
// TrainContext::objective (analytic test problems) there is no model: H v is
// then a central difference of the objective's gradient (step 1e-3) and the
// sampled-label gradient is the plain minibatch gradient. The probe stream is
// RngStream(seed, round, client, kOptimizer). Not thread-safe; one per task.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "algorithms/client_procedure.h"
#include "core/hvp.h"

namespace shoal {

class MinibatchStepContext final : public StepContext {
 public:
  // `ctx` must outlive this object.
  MinibatchStepContext(TrainContext& ctx, const Task& task);
  // The minibatch of the coming step (rows of ctx.data) and its loss.
  void SetBatch(std::span<const int64_t> rows, double loss) { rows_ = rows, loss_ = loss; }

  double loss() const override { return loss_; }
  void HessianVector(std::span<const float> params, std::span<const float> v, std::span<float> hv) override;
  void SampledLabelGrad(std::span<const float> params, std::span<float> g) override;
  RngStream& rng() override { return rng_; }

 private:
  TrainContext& ctx_;
  RngStream rng_;
  std::span<const int64_t> rows_;
  double loss_ = 0;
  std::unique_ptr<HessianVectorProduct<float>> hvp_;
  std::vector<float> scratch_a_, scratch_b_;
  std::vector<int32_t> sampled_;
};

}  // namespace shoal
