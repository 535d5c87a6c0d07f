// CentralDp: differential privacy as a decorator around a round-based
// strategy, plus the accounting used by every DP level.
//
// Client-level DP-FedAvg (McMahan, Ramage, Talwar, Zhang 2018, arXiv
// 1710.06963; shared/PRIVACY.md §1.1): each delta is clipped to L2 norm C,
// weighted by w_k = min(n_k / w_cap, 1) (w_k = 1 without a cap), and the
// round's estimate is
//   fixed:   f = (sum_k w_k clip(D_k) + N(0, (z C)^2 I)) / (q W)
//   clipped: f = sum_k w_k clip(D_k) / max(q W_min, sum_k w_k) + N(0, (2 z C / (q W_min))^2 I)
// with q = m / N (m tasks dispatched per round, N clients) and W = sum of w_k
// over all N clients. The wrapped strategy then takes its server step on f
// (x <- x + eta_s f for FedAvg; FedAdam etc. post-process f). Adaptive
// clipping (Andrew et al. 2021, arXiv 1905.03871; §1.2): the server releases
// the count of clients with ||D_k|| <= C_t plus N(0, sigma_b^2) and sets
// C_{t+1} = C_t exp(-eta_C (b - gamma)); the update noise uses
// z_D = (z^-2 - (2 sigma_b)^-2)^-1/2 so that the pair is one Gaussian
// mechanism with multiplier z for the accountant.
//
// How the wrapped strategy sees it: results of a round are held back until
// every dispatched task has reported (or the round's deadline fires), then
// forwarded with num_samples = 1 and deltas scaled so that the plain mean of
// the forwarded deltas equals f (the noise rides on the first). This needs a
// wrapped strategy whose server step consumes the (num_samples-weighted)
// mean of the deltas it accepts (fedavg, fedavgm, fedadam, fedyogi,
// fedadagrad) and no over-selection; the registry enforces both.
//
// Accounting: every released round adds `rdp_per_round` (client level: one
// Poisson-subsampled Gaussian (q, z); uniform selection of m of N is
// accounted as Poisson with q = m/N, the usual approximation in TFF and
// Flower). Example-level DP-SGD and local DP use the same class with
// `level` != central_client: updates pass through untouched and only the
// accountant runs. Every metrics row gets `epsilon` (tight RDP conversion at
// `delta`). A budget: if the configured rounds would exceed it, Start fails
// with the projected epsilon unless stop_at_budget, in which case the run
// ends after the last round within budget (total_rounds() says so up front).
// Defaults: C = 1 (C_0 = 0.1 when adaptive), gamma = 0.5, eta_C = 0.2,
// sigma_b = m/20, delta = 1e-5.
#pragma once

#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "algorithms/privacy/accountant_rdp.h"
#include "algorithms/strategy.h"
#include "core/config.h"

namespace shoal::privacy {

enum class DpLevel { kCentralClient, kCentralExample, kLocal, kCount };
inline constexpr const char* kDpLevelNames[] = {"central_client", "central_example", "local"};
static_assert(std::size(kDpLevelNames) == static_cast<size_t>(DpLevel::kCount));

struct CentralDpOptions {
  DpLevel level = DpLevel::kCentralClient;
  double noise_multiplier = 1.0;   // z >= 0 (for the accountant: the combined multiplier)
  double clip_norm = 1.0;          // C (> 0); the initial C_0 when adaptive (default then 0.1)
  bool fixed_denominator = true;   // estimator: "fixed" (unbiased) or "clipped"
  double weight_cap = 0;           // w_cap > 0: w_k = min(n_k / w_cap, 1); 0: w_k = 1
  double min_weight_fraction = 1;  // clipped estimator: W_min = fraction * W; in (0, 1]
  bool adaptive_clipping = false;
  double target_quantile = 0.5;    // gamma in (0, 1)
  double clip_lr = 0.2;            // eta_C > 0 (geometric update)
  double bits_noise = 0;           // sigma_b >= 0; 0 = m / 20
  double delta = 1e-5;             // in (0, 1)
  double budget_epsilon = 0;       // > 0 declares a budget; 0 = none
  bool stop_at_budget = false;
  // Parses strategy.dp; errors name the key.
  static Result<CentralDpOptions> Parse(const ConfigNode& dp);
};

// The RDP one round adds, given the realised cohort: filled by Start.
struct RoundAccounting {
  double sample_rate = 0;           // q
  std::vector<double> rdp;          // per DefaultOrders() entry
};
// Computes the per-round RDP from the world at Start (client sample counts,
// tasks dispatched in the first round).
using AccountingFn = std::function<Result<RoundAccounting>(const StrategyContext& ctx, int dispatched)>;

class CentralDp final : public Strategy {
 public:
  // `accounting` defaults (null) to one Poisson-subsampled Gaussian per round
  // at q = dispatched / N with opts.noise_multiplier (client level).
  CentralDp(std::unique_ptr<Strategy> inner, CentralDpOptions opts, AccountingFn accounting = nullptr);
  std::string name() const override { return inner_->name(); }
  Result<Actions> Start(ModelSnapshot initial, StrategyContext& ctx) override;
  Result<Actions> OnResult(ClientResult&& result, StrategyContext& ctx) override;
  Result<Actions> OnFailure(const ClientFailure& failure, StrategyContext& ctx) override;
  Result<Actions> OnWake(StrategyContext& ctx) override;
  const ModelSnapshot& global_model() const override { return inner_->global_model(); }
  int64_t rounds_done() const override { return inner_->rounds_done(); }
  int64_t total_rounds() const override { return std::min(inner_->total_rounds(), max_rounds_); }
  int64_t state_bytes() const override { return inner_->state_bytes(); }
  void ReportMetrics(MetricsRow& row) const override;

  double epsilon() const;
  double clip_norm() const { return clip_; }
  double update_noise_multiplier() const { return z_update_; }
  int64_t released_rounds() const { return released_; }

 private:
  Result<Actions> Track(Result<Actions> a, const StrategyContext& ctx);
  Result<Actions> Flush(StrategyContext& ctx);
  Status SetUpAccounting(const StrategyContext& ctx, int dispatched);

  std::unique_ptr<Strategy> inner_;
  CentralDpOptions opts_;
  AccountingFn accounting_;
  RoundAccounting per_round_;
  RdpAccountant accountant_;
  double clip_ = 1, z_update_ = 0, sigma_bits_ = 0, total_weight_ = 0, last_quantile_ = -1;
  int64_t max_rounds_ = INT64_MAX, released_ = 0;
  int dispatched_ = 0;
  std::set<uint64_t> open_;               // tasks of the open round not yet reported
  std::vector<ClientResult> held_;        // clipped results of the open round
  std::vector<double> held_weights_;
  int held_unclipped_ = 0;
  int64_t deadline_at_us_ = -1;
  bool setup_ = false;
};

}  // namespace shoal::privacy
