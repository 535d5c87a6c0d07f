// FedAvg (McMahan et al., AISTATS 2017) and FedAvgM (Hsu et al., 2019).
//
// Client: y <- x; E epochs of minibatch SGD (batch B, lr eta_l); sends
//         Delta_i = y_i - x and its sample count n_i.
// Server: Dbar = sum_i w_i Delta_i / sum_i w_i with w_i = n_i ("samples",
//         default) or 1 ("uniform"); with server momentum beta (FedAvgM):
//         v <- beta v + Dbar; x <- x + eta_g v  (beta = 0: x <- x + eta_g Dbar,
//         eta_g = 1 gives the plain sample-weighted average of the y_i).
// Hyperparameters: strategy.server_lr (eta_g, default 1), strategy.server_momentum
// (beta, default 0; "fedavgm" defaults to 0.9), strategy.weighting;
// client.epochs (1), client.batch_size (32), client.optimizer (sgd, lr 0.05).
#pragma once

#include "algorithms/client_procedure.h"
#include "algorithms/round_strategy.h"

namespace shoal {

struct FedAvgOptions {
  double server_lr = 1.0;        // > 0
  double server_momentum = 0.0;  // in [0, 1)
  bool uniform_weighting = false;
  static FedAvgOptions Parse(const ConfigNode& node, double default_momentum);
};

class FedAvgStrategy : public RoundStrategy {
 public:
  FedAvgStrategy(RoundOptions round, FedAvgOptions opts) : RoundStrategy(round), opts_(opts) {}
  std::string name() const override { return opts_.server_momentum > 0 ? "fedavgm" : "fedavg"; }
  int64_t state_bytes() const override { return static_cast<int64_t>(velocity_.size() * sizeof(float)); }

 protected:
  void BeginRound(StrategyContext& ctx) override;
  Status Accept(ClientResult&& result, StrategyContext& ctx) override;
  Result<std::vector<float>> Finish(int accepted, StrategyContext& ctx) override;
  // Applies the server update to a copy of x given the mean delta. FedAvg/M
  // here; server optimizers (FedAdam, ...) override only this.
  virtual void ServerStep(std::span<const float> mean_delta, std::vector<float>& x, StrategyContext& ctx);
  const FedAvgOptions& options() const { return opts_; }
  void SaveRoundState(wire::Writer& w) const override { w.PutFloats(velocity_); }
  Status LoadRoundState(wire::Reader& r) override { return r.GetFloats(&velocity_, uint64_t{1} << 34, "momentum"); }

 private:
  FedAvgOptions opts_;
  std::vector<float> sum_;      // sum_i w_i Delta_i
  double weight_sum_ = 0;
  std::vector<float> velocity_; // FedAvgM
};

// Client options shared by procedures that train with minibatch SGD.
struct LocalSgdOptions {
  LocalTrainingOptions training;
  OptimizerSpec optimizer;
  bool persist_optimizer_state = false;  // keep optimizer state in ClientState between rounds
  // Parses client.{epochs, batch_size, max_steps, optimizer, persist_optimizer_state}.
  static Result<LocalSgdOptions> Parse(const ConfigNode& client);
};

class FedAvgClient : public ClientProcedure {
 public:
  explicit FedAvgClient(LocalSgdOptions opts) : opts_(std::move(opts)) {}
  std::string name() const override { return "fedavg"; }
  Result<ClientUpdate> Run(const Task& task, ClientState& state, TrainContext& ctx) const override;
  double PlannedWork(const Task& task, int64_t num_samples) const override;

 protected:
  // Trains from task.model into ctx.params with an optional gradient hook and
  // fills delta/num_samples/steps/train_loss.
  ClientUpdate TrainLocally(const Task& task, ClientState& state, TrainContext& ctx,
                            const GradHook& hook = nullptr) const;
  const LocalSgdOptions& local_options() const { return opts_; }

 private:
  LocalSgdOptions opts_;
};

}  // namespace shoal
