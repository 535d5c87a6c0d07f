// FedSpeed (Sun et al., ICLR 2023), shared/ALGORITHMS.md §9.
//
// State per client: ghat_i (init 0, kept in ClientState). Client, x_0 = x,
// per local step k on a minibatch (E epochs, batch B, lr eta_l):
//   g1 = grad f_i(x_k);  xp = x_k + rho g1 / (||g1|| + 1e-7)   (`perturbation: raw`: rho g1)
//   g2 = grad f_i(xp);   gq = (1 - alpha) g1 + alpha g2
//   x_{k+1} = x_k - eta_l (gq - ghat_i + (x_k - x) / lambda)
// then ghat_i <- ghat_i - (x_K - x) / lambda and the client sends
// xhat_i = x_K - lambda ghat_i (Delta_i = xhat_i - x).
// Server: x <- mean_{i in S} xhat_i. `server: code_all_clients` (official
// code) instead has clients send x_K, keeps H = sum over all clients of
// h_i = -lambda ghat_i (h_i += x_K - x per participation) and sets
// x <- mean_S x_K + H / N; with full participation both rules coincide.
// Keys (strategy:): lambda 10 (> 0; the code's lamb = 1/lambda = 0.1), rho 0.1
//   (>= 0), alpha 1 (in [0, 1]; the code's ESAM default), perturbation
//   (normalised | raw), server (paper | code_all_clients), clip_norm (0 = none;
//   code 10: clips gq - ghat + prox), extra_l2 (0; code 1e-3).
//   client: epochs, batch_size, max_steps, optimizer (sgd; lr = eta_l).
#pragma once

#include "algorithms/fedavg.h"

namespace shoal {

struct FedSpeedOptions {
  double lambda = 10.0;
  double rho = 0.1;
  double alpha = 1.0;
  bool raw_perturbation = false;
  bool code_server = false;
  double clip_norm = 0.0;
  double extra_l2 = 0.0;
  static FedSpeedOptions Parse(const ConfigNode& strategy);
};

class FedSpeedStrategy final : public FedAvgStrategy {
 public:
  FedSpeedStrategy(RoundOptions round, FedSpeedOptions opts);
  std::string name() const override { return "fedspeed"; }
  int64_t state_bytes() const override { return static_cast<int64_t>(h_sum_.size() * sizeof(float)); }

 protected:
  Status Accept(ClientResult&& result, StrategyContext& ctx) override;
  Result<std::vector<float>> Finish(int accepted, StrategyContext& ctx) override;

 private:
  FedSpeedOptions opts_;
  std::vector<float> h_sum_;  // code_all_clients: sum_i h_i over all clients
};

class FedSpeedClient final : public ClientProcedure {
 public:
  FedSpeedClient(LocalSgdOptions local, FedSpeedOptions opts) : local_(std::move(local)), opts_(opts) {}
  std::string name() const override { return "fedspeed"; }
  Result<ClientUpdate> Run(const Task& task, ClientState& state, TrainContext& ctx) const override;
  double PlannedWork(const Task& task, int64_t num_samples) const override;

 private:
  LocalSgdOptions local_;
  FedSpeedOptions opts_;
};

}  // namespace shoal
