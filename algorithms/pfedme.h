// pFedMe (Dinh, Tran, Nguyen, NeurIPS 2020), shared/ALGORITHMS.md §7.
//
// Personal model: theta_i(w) = argmin_theta f_i(theta) + (lambda/2)||theta - w||^2.
// Client: w_0 = x. For r = 0..R-1: one minibatch D; K inner steps on D
//   theta <- theta - plr (grad f_i(theta; D) + lambda (theta - w_r) + inner_l2 theta);
//   w_{r+1} = w_r - eta lambda (w_r - theta). Sends Delta_i = w_R - x.
//   theta starts at x and is warm-started across r (official code; `theta_init:
//   reset` restarts it at w_r). The personal model kept in ClientState is
//   theta_i (`personal_eval: local_w` keeps w_R, what the official code evaluates).
// Server: x <- (1 - beta) x + beta mean_{i in S} w_{i,R} = x + beta mean Delta_i,
//   i.e. FedAvg with server_lr = beta; uniform mean (`weighting: samples`: n_i).
// Paper: every client trains every round and S of them are aggregated
//   (`local_updates: all`, default); `local_updates: sampled` trains only S.
// Keys (strategy:) and defaults (paper, MNIST): lambda 15 (> 0), personal_lr
//   0.1 (> 0), inner_steps K 5, local_rounds R 20, beta 1 (in (0, 2]),
//   inner_l2 0 (official code 0.001), weighting uniform, personal_eval theta,
//   theta_init warm, local_updates all, state_precision f32 | bf16.
//   client: batch_size B 20, lr eta 0.005.
// The inner solve contracts only while personal_lr (h + lambda) < 2 for the
// minibatch loss curvature h: with lambda 15, plr 0.1 diverges on tiny
// single-label batches (pfedme_10k_clients.yaml uses 0.05).
#pragma once

#include <set>

#include "algorithms/client_procedure.h"
#include "algorithms/fedavg.h"
#include "algorithms/minibatch.h"
#include "algorithms/state_tensor.h"

namespace shoal {

struct PFedMeOptions {
  double lambda = 15.0;
  double personal_lr = 0.1;
  int inner_steps = 5;
  int local_rounds = 20;
  double beta = 1.0;
  double inner_l2 = 0.0;
  bool uniform_weighting = true;
  bool eval_local_w = false;
  bool reset_theta = false;
  bool train_all = true;
  StatePrecision precision = StatePrecision::kF32;
  // client section
  int batch_size = 20;
  double lr = 0.005;
  // Parses strategy: and client: keys; errors are recorded in the nodes.
  static PFedMeOptions Parse(const ConfigNode& strategy, const ConfigNode& client);
};

class PFedMeStrategy final : public FedAvgStrategy {
 public:
  PFedMeStrategy(RoundOptions round, const PFedMeOptions& opts);
  std::string name() const override { return "pfedme"; }

 protected:
  std::vector<int> SelectClients(int64_t round, int count, StrategyContext& ctx) override;
  void BeginRound(StrategyContext& ctx) override;
  Status Accept(ClientResult&& result, StrategyContext& ctx) override;

 private:
  bool train_all_;
  int aggregate_count_;       // S
  std::set<int> aggregated_;  // S_t when every client trains
};

class PFedMeClient final : public ClientProcedure {
 public:
  explicit PFedMeClient(PFedMeOptions opts) : opts_(opts) {}
  std::string name() const override { return "pfedme"; }
  Result<ClientUpdate> Run(const Task& task, ClientState& state, TrainContext& ctx) const override;
  double PlannedWork(const Task& task, int64_t num_samples) const override;
  bool PersonalModel(const ClientState& state, std::span<const float> global, std::span<float> out) const override;

 private:
  PFedMeOptions opts_;
};

}  // namespace shoal
