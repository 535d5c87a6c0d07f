#include <algorithm>
#include <cstring>

#include "algorithms/client_procedure.h"
#include "algorithms/optimizers/minibatch_context.h"
#include "core/rng.h"

namespace shoal {

void GatherBatch(const Dataset& data, std::span<const int64_t> idx, TrainContext& ctx) {
  const size_t dim = static_cast<size_t>(data.dim);
  ctx.batch_x.resize(idx.size() * dim);
  ctx.batch_y.resize(idx.size());
  for (size_t r = 0; r < idx.size(); ++r) {
    std::memcpy(ctx.batch_x.data() + r * dim, data.row(idx[r]), dim * sizeof(float));
    ctx.batch_y[r] = data.y[static_cast<size_t>(idx[r])];
  }
}

double BatchLossAndGrad(TrainContext& ctx, std::span<const float> params, std::span<const int64_t> rows,
                        std::span<float> grad) {
  if (ctx.objective) return ctx.objective(params, rows, grad);
  GatherBatch(*ctx.data, rows, ctx);
  return ctx.model->LossAndGrad(*ctx.backend, params, ctx.batch_x.data(), ctx.batch_y.data(),
                                static_cast<int>(rows.size()), grad);
}

LocalTrainingStats RunLocalTraining(const LocalTrainingOptions& opts, const Task& task, TrainContext& ctx,
                                    Optimizer& opt, float lr, const GradHook& grad_hook) {
  LocalTrainingStats st;
  const size_t n = ctx.indices.size();
  if (n == 0) return st;
  std::vector<int64_t> order(ctx.indices.begin(), ctx.indices.end());
  RngStream rng(ctx.seed, task.round, task.client, RngPurpose::kShuffle);
  ctx.grad.resize(ctx.params.size());
  std::span<float> params(ctx.params);
  std::span<float> grad(ctx.grad);
  double loss_sum = 0;
  // Second-order and step-size optimizers read the current minibatch through this.
  MinibatchStepContext step_ctx(ctx, task);
  const size_t b = static_cast<size_t>(opts.batch_size);
  for (int e = 0; e < opts.epochs; ++e) {
    rng.Shuffle(std::span<int64_t>(order));
    for (size_t s = 0; s < n; s += b) {
      size_t m = std::min(b, n - s);
      double loss = BatchLossAndGrad(ctx, params, std::span<const int64_t>(order.data() + s, m), grad);
      if (grad_hook) grad_hook(params, grad);
      step_ctx.SetBatch(std::span<const int64_t>(order.data() + s, m), loss);
      opt.StepWith(params, grad, lr, step_ctx);
      loss_sum += loss;
      st.samples_seen += static_cast<int64_t>(m);
      ++st.steps;
      if (opts.max_steps > 0 && st.steps >= opts.max_steps) {
        st.mean_loss = loss_sum / static_cast<double>(st.steps);
        return st;
      }
    }
  }
  st.mean_loss = loss_sum / static_cast<double>(std::max<int64_t>(st.steps, 1));
  return st;
}

}  // namespace shoal
