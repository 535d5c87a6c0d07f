#include "algorithms/fedavg.h"

#include <algorithm>
#include <typeinfo>

namespace shoal {

FedAvgOptions FedAvgOptions::Parse(const ConfigNode& n, double default_momentum) {
  FedAvgOptions o;
  o.server_lr = n.Get<double>("server_lr", 1.0, [](const double& v) { return v > 0; }, "> 0");
  o.server_momentum = n.Get<double>("server_momentum", default_momentum,
                                    [](const double& v) { return v >= 0 && v < 1; }, "in [0, 1)");
  std::string w = n.Get<std::string>("weighting", "samples",
                                     [](const std::string& v) { return v == "samples" || v == "uniform"; },
                                     "'samples' or 'uniform'");
  o.uniform_weighting = (w == "uniform");
  return o;
}

void FedAvgStrategy::BeginRound(StrategyContext&) {
  sum_.assign(global_params().size(), 0.0f);
  weight_sum_ = 0;
}

Status FedAvgStrategy::Accept(ClientResult&& r, StrategyContext& ctx) {
  if (r.update.delta.size() != sum_.size())
    return InvalidArgument("client " + std::to_string(r.client) + " sent " + std::to_string(r.update.delta.size()) +
                           " parameters, expected " + std::to_string(sum_.size()));
  double w = opts_.uniform_weighting ? 1.0 : static_cast<double>(r.update.num_samples);
  if (w <= 0) return Status::Ok();  // a client without data contributes nothing
  ctx.backend->WeightedAccumulate(static_cast<float>(w), r.update.delta, sum_);
  weight_sum_ += w;
  return Status::Ok();
}

Result<std::vector<float>> FedAvgStrategy::Finish(int, StrategyContext& ctx) {
  if (weight_sum_ <= 0) return global_params();
  ctx.backend->Scale(static_cast<float>(1.0 / weight_sum_), sum_);
  // Subclasses (FedOpt, SCAFFOLD, ...) override ServerStep: only FedAvg's own
  // step may take the in-place path below.
  if (typeid(*this) != typeid(FedAvgStrategy) || opts_.server_momentum > 0 || opts_.server_lr != 1.0) {
    std::vector<float> x = global_params();
    ServerStep(sum_, x, ctx);
    return x;
  }
  // Plain FedAvg: x + mean is formed in the accumulator's own memory (the
  // same sums: a + b == b + a in IEEE arithmetic, FMA or not), so the round's
  // end holds no third model-sized buffer (server memory, #6).
  ctx.backend->Axpy(1.0f, global_params(), sum_);
  return std::move(sum_);
}

void FedAvgStrategy::ServerStep(std::span<const float> mean_delta, std::vector<float>& x, StrategyContext& ctx) {
  const Backend& be = *ctx.backend;
  if (opts_.server_momentum > 0) {
    if (velocity_.size() != x.size()) velocity_.assign(x.size(), 0.0f);
    be.Scale(static_cast<float>(opts_.server_momentum), velocity_);
    be.Axpy(1.0f, mean_delta, velocity_);
    be.Axpy(static_cast<float>(opts_.server_lr), velocity_, x);
  } else {
    be.Axpy(static_cast<float>(opts_.server_lr), mean_delta, x);
  }
}

Result<LocalSgdOptions> LocalSgdOptions::Parse(const ConfigNode& c) {
  LocalSgdOptions o;
  o.training.epochs = c.Get<int>("epochs", 1, [](const int& v) { return v >= 1; }, ">= 1");
  o.training.batch_size = c.Get<int>("batch_size", 32, [](const int& v) { return v >= 1; }, ">= 1");
  o.training.max_steps = c.Get<int64_t>("max_steps", 0, [](const int64_t& v) { return v >= 0; }, ">= 0 (0 = no cap)");
  o.persist_optimizer_state = c.Get<bool>("persist_optimizer_state", false);
  RETURN_IF_ERROR(c.status());
  ASSIGN_OR_RETURN(o.optimizer, ParseOptimizer(c.Child("optimizer")));
  return o;
}

ClientUpdate FedAvgClient::TrainLocally(const Task& task, ClientState& state, TrainContext& ctx,
                                        const GradHook& hook) const {
  const std::vector<float>& global = *task.model.params;
  ctx.params.assign(global.begin(), global.end());
  // Step-ahead error feedback (ClientState::kPreviewKey): start from
  // x + alpha * e and measure the change from that start.
  std::vector<float> shifted;
  const auto e = state.tensors.find(ClientState::kPreviewKey);
  const auto alpha = state.scalars.find(ClientState::kPreviewScaleKey);
  if (e != state.tensors.end() && alpha != state.scalars.end() && e->second.size() == global.size() &&
      alpha->second > 0) {
    ctx.backend->Axpy(static_cast<float>(alpha->second), e->second, ctx.params);
    shifted = ctx.params;
  }
  const std::vector<float>& x = shifted.empty() ? global : shifted;
  std::unique_ptr<Optimizer> opt = opts_.optimizer.create(ctx.model->layout(), *ctx.backend);
  if (opts_.persist_optimizer_state) opt->LoadState(state);
  const double lr_scale = task.hparam("lr_scale", 1.0);
  LocalTrainingOptions training = opts_.training;
  // A strategy may shorten a task (FedProx stragglers run fewer epochs).
  if (auto it = task.hparams.find("epochs"); it != task.hparams.end())
    training.epochs = std::max(1, static_cast<int>(it->second));
  LocalTrainingStats st = RunLocalTraining(training, task, ctx, *opt,
                                           static_cast<float>(opts_.optimizer.lr * lr_scale), hook);
  if (opts_.persist_optimizer_state) opt->SaveState(state);
  ClientUpdate u;
  u.delta.resize(x.size());
  for (size_t i = 0; i < x.size(); ++i) u.delta[i] = ctx.params[i] - x[i];
  u.num_samples = static_cast<int64_t>(ctx.indices.size());
  u.steps = st.steps;
  u.train_loss = st.mean_loss;
  u.metrics["optimizer_state_bytes"] = static_cast<double>(opt->state_bytes());
  return u;
}

double FedAvgClient::PlannedWork(const Task& task, int64_t n) const {
  double epochs = opts_.training.epochs;
  if (auto it = task.hparams.find("epochs"); it != task.hparams.end()) epochs = std::max(1.0, it->second);
  double work = static_cast<double>(n) * epochs;
  if (opts_.training.max_steps > 0)
    work = std::min(work, static_cast<double>(opts_.training.max_steps) * opts_.training.batch_size);
  return work;
}

Result<ClientUpdate> FedAvgClient::Run(const Task& task, ClientState& state, TrainContext& ctx) const {
  return TrainLocally(task, state, ctx);
}

}  // namespace shoal
