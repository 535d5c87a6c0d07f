#include "algorithms/fedspeed.h"

#include <algorithm>
#include <cmath>

#include "algorithms/minibatch.h"

namespace shoal {

FedSpeedOptions FedSpeedOptions::Parse(const ConfigNode& s) {
  FedSpeedOptions o;
  o.lambda = s.Get<double>("lambda", o.lambda, [](const double& v) { return v > 0 && std::isfinite(v); }, "> 0");
  o.rho = s.Get<double>("rho", o.rho, [](const double& v) { return v >= 0; }, ">= 0");
  o.alpha = s.Get<double>("alpha", o.alpha, [](const double& v) { return v >= 0 && v <= 1; }, "in [0, 1]");
  o.raw_perturbation = s.Get<std::string>("perturbation", "normalised",
                                          [](const std::string& v) { return v == "normalised" || v == "raw"; },
                                          "'normalised' or 'raw'") == "raw";
  o.code_server = s.Get<std::string>("server", "paper",
                                     [](const std::string& v) { return v == "paper" || v == "code_all_clients"; },
                                     "'paper' or 'code_all_clients'") == "code_all_clients";
  o.clip_norm = s.Get<double>("clip_norm", 0.0, [](const double& v) { return v >= 0; }, ">= 0 (0 = no clipping)");
  o.extra_l2 = s.Get<double>("extra_l2", 0.0, [](const double& v) { return v >= 0; }, ">= 0");
  return o;
}

namespace {
FedAvgOptions UniformMean() {
  FedAvgOptions f;
  f.uniform_weighting = true;
  return f;
}
}  // namespace

FedSpeedStrategy::FedSpeedStrategy(RoundOptions round, FedSpeedOptions opts)
    : FedAvgStrategy(round, UniformMean()), opts_(opts) {}

Status FedSpeedStrategy::Accept(ClientResult&& r, StrategyContext& ctx) {
  if (opts_.code_server && r.update.delta.size() == global_params().size()) {
    if (h_sum_.size() != r.update.delta.size()) h_sum_.assign(r.update.delta.size(), 0.0f);
    ctx.backend->WeightedAccumulate(1.0f, r.update.delta, h_sum_);  // h_i += x_K - x
  }
  return FedAvgStrategy::Accept(std::move(r), ctx);
}

Result<std::vector<float>> FedSpeedStrategy::Finish(int accepted, StrategyContext& ctx) {
  ASSIGN_OR_RETURN(std::vector<float> x, FedAvgStrategy::Finish(accepted, ctx));
  if (opts_.code_server && h_sum_.size() == x.size())
    ctx.backend->Axpy(static_cast<float>(1.0 / std::max(ctx.num_clients(), 1)), h_sum_, x);
  return x;
}

Result<ClientUpdate> FedSpeedClient::Run(const Task& task, ClientState& state, TrainContext& ctx) const {
  const std::vector<float>& x = *task.model.params;
  const size_t d = x.size();
  const Backend& be = *ctx.backend;
  const double lr_scale = task.hparam("lr_scale", 1.0);
  const float eta = static_cast<float>(local_.optimizer.lr * lr_scale);
  const float inv_lambda = static_cast<float>(1.0 / opts_.lambda);
  const float alpha = static_cast<float>(opts_.alpha);
  std::vector<float>& ghat = state.tensors["fedspeed.ghat"];
  if (ghat.size() != d) ghat.assign(d, 0.0f);
  ctx.params.assign(x.begin(), x.end());
  ctx.grad.resize(d);
  std::span<float> y(ctx.params), g1(ctx.grad);
  std::vector<float> xp(d), g2(d);

  const int64_t n = static_cast<int64_t>(ctx.indices.size());
  const int64_t per_epoch = (n + local_.training.batch_size - 1) / local_.training.batch_size;
  int64_t steps = per_epoch * local_.training.epochs;
  if (local_.training.max_steps > 0) steps = std::min(steps, local_.training.max_steps);
  MinibatchStream batches(ctx.indices, local_.training.batch_size, ctx.seed, task.round, task.client);
  double loss_sum = 0;
  for (int64_t s = 0; s < steps; ++s) {
    std::span<const int64_t> batch = batches.Next();
    loss_sum += BatchLossAndGrad(ctx, y, batch, g1);
    if (alpha > 0) {  // gq = (1 - alpha) g1 + alpha g2, g2 at the ascent point
      double norm = opts_.raw_perturbation ? 1.0 : std::sqrt(be.SquaredNorm(g1)) + 1e-7;
      std::copy(y.begin(), y.end(), xp.begin());
      be.Axpy(static_cast<float>(opts_.rho / norm), g1, xp);
      BatchLossAndGrad(ctx, xp, batch, g2);
      be.Scale(1.0f - alpha, g1);
      be.Axpy(alpha, g2, g1);
    }
    be.Axpy(-1.0f, ghat, g1);        // - ghat_i
    be.Axpy(inv_lambda, y, g1);      // + (y - x) / lambda
    be.Axpy(-inv_lambda, x, g1);
    if (opts_.clip_norm > 0) be.ClipByNorm(g1, opts_.clip_norm);
    if (opts_.extra_l2 > 0) be.Axpy(static_cast<float>(opts_.extra_l2), y, g1);
    be.SgdStep(eta, g1, y);
  }
  ClientUpdate u;
  u.delta.assign(y.begin(), y.end());
  be.Axpy(-1.0f, x, u.delta);           // x_K - x
  be.Axpy(-inv_lambda, u.delta, ghat);  // ghat_i -= (x_K - x) / lambda
  if (!opts_.code_server)               // xhat - x = (x_K - x) - lambda ghat_i
    be.Axpy(static_cast<float>(-opts_.lambda), ghat, u.delta);
  u.num_samples = n;
  u.steps = steps;
  u.train_loss = steps > 0 ? loss_sum / static_cast<double>(steps) : 0.0;
  return u;
}

double FedSpeedClient::PlannedWork(const Task&, int64_t n) const {
  double per_step = opts_.alpha > 0 ? 2.0 : 1.0;
  double work = per_step * static_cast<double>(n) * local_.training.epochs;
  if (local_.training.max_steps > 0)
    work = std::min(work, per_step * static_cast<double>(local_.training.max_steps) * local_.training.batch_size);
  return work;
}

}  // namespace shoal
