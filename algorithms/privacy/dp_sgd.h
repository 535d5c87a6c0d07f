// DP-SGD on the client (Abadi et al. 2016, arXiv 1607.00133; shared/PRIVACY.md §1.3).
//
// Per local step: sample a batch (Poisson: every local example independently
// with probability q; fixed: B distinct examples), compute per-example
// gradients g_i with the layers' per-example API (Model::PerExampleLossAndGrads),
// clip g_i <- g_i * min(1, C / ||g_i||) (Backend::ClipByNorm), add
// N(0, (z C)^2 I) to the sum (Backend::GaussianFill, stream (seed, round,
// client, kNoise) at offset step * P), divide by the expected batch size
// L = q n (Poisson, as Opacus) or B (fixed), and take a plain SGD step
// x <- x - lr * G. Sends the model delta like FedAvg.
// Accounting (example level, per client, see ExampleLevelAccounting): each
// local step is one Poisson-subsampled Gaussian (q, z) under add/remove, or
// for fixed-size sampling one WBK19 sampled-without-replacement Gaussian
// with q = B / n and multiplier z/2 (replace-one sensitivity 2C).
// Keys (client:): lr (0.05), steps (per round; 0 = ceil(1/q), one expected
// epoch), clip_norm (1.0), noise_multiplier (1.0), sampling (poisson),
// sample_rate (0.05), batch_size (32, fixed sampling).
#pragma once

#include "algorithms/client_procedure.h"
#include "algorithms/privacy/dp_fedavg.h"
#include "core/config.h"

namespace shoal::privacy {

struct DpSgdOptions {
  double lr = 0.05;               // > 0
  int64_t steps = 0;              // >= 0; 0 = ceil(1 / q) (Poisson) or ceil(n / B) (fixed)
  double clip_norm = 1.0;         // C > 0
  double noise_multiplier = 1.0;  // z >= 0
  bool poisson = true;            // sampling: "poisson" or "fixed"
  double sample_rate = 0.05;      // q in (0, 1] (Poisson)
  int batch_size = 32;            // B >= 1 (fixed)
  static Result<DpSgdOptions> Parse(const ConfigNode& client);
  // Local steps for a client holding n examples.
  int64_t StepsFor(int64_t n) const;
};

class DpSgdClient final : public ClientProcedure {
 public:
  explicit DpSgdClient(DpSgdOptions opts) : opts_(opts) {}
  std::string name() const override { return "dp_sgd"; }
  Result<ClientUpdate> Run(const Task& task, ClientState& state, TrainContext& ctx) const override;
  double PlannedWork(const Task& task, int64_t num_samples) const override;

 private:
  DpSgdOptions opts_;
};

// The per-round RDP of DP-SGD for the CentralDp accountant (level
// central_example): the worst client (largest q, most steps), assuming it
// takes part in every round.
AccountingFn ExampleLevelAccounting(DpSgdOptions opts);

}  // namespace shoal::privacy
