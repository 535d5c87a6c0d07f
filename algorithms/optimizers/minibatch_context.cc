#include "algorithms/optimizers/minibatch_context.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace shoal {

MinibatchStepContext::MinibatchStepContext(TrainContext& ctx, const Task& task)
    : ctx_(ctx), rng_(ctx.seed, task.round, task.client, RngPurpose::kOptimizer) {}

void MinibatchStepContext::HessianVector(std::span<const float> params, std::span<const float> v,
                                         std::span<float> hv) {
  const size_t n = params.size();
  if (ctx_.objective) {  // no model: central difference of the objective's gradient
    const float h = 1e-3f;
    scratch_a_.resize(n);
    scratch_b_.resize(n);
    std::vector<float> x(params.begin(), params.end());
    for (size_t i = 0; i < n; ++i) x[i] = params[i] + h * v[i];
    ctx_.objective(x, rows_, scratch_a_);
    for (size_t i = 0; i < n; ++i) x[i] = params[i] - h * v[i];
    ctx_.objective(x, rows_, scratch_b_);
    for (size_t i = 0; i < n; ++i) hv[i] = (scratch_a_[i] - scratch_b_[i]) / (2 * h);
    return;
  }
  if (!hvp_) {
    const Model<float>& m = *ctx_.model;
    auto made = HessianVectorProduct<float>::ForArchitecture(m.name(), m.input_shape(),
                                                             static_cast<int>(m.output_dim()));
    if (!made.ok()) {
      std::fprintf(stderr, "Hessian-vector products unavailable for model '%s': %s\n", m.name().c_str(),
                   made.status().ToString().c_str());
      std::abort();
    }
    hvp_ = std::move(made).value();
  }
  GatherBatch(*ctx_.data, rows_, ctx_);
  hvp_->Compute(*ctx_.backend, params, v, ctx_.batch_x.data(), ctx_.batch_y.data(), static_cast<int>(rows_.size()),
                hv);
}

void MinibatchStepContext::SampledLabelGrad(std::span<const float> params, std::span<float> g) {
  if (ctx_.objective) {
    ctx_.objective(params, rows_, g);
    return;
  }
  GatherBatch(*ctx_.data, rows_, ctx_);
  Model<float>& model = *ctx_.model;
  const int batch = static_cast<int>(rows_.size());
  const int64_t classes = model.output_dim();
  const float* logits = model.Forward(*ctx_.backend, params, ctx_.batch_x.data(), batch);
  sampled_.resize(rows_.size());
  for (int r = 0; r < batch; ++r) {
    const float* z = logits + r * classes;
    double zmax = z[0], total = 0;
    for (int64_t c = 1; c < classes; ++c) zmax = std::max(zmax, double{z[c]});
    for (int64_t c = 0; c < classes; ++c) total += std::exp(z[c] - zmax);
    double u = rng_.NextDouble() * total, acc = 0;
    int32_t label = static_cast<int32_t>(classes - 1);
    for (int64_t c = 0; c < classes; ++c) {
      acc += std::exp(z[c] - zmax);
      if (u < acc) {
        label = static_cast<int32_t>(c);
        break;
      }
    }
    sampled_[static_cast<size_t>(r)] = label;
  }
  model.LossAndGrad(*ctx_.backend, params, ctx_.batch_x.data(), sampled_.data(), batch, g);
}

}  // namespace shoal
