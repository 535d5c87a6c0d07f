// SCAFFOLD (Karimireddy et al., ICML 2020), shared/ALGORITHMS.md §3.
//
// State: server x and control variate c (init 0); every client c_i (init 0,
//        kept in ClientState across rounds, also while not sampled).
// Client: y <- x; K local steps y <- y - eta_l (g_i(y) - c_i + c), with c sent
//         in Task.extras["c"]. New control variate:
//           option II (default): c_i+ = c_i - c + (x - y) / (K eta_l),
//           option I:            c_i+ = grad f_i(x) (one extra pass at x),
//         K = the steps the client actually executed. Sends Delta_i = y - x
//         and dc_i = c_i+ - c_i in ClientUpdate.extras["dc"].
// Server: x <- x + eta_g mean_{i in S} Delta_i; c <- c + (1/N) sum_{i in S} dc_i.
// Keys (strategy:): option (II | I), server_lr (eta_g, 1, > 0), weighting
// (uniform | samples; paper: uniform) plus RoundOptions; client: as FedAvg
// (eta_l = client.optimizer.lr; option II assumes plain SGD steps).
#pragma once

#include "algorithms/fedavg.h"

namespace shoal {

class ScaffoldStrategy final : public FedAvgStrategy {
 public:
  ScaffoldStrategy(RoundOptions round, FedAvgOptions opts) : FedAvgStrategy(round, opts) {}
  std::string name() const override { return "scaffold"; }
  int64_t state_bytes() const override;
  // The server control variate c (empty before the first round).
  const std::vector<float>& control() const { return *c_; }

 protected:
  void ConfigureTask(Task& task, StrategyContext& ctx) override;
  void BeginRound(StrategyContext& ctx) override;
  Status Accept(ClientResult&& result, StrategyContext& ctx) override;
  Result<std::vector<float>> Finish(int accepted, StrategyContext& ctx) override;

 private:
  std::shared_ptr<const std::vector<float>> c_ = std::make_shared<const std::vector<float>>();
  std::vector<float> dc_sum_;
};

class ScaffoldClient final : public FedAvgClient {
 public:
  ScaffoldClient(LocalSgdOptions opts, bool option_one) : FedAvgClient(std::move(opts)), option_one_(option_one) {}
  std::string name() const override { return "scaffold"; }
  Result<ClientUpdate> Run(const Task& task, ClientState& state, TrainContext& ctx) const override;
  double PlannedWork(const Task& task, int64_t num_samples) const override;

 private:
  bool option_one_;
};

}  // namespace shoal
