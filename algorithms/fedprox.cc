#include "algorithms/fedprox.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace shoal {

FedProxOptions FedProxOptions::Parse(const ConfigNode& n, int local_epochs) {
  FedProxOptions o;
  o.local_epochs = local_epochs;
  o.mu = n.Get<double>("mu", o.mu, [](const double& v) { return v >= 0 && std::isfinite(v); }, ">= 0");
  std::string mode = n.Get<std::string>("mode", "paper", [](const std::string& v) { return v == "paper" || v == "code"; },
                                        "'paper' or 'code'");
  const bool code = (mode == "code");
  std::string sampling = n.Get<std::string>(
      "sampling", code ? "uniform" : "proportional",
      [](const std::string& v) { return v == "proportional" || v == "uniform"; }, "'proportional' or 'uniform'");
  std::string aggregation = n.Get<std::string>(
      "aggregation", code ? "samples" : "uniform",
      [](const std::string& v) { return v == "uniform" || v == "samples"; }, "'uniform' or 'samples'");
  o.proportional_sampling = (sampling == "proportional");
  o.uniform_aggregation = (aggregation == "uniform");
  o.straggler_fraction = n.Get<double>("straggler_fraction", 0.0,
                                       [](const double& v) { return v >= 0 && v <= 1; }, "in [0, 1]");
  return o;
}

namespace {
FedAvgOptions AggregationOf(const FedProxOptions& o) {
  FedAvgOptions f;
  f.uniform_weighting = o.uniform_aggregation;
  return f;
}
}  // namespace

FedProxStrategy::FedProxStrategy(RoundOptions round, FedProxOptions opts)
    : FedAvgStrategy(round, AggregationOf(opts)), opts_(opts) {}

std::vector<int> FedProxStrategy::SelectClients(int64_t round, int count, StrategyContext& ctx) {
  std::vector<int> clients;
  if (!opts_.proportional_sampling) {
    clients = FedAvgStrategy::SelectClients(round, count, ctx);
  } else {
    // Inverse-CDF draws over the cumulative sample counts.
    std::vector<double> cdf(ctx.client_samples.size());
    double total = 0;
    for (size_t i = 0; i < cdf.size(); ++i) cdf[i] = (total += static_cast<double>(ctx.client_samples[i]));
    RngStream rng(ctx.seed, round, -1, RngPurpose::kSelect);
    for (int k = 0; k < count; ++k) {
      double u = rng.NextDouble() * total;
      size_t i = static_cast<size_t>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
      clients.push_back(static_cast<int>(std::min(i, cdf.size() - 1)));
    }
  }
  // Stragglers: round(fraction * K) of the selected, chosen without replacement.
  task_epochs_.assign(clients.size(), 0);
  next_task_ = 0;
  const size_t stragglers = static_cast<size_t>(std::llround(opts_.straggler_fraction * static_cast<double>(clients.size())));
  if (stragglers > 0) {
    RngStream rng(ctx.seed, round, -2, RngPurpose::kSelect);
    std::vector<size_t> pos(clients.size());
    std::iota(pos.begin(), pos.end(), size_t{0});
    const int max_epochs = std::max(1, opts_.local_epochs - 1);
    for (size_t k = 0; k < stragglers; ++k) {  // partial Fisher-Yates
      size_t j = k + static_cast<size_t>(rng.NextBelow(pos.size() - k));
      std::swap(pos[k], pos[j]);
      task_epochs_[pos[k]] = 1 + static_cast<int>(rng.NextBelow(static_cast<uint64_t>(max_epochs)));
    }
  }
  return clients;
}

void FedProxStrategy::ConfigureTask(Task& task, StrategyContext&) {
  if (next_task_ < task_epochs_.size() && task_epochs_[next_task_] > 0)
    task.hparams["epochs"] = task_epochs_[next_task_];
  ++next_task_;
}

Result<ClientUpdate> FedProxClient::Run(const Task& task, ClientState& state, TrainContext& ctx) const {
  const std::vector<float>& x = *task.model.params;
  const float mu = static_cast<float>(mu_);
  const Backend& be = *ctx.backend;
  GradHook prox = [&x, mu, &be](std::span<const float> y, std::span<float> g) {
    if (mu == 0) return;
    be.Axpy(mu, y, g);   // g += mu y
    be.Axpy(-mu, x, g);  // g -= mu x
  };
  return TrainLocally(task, state, ctx, prox);
}

}  // namespace shoal
