#include "algorithms/scaffold.h"

#include <algorithm>

namespace shoal {

int64_t ScaffoldStrategy::state_bytes() const {
  return FedAvgStrategy::state_bytes() + static_cast<int64_t>(c_->size() * sizeof(float));
}

void ScaffoldStrategy::ConfigureTask(Task& task, StrategyContext&) {
  if (c_->size() != global_params().size())
    c_ = std::make_shared<const std::vector<float>>(global_params().size(), 0.0f);
  task.extras["c"] = c_;
}

void ScaffoldStrategy::BeginRound(StrategyContext& ctx) {
  FedAvgStrategy::BeginRound(ctx);
  dc_sum_.assign(global_params().size(), 0.0f);
}

Status ScaffoldStrategy::Accept(ClientResult&& r, StrategyContext& ctx) {
  auto it = r.update.extras.find("dc");
  if (it == r.update.extras.end() || it->second.size() != dc_sum_.size())
    return InvalidArgument("scaffold: client " + std::to_string(r.client) + " round " + std::to_string(r.round) +
                           ": update lacks extras 'dc' of " + std::to_string(dc_sum_.size()) + " values");
  // Every participant's dc counts in c (sum / N), whatever its aggregation weight.
  ctx.backend->WeightedAccumulate(1.0f, it->second, dc_sum_);
  return FedAvgStrategy::Accept(std::move(r), ctx);
}

Result<std::vector<float>> ScaffoldStrategy::Finish(int accepted, StrategyContext& ctx) {
  ASSIGN_OR_RETURN(std::vector<float> x, FedAvgStrategy::Finish(accepted, ctx));
  std::vector<float> c = *c_;
  c.resize(x.size(), 0.0f);
  ctx.backend->Axpy(static_cast<float>(1.0 / std::max(ctx.num_clients(), 1)), dc_sum_, c);
  c_ = std::make_shared<const std::vector<float>>(std::move(c));
  return x;
}

Result<ClientUpdate> ScaffoldClient::Run(const Task& task, ClientState& state, TrainContext& ctx) const {
  const std::vector<float>& x = *task.model.params;
  const size_t d = x.size();
  auto cit = task.extras.find("c");
  if (cit == task.extras.end() || !cit->second || cit->second->size() != d)
    return InvalidArgument("scaffold: task for client " + std::to_string(task.client) +
                           " lacks the server control variate extras 'c' of " + std::to_string(d) + " values");
  const std::vector<float>& c = *cit->second;
  std::vector<float>& ci = state.tensors["scaffold.c_i"];
  if (ci.size() != d) ci.assign(d, 0.0f);
  // correction = c - c_i, added to every local gradient.
  std::vector<float> correction(c);
  ctx.backend->Axpy(-1.0f, ci, correction);
  const Backend& be = *ctx.backend;
  GradHook hook = [&correction, &be](std::span<const float>, std::span<float> g) { be.Axpy(1.0f, correction, g); };
  ClientUpdate u = TrainLocally(task, state, ctx, hook);

  std::vector<float> ci_new(d, 0.0f);
  if (option_one_) {
    // c_i+ = grad f_i(x): full-data gradient at x, as the size-weighted mean of batch gradients.
    std::vector<float> g(d);
    const int64_t n = static_cast<int64_t>(ctx.indices.size());
    const int64_t b = local_options().training.batch_size;
    for (int64_t s = 0; s < n; s += b) {
      int64_t m = std::min(b, n - s);
      BatchLossAndGrad(ctx, x, ctx.indices.subspan(static_cast<size_t>(s), static_cast<size_t>(m)), g);
      be.Axpy(static_cast<float>(static_cast<double>(m) / static_cast<double>(n)), g, ci_new);
    }
  } else if (u.steps > 0) {
    // c_i+ = c_i - c + (x - y) / (K eta_l) = -correction - delta / (K eta_l).
    const double lr_scale = task.hparam("lr_scale", 1.0);
    const double k_eta = static_cast<double>(u.steps) * local_options().optimizer.lr * lr_scale;
    be.Axpy(-1.0f, correction, ci_new);
    be.Axpy(static_cast<float>(-1.0 / k_eta), u.delta, ci_new);
  } else {
    ci_new = ci;  // no data, no steps: keep c_i
  }
  std::vector<float> dc(ci_new);
  be.Axpy(-1.0f, ci, dc);
  ci = std::move(ci_new);
  u.extras["dc"] = std::move(dc);
  return u;
}

double ScaffoldClient::PlannedWork(const Task& task, int64_t n) const {
  return FedAvgClient::PlannedWork(task, n) + (option_one_ ? static_cast<double>(n) : 0.0);
}

}  // namespace shoal
