#include "algorithms/fedbuff.h"

#include <algorithm>
#include <cmath>

namespace shoal {

FedBuffOptions FedBuffOptions::Parse(const ConfigNode& n) {
  FedBuffOptions o;
  o.rounds = n.Get<int64_t>("rounds", o.rounds, [](const int64_t& v) { return v >= 1; }, ">= 1 (server updates)");
  o.concurrency = n.Get<int>("concurrency", o.concurrency, [](const int& v) { return v >= 1; }, ">= 1");
  o.buffer_size = n.Get<int>("buffer_size", o.buffer_size, [](const int& v) { return v >= 1; }, ">= 1");
  o.server_lr = n.Get<double>("server_lr", o.server_lr, [](const double& v) { return v > 0; }, "> 0");
  o.server_momentum =
      n.Get<double>("server_momentum", 0.0, [](const double& v) { return v >= 0 && v < 1; }, "in [0, 1)");
  o.sum_reduction = n.Get<std::string>("reduction", "mean",
                                       [](const std::string& v) { return v == "mean" || v == "sum"; },
                                       "'mean' (paper) or 'sum' (FLSim)") == "sum";
  std::string s = n.Get<std::string>(
      "staleness", "poly",
      [](const std::string& v) { return v == "constant" || v == "poly" || v == "poly_normalised"; },
      "one of constant, poly, poly_normalised");
  o.staleness = s == "constant" ? Staleness::kConstant
                : s == "poly"   ? Staleness::kPoly
                                : Staleness::kPolyNormalised;
  o.staleness_exponent =
      n.Get<double>("staleness_exponent", 0.5, [](const double& v) { return v >= 0 && v <= 10; }, "in [0, 10]");
  o.staleness_avg = n.Get<double>("staleness_avg", 1.0, [](const double& v) { return v >= 0; }, ">= 0");
  o.sample_weighting = n.Get<std::string>("weighting", "uniform",
                                          [](const std::string& v) { return v == "uniform" || v == "samples"; },
                                          "'uniform' or 'samples'") == "samples";
  return o;
}

double FedBuffOptions::StalenessWeight(int64_t tau) const {
  const double t = static_cast<double>(std::max<int64_t>(tau, 0));
  switch (staleness) {
    case Staleness::kConstant:
      return 1.0;
    case Staleness::kPoly:
      return std::pow(1.0 + t, -staleness_exponent);
    case Staleness::kPolyNormalised:
      return std::pow(1.0 + t, -staleness_exponent) / std::pow(1.0 + staleness_avg, -staleness_exponent);
  }
  return 1.0;
}

void FedBuffBuffer::Add(const Backend& be, std::span<const float> delta, int64_t staleness, double weight) {
  if (sum_.size() != delta.size()) sum_.assign(delta.size(), 0.0f);
  be.WeightedAccumulate(static_cast<float>(weight * opts_.StalenessWeight(staleness)), delta, sum_);
  weight_sum_ += weight;
  staleness_sum_ += static_cast<double>(staleness);
  ++count_;
}

void FedBuffBuffer::Apply(const Backend& be, std::vector<float>& x) {
  // Mean: divide by the buffered weight (K under uniform weighting).
  if (!opts_.sum_reduction && weight_sum_ > 0) be.Scale(static_cast<float>(1.0 / weight_sum_), sum_);
  if (opts_.server_momentum > 0) {
    if (velocity_.size() != x.size()) velocity_.assign(x.size(), 0.0f);
    be.Scale(static_cast<float>(opts_.server_momentum), velocity_);
    be.Axpy(1.0f, sum_, velocity_);
    be.Axpy(static_cast<float>(opts_.server_lr), velocity_, x);
  } else {
    be.Axpy(static_cast<float>(opts_.server_lr), sum_, x);
  }
  std::fill(sum_.begin(), sum_.end(), 0.0f);
  weight_sum_ = staleness_sum_ = 0;
  count_ = 0;
}

Result<Actions> FedBuffStrategy::Start(ModelSnapshot initial, StrategyContext& ctx) {
  global_ = std::move(initial);
  if (ctx.num_clients() == 0) return FailedPrecondition("fedbuff: no clients to train");
  busy_.assign(static_cast<size_t>(ctx.num_clients()), false);
  Actions a;
  const int c = std::min(opts_.concurrency, ctx.num_clients());
  for (int i = 0; i < c; ++i) DispatchOne(a, ctx);
  return a;
}

void FedBuffStrategy::DispatchOne(Actions& a, StrategyContext& ctx) {
  const int n = ctx.num_clients();
  const int free = n - static_cast<int>(inflight_.size());
  if (done_ || free <= 0) return;
  // The k-th idle client, k uniform: keyed by the task id, so the choice does
  // not depend on anything but the order of events.
  RngStream rng(ctx.seed, static_cast<int64_t>(next_task_id_), -1, RngPurpose::kSelect);
  int k = static_cast<int>(rng.NextBelow(static_cast<uint64_t>(free)));
  int client = 0;
  for (; client < n; ++client)
    if (!busy_[static_cast<size_t>(client)] && k-- == 0) break;
  Task t;
  t.task_id = next_task_id_++;
  t.round = static_cast<int64_t>(global_.version);
  t.client = client;
  t.model = global_;
  busy_[static_cast<size_t>(client)] = true;
  inflight_.emplace(t.task_id, client);
  a.dispatch.push_back(std::move(t));
}

Result<Actions> FedBuffStrategy::OnResult(ClientResult&& r, StrategyContext& ctx) {
  auto it = inflight_.find(r.task_id);
  if (it == inflight_.end() || done_) return Actions{};  // cancelled or unknown: ignore
  busy_[static_cast<size_t>(it->second)] = false;
  inflight_.erase(it);
  if (r.update.delta.size() != global_.params->size())
    return InvalidArgument("fedbuff: client " + std::to_string(r.client) + " sent " +
                           std::to_string(r.update.delta.size()) + " parameters, expected " +
                           std::to_string(global_.params->size()));
  if (r.model_version > global_.version)
    return InvalidArgument("fedbuff: client " + std::to_string(r.client) + " reports model version " +
                           std::to_string(r.model_version) + " newer than the server's " +
                           std::to_string(global_.version));
  const int64_t tau = static_cast<int64_t>(global_.version - r.model_version);
  max_staleness_ = std::max(max_staleness_, tau);
  const double w = opts_.sample_weighting ? static_cast<double>(r.update.num_samples) : 1.0;
  Actions a;
  if (w > 0) buffer_.Add(*ctx.backend, r.update.delta, tau, w);
  if (buffer_.count() >= opts_.buffer_size) {
    last_staleness_ = buffer_.mean_staleness();
    std::vector<float> x = *global_.params;
    buffer_.Apply(*ctx.backend, x);
    global_ = ModelSnapshot{global_.version + 1, std::make_shared<const std::vector<float>>(std::move(x))};
    a.model_changed = true;
    if (static_cast<int64_t>(global_.version) >= opts_.rounds) {
      done_ = true;
      a.done = true;
      for (const auto& [id, c] : inflight_) a.cancel_tasks.push_back(id);
      return a;
    }
  }
  DispatchOne(a, ctx);
  return a;
}

Result<Actions> FedBuffStrategy::OnFailure(const ClientFailure& f, StrategyContext& ctx) {
  auto it = inflight_.find(f.task_id);
  if (it == inflight_.end() || done_) return Actions{};
  busy_[static_cast<size_t>(it->second)] = false;
  inflight_.erase(it);
  Actions a;
  DispatchOne(a, ctx);
  return a;
}

void FedBuffStrategy::ReportMetrics(MetricsRow& row) const {
  row.Set("staleness_mean", last_staleness_);
  row.Set("staleness_max", max_staleness_);
  row.Set("in_flight", static_cast<int64_t>(inflight_.size()));
}

}  // namespace shoal
