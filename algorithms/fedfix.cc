#include "algorithms/fedfix.h"

#include <algorithm>
#include <cmath>

namespace shoal {

AsyncOptions AsyncOptions::Parse(const ConfigNode& n, bool fedfix) {
  AsyncOptions o;
  o.rounds = n.Get<int64_t>("rounds", o.rounds, [](const int64_t& v) { return v >= 1; }, ">= 1 (server steps)");
  o.server_lr = n.Get<double>("server_lr", o.server_lr, [](const double& v) { return v > 0; }, "> 0");
  if (fedfix) {
    o.delta_t = n.Get<double>("delta_t", o.delta_t, [](const double& v) { return v > 0 && v < 1e9; },
                              "> 0 (window length in virtual seconds)");
  } else {
    o.time_corrected = n.Get<std::string>("weights", "identical",
                                          [](const std::string& v) { return v == "identical" || v == "time_corrected"; },
                                          "'identical' or 'time_corrected'") == "time_corrected";
  }
  return o;
}

Result<Actions> EveryClientAsync::Start(ModelSnapshot initial, StrategyContext& ctx) {
  global_ = std::move(initial);
  const int n = ctx.num_clients();
  if (n == 0) return FailedPrecondition(name() + ": no clients to train");
  task_of_.assign(static_cast<size_t>(n), 0);
  start_us_.assign(static_cast<size_t>(n), 0);
  total_samples_ = 0;
  for (int64_t s : ctx.client_samples) total_samples_ += s;
  Actions a;
  for (int c = 0; c < n; ++c) Restart(c, a, ctx);
  return a;
}

double EveryClientAsync::p(int client, const StrategyContext& ctx) const {
  if (total_samples_ <= 0) return 1.0 / ctx.num_clients();
  return static_cast<double>(ctx.client_samples[static_cast<size_t>(client)]) / static_cast<double>(total_samples_);
}

void EveryClientAsync::Restart(int client, Actions& a, StrategyContext& ctx) {
  if (done_) return;
  Task t;
  t.task_id = next_task_id_++;
  t.round = static_cast<int64_t>(global_.version);
  t.client = client;
  t.model = global_;
  task_of_[static_cast<size_t>(client)] = t.task_id;
  start_us_[static_cast<size_t>(client)] = ctx.now_us;
  a.dispatch.push_back(std::move(t));
}

Result<Actions> EveryClientAsync::OnResult(ClientResult&& r, StrategyContext& ctx) {
  if (done_ || r.client < 0 || r.client >= static_cast<int>(task_of_.size()) ||
      task_of_[static_cast<size_t>(r.client)] != r.task_id)
    return Actions{};  // cancelled, stale or unknown
  if (r.update.delta.size() != global_.params->size())
    return InvalidArgument(name() + ": client " + std::to_string(r.client) + " sent " +
                           std::to_string(r.update.delta.size()) + " parameters, expected " +
                           std::to_string(global_.params->size()));
  task_of_[static_cast<size_t>(r.client)] = 0;
  const int64_t tau_us = ctx.now_us - start_us_[static_cast<size_t>(r.client)];
  return Accept(std::move(r), tau_us, ctx);
}

Result<Actions> EveryClientAsync::OnFailure(const ClientFailure& f, StrategyContext& ctx) {
  if (done_ || f.client < 0 || f.client >= static_cast<int>(task_of_.size()) ||
      task_of_[static_cast<size_t>(f.client)] != f.task_id)
    return Actions{};
  task_of_[static_cast<size_t>(f.client)] = 0;
  return Dropped(f.client, ctx);
}

void EveryClientAsync::Step(std::span<const float> update, double scale, Actions& a, StrategyContext& ctx) {
  std::vector<float> x = *global_.params;
  if (!update.empty()) ctx.backend->Axpy(static_cast<float>(opts_.server_lr * scale), update, x);
  global_ = ModelSnapshot{global_.version + 1, std::make_shared<const std::vector<float>>(std::move(x))};
  ++steps_;
  last_clients_ = std::move(step_clients_);
  step_clients_.clear();
  a.model_changed = true;
  if (steps_ >= opts_.rounds) Finish(a);
}

void EveryClientAsync::Finish(Actions& a) {
  done_ = true;
  a.done = true;
  for (uint64_t& id : task_of_) {
    if (id != 0) a.cancel_tasks.push_back(id);
    id = 0;
  }
}

// ---- FedFix ----------------------------------------------------------------

Result<Actions> FedFixStrategy::Start(ModelSnapshot initial, StrategyContext& ctx) {
  window_us_ = std::max<int64_t>(1, static_cast<int64_t>(std::llround(opts_.delta_t * 1e6)));
  sum_.assign(initial.params->size(), 0.0f);
  ASSIGN_OR_RETURN(Actions a, EveryClientAsync::Start(std::move(initial), ctx));
  a.wake_after_us = window_us_;
  return a;
}

Result<Actions> FedFixStrategy::Accept(ClientResult&& r, int64_t tau_us, StrategyContext& ctx) {
  // Windows the client spans: ceil(tau / delta_t), at least one.
  const int64_t windows = std::max<int64_t>(1, (tau_us + window_us_ - 1) / window_us_);
  last_weight_ = p(r.client, ctx) * static_cast<double>(windows);
  ctx.backend->WeightedAccumulate(static_cast<float>(last_weight_), r.update.delta, sum_);
  step_clients_.push_back(r.client);
  waiting_.push_back(r.client);
  return Actions{};
}

Result<Actions> FedFixStrategy::Dropped(int client, StrategyContext&) {
  waiting_.push_back(client);  // retried when the window closes
  return Actions{};
}

Result<Actions> FedFixStrategy::OnWake(StrategyContext& ctx) {
  Actions a;
  if (done_) return a;
  if (!settling_) {
    // The boundary is reached, but results due at this very instant may still
    // be queued behind this timer: close the window one zero-length timer
    // later so they count in it.
    settling_ = true;
    a.wake_after_us = 0;
    return a;
  }
  settling_ = false;
  Step(sum_, 1.0, a, ctx);
  std::fill(sum_.begin(), sum_.end(), 0.0f);
  std::vector<int> restart = std::move(waiting_);
  waiting_.clear();
  for (int c : restart) Restart(c, a, ctx);
  if (!done_) a.wake_after_us = window_us_;
  return a;
}

void FedFixStrategy::ReportMetrics(MetricsRow& row) const {
  row.Set("window_clients", static_cast<int64_t>(last_clients_.size()));
}

// ---- Asynchronous FedAvg ----------------------------------------------------

Result<Actions> AsyncFedAvgStrategy::Accept(ClientResult&& r, int64_t tau_us, StrategyContext& ctx) {
  const int n = ctx.num_clients();
  if (tau_s_.size() != static_cast<size_t>(n)) tau_s_.assign(static_cast<size_t>(n), 0.0);
  const double tau = std::max(1e-6, static_cast<double>(tau_us) * 1e-6);
  tau_s_[static_cast<size_t>(r.client)] = tau;
  double d = 1.0;
  if (opts_.time_corrected) {
    double known_sum = 0, inv_sum = 0;
    int known = 0;
    for (double t : tau_s_)
      if (t > 0) known_sum += t, inv_sum += 1.0 / t, ++known;
    inv_sum += static_cast<double>(n - known) * static_cast<double>(known) / known_sum;  // unknown: mean tau
    d = inv_sum * tau * p(r.client, ctx);
  }
  last_weight_ = d;
  step_clients_.assign(1, r.client);
  Actions a;
  Step(r.update.delta, d, a, ctx);
  Restart(r.client, a, ctx);
  return a;
}

Result<Actions> AsyncFedAvgStrategy::Dropped(int client, StrategyContext& ctx) {
  Actions a;
  Restart(client, a, ctx);
  return a;
}

void AsyncFedAvgStrategy::ReportMetrics(MetricsRow& row) const { row.Set("async_weight", last_weight_); }

}  // namespace shoal
