// FedProx (Li et al., MLSys 2020), shared/ALGORITHMS.md §2.
//
// Client: inexact solve of h_i(w) = f_i(w) + (mu/2)||w - x||^2 by local SGD,
//         y <- y - eta_l (grad f_i(y) + mu (y - x)), E epochs; the proximal
//         term enters through the GradHook of RunLocalTraining.
// Server: paper (Alg. 2) samples K devices with probability p_i = n_i / n
//         (with replacement) and takes the simple mean of the y_i; the
//         official code (litian96/FedProx) samples uniformly without
//         replacement and takes the n_i-weighted mean (`mode: code`).
// Systems heterogeneity: a fraction `straggler_fraction` of the selected
// clients runs U{1..E-1} epochs (1 when E = 1); its partial work is aggregated.
// Keys (strategy:): mu (0.01; paper grid {0.001, 0.01, 0.1, 1}, >= 0),
// mode (paper | code), sampling (proportional | uniform), aggregation
// (uniform | samples), straggler_fraction (0, in [0, 1]) plus RoundOptions.
#pragma once

#include "algorithms/fedavg.h"

namespace shoal {

struct FedProxOptions {
  double mu = 0.01;                 // >= 0; 0 gives FedAvg's client
  bool proportional_sampling = true;
  bool uniform_aggregation = true;
  double straggler_fraction = 0.0;  // in [0, 1]
  int local_epochs = 1;             // client.epochs, for the straggler draw
  static FedProxOptions Parse(const ConfigNode& strategy, int local_epochs);
};

class FedProxStrategy final : public FedAvgStrategy {
 public:
  FedProxStrategy(RoundOptions round, FedProxOptions opts);
  std::string name() const override { return "fedprox"; }

 protected:
  // Proportional: K independent draws with probability n_i / n (a client drawn
  // twice trains twice, identically, and counts twice in the mean).
  std::vector<int> SelectClients(int64_t round, int count, StrategyContext& ctx) override;
  void ConfigureTask(Task& task, StrategyContext& ctx) override;

 private:
  FedProxOptions opts_;
  std::vector<int> task_epochs_;  // per selected client in dispatch order (0 = full E)
  size_t next_task_ = 0;
};

class FedProxClient final : public FedAvgClient {
 public:
  FedProxClient(LocalSgdOptions opts, double mu) : FedAvgClient(std::move(opts)), mu_(mu) {}
  std::string name() const override { return "fedprox"; }
  Result<ClientUpdate> Run(const Task& task, ClientState& state, TrainContext& ctx) const override;

 private:
  double mu_;
};

}  // namespace shoal
