// APFL: Adaptive Personalized Federated Learning (Deng, Kamani, Mahdavi 2020),
// shared/ALGORITHMS.md §8.
//
// State per client (ClientState): personal v_i (starts at the first global
// model it receives), alpha_i (starts at `alpha`), and the post-training local
// copy w_i (for evaluation). Server: w.
// Client, from w_i = x, per local SGD step on a minibatch (E epochs, batch B):
//   vbar = alpha v + (1 - alpha) w_i
//   w_i <- w_i - eta grad f_i(w_i);  v <- v - eta alpha grad f_i(vbar)
//   adaptive: alpha <- clip_[0,1](alpha - eta_alpha <v - w_i, grad f_i(vbar)>)
//   (pre-step v and w_i, as in the paper). Sends Delta_i = w_i - x.
// Server: x <- mean_{i in S} w_i (uniform; `weighting: samples` for n_i).
// Personalized model: alpha v + (1 - alpha) w_i (parameter mixing).
// Keys (strategy:): alpha (0.5, in [0, 1]), adaptive (false), alpha_lr
//   (eta_alpha; default = client lr), weighting, state_precision (f32 | bf16).
//   client: epochs, batch_size, max_steps, optimizer (sgd; lr = eta).
// Not implemented: FedTorch's logit mixing and its alpha rule (see the spec).
#pragma once

#include "algorithms/fedavg.h"
#include "algorithms/minibatch.h"
#include "algorithms/state_tensor.h"

namespace shoal {

struct ApflOptions {
  double alpha = 0.5;
  bool adaptive = false;
  double alpha_lr = -1;  // < 0: use the client learning rate
  bool uniform_weighting = true;
  StatePrecision precision = StatePrecision::kF32;
  static ApflOptions Parse(const ConfigNode& strategy);
};

class ApflClient final : public ClientProcedure {
 public:
  ApflClient(LocalSgdOptions local, ApflOptions opts) : local_(std::move(local)), opts_(opts) {}
  std::string name() const override { return "apfl"; }
  Result<ClientUpdate> Run(const Task& task, ClientState& state, TrainContext& ctx) const override;
  double PlannedWork(const Task& task, int64_t num_samples) const override;
  bool PersonalModel(const ClientState& state, std::span<const float> global, std::span<float> out) const override;

 private:
  LocalSgdOptions local_;
  ApflOptions opts_;
};

// The server is FedAvg with the aggregation weighting above.
FedAvgOptions ApflServerOptions(const ApflOptions& opts);

class ApflStrategy final : public FedAvgStrategy {
 public:
  ApflStrategy(RoundOptions round, const ApflOptions& opts) : FedAvgStrategy(round, ApflServerOptions(opts)) {}
  std::string name() const override { return "apfl"; }
};

}  // namespace shoal
