// FedFix and asynchronous FedAvg (Fraboni, Vidal, Kameni, Lorenzi, "A General
// Theory for Federated Optimization with Asynchronous and Heterogeneous
// Clients Updates", JMLR 2023, arXiv 2206.10189; code Accenture/
// Labs-Federated-Learning, branch asynchronous_FL).
//
// Every client is always working (the paper's setting): it starts from the
// global model x^{rho_i} current when it was (re)started and returns y_i
// after tau_i seconds of virtual time. Unified server rule:
//   x^{n+1} = x^n + eta_g * sum_{i returning at step n} d_i * (y_i - x^{rho_i})
// (Shoal's ClientUpdate.delta is exactly y_i - x^{rho_i}).
// - FedFix: the server steps every delta_t seconds with every client that
//   finished inside the window (a result arriving exactly at the boundary
//   belongs to the closing window); such clients idle until the window closes
//   and restart with the new model. d_i = p_i * ceil(tau_i / delta_t)
//   (code-verified; i returns once per ceil(tau_i/delta_t) windows).
// - Async FedAvg: one server step per returning client, which restarts at
//   once. weights: identical (d_i = 1, default) or time_corrected
//   (d_i = (sum_j 1/tau_j) * tau_i * p_i, undoing the 1/tau_i arrival
//   frequency; tau_j is client j's last measured task time, the mean of the
//   measured ones for clients that never returned yet).
// p_i = n_i / sum_j n_j over all clients; tau_i is measured by the strategy
// (arrival time minus start time), not known in advance.
// Keys (strategy.*): rounds (server steps, 50), server_lr (eta_g, 1.0);
// fedfix: delta_t (window seconds, 1.0); async_fedavg: weights (identical).
#pragma once

#include <vector>

#include "algorithms/strategy.h"
#include "core/config.h"

namespace shoal {

struct AsyncOptions {
  int64_t rounds = 50;          // server steps (windows for FedFix); >= 1
  double server_lr = 1.0;       // eta_g; > 0
  double delta_t = 1.0;         // FedFix window in virtual seconds; > 0
  bool time_corrected = false;  // async FedAvg weights: identical | time_corrected
  // Parses `strategy:` (delta_t only for FedFix, weights only for async).
  static AsyncOptions Parse(const ConfigNode& node, bool fedfix);
};

// Shared bookkeeping: every client in flight, restarted by the subclass.
class EveryClientAsync : public Strategy {
 public:
  explicit EveryClientAsync(AsyncOptions opts) : opts_(opts) {}
  Result<Actions> Start(ModelSnapshot initial, StrategyContext& ctx) override;
  Result<Actions> OnResult(ClientResult&& result, StrategyContext& ctx) override;
  Result<Actions> OnFailure(const ClientFailure& failure, StrategyContext& ctx) override;
  const ModelSnapshot& global_model() const override { return global_; }
  int64_t rounds_done() const override { return steps_; }
  int64_t total_rounds() const override { return opts_.rounds; }
  // The clients aggregated by the last server step (in arrival order).
  const std::vector<int>& last_step_clients() const { return last_clients_; }
  // d_i of the last result accepted.
  double last_weight() const { return last_weight_; }

 protected:
  // A validated result of `client` whose task took tau_us; returns the actions.
  virtual Result<Actions> Accept(ClientResult&& r, int64_t tau_us, StrategyContext& ctx) = 0;
  // A failed task: the client is idle until Restart.
  virtual Result<Actions> Dropped(int client, StrategyContext& ctx) = 0;
  // Starts a task for `client` with the current model.
  void Restart(int client, Actions& a, StrategyContext& ctx);
  // x += eta_g * scale * update; counts a server step; finishes the run when due.
  void Step(std::span<const float> update, double scale, Actions& a, StrategyContext& ctx);
  double p(int client, const StrategyContext& ctx) const;
  // Cancels everything in flight and marks the run done.
  void Finish(Actions& a);

  AsyncOptions opts_;
  ModelSnapshot global_;
  int64_t steps_ = 0;
  bool done_ = false;
  std::vector<int> step_clients_, last_clients_;
  double last_weight_ = 0;

 private:
  uint64_t next_task_id_ = 1;
  std::vector<uint64_t> task_of_;  // in-flight task per client (0 = idle)
  std::vector<int64_t> start_us_;  // when the client's current task started
  int64_t total_samples_ = 0;
};

class FedFixStrategy final : public EveryClientAsync {
 public:
  explicit FedFixStrategy(AsyncOptions opts) : EveryClientAsync(opts) {}
  std::string name() const override { return "fedfix"; }
  Result<Actions> Start(ModelSnapshot initial, StrategyContext& ctx) override;
  Result<Actions> OnWake(StrategyContext& ctx) override;
  int64_t state_bytes() const override { return static_cast<int64_t>(sum_.size() * sizeof(float)); }
  void ReportMetrics(MetricsRow& row) const override;

 private:
  Result<Actions> Accept(ClientResult&& r, int64_t tau_us, StrategyContext& ctx) override;
  Result<Actions> Dropped(int client, StrategyContext& ctx) override;

  std::vector<float> sum_;     // sum_i d_i * delta_i of the open window
  std::vector<int> waiting_;   // clients idle until the window closes
  bool settling_ = false;      // the boundary passed; results queued at it still count
  int64_t window_us_ = 0;
};

class AsyncFedAvgStrategy final : public EveryClientAsync {
 public:
  explicit AsyncFedAvgStrategy(AsyncOptions opts) : EveryClientAsync(opts) {}
  std::string name() const override { return "async_fedavg"; }
  Result<Actions> OnWake(StrategyContext&) override { return Actions{}; }
  void ReportMetrics(MetricsRow& row) const override;

 private:
  Result<Actions> Accept(ClientResult&& r, int64_t tau_us, StrategyContext& ctx) override;
  Result<Actions> Dropped(int client, StrategyContext& ctx) override;

  std::vector<double> tau_s_;  // last measured task time per client (0 = unknown)
};

}  // namespace shoal
