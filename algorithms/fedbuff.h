// FedBuff: buffered asynchronous aggregation (Nguyen et al., AISTATS 2022).
//
// C clients train concurrently; whenever one reports (or fails) another is
// started with the current model, so C stay in flight. Client i downloads x
// at version t0, runs local SGD and sends Delta_i = y_0 - y_Q (Shoal's
// ClientUpdate.delta is y_Q - y_0 = -Delta_i). Its staleness is
// tau_i = (server version at arrival) - t0. The server buffers
//   Dbar += w_i * s(tau_i) * Delta_i,   k += 1,
// and after K results applies x <- x - eta_g * Dbar / K ("mean", the paper;
// with weighting=samples the divisor is sum_i n_i) or x <- x - eta_g * Dbar
// ("sum", FLSim's WEIGHTED_SUM reducer; sum == mean with eta_g * K).
// Optional server momentum: v <- beta v + step; x <- x - eta_g v.
// Staleness weights s(tau): poly (default) (1 + tau)^-e, e = 0.5;
// constant 1 (FLSim's default); poly_normalised (1+tau)^-e / (1+avg)^-e
// (FLSim's PolynomialStalenessWeight, avg = 1).
// Keys (strategy.*): rounds (server updates, 50), concurrency (C, 100, capped
// at the number of clients), buffer_size (K, 10), server_lr (1.0),
// server_momentum (0), reduction (mean), staleness (poly),
// staleness_exponent (0.5), staleness_avg (1.0), weighting (uniform).
// Not implemented: FLSim's flush of a partial buffer at an epoch end.
#pragma once

#include <map>
#include <span>
#include <vector>

#include "algorithms/strategy.h"
#include "core/config.h"

namespace shoal {

struct FedBuffOptions {
  enum class Staleness { kConstant, kPoly, kPolyNormalised };
  int64_t rounds = 50;          // server updates; >= 1
  int concurrency = 100;        // clients in flight; >= 1
  int buffer_size = 10;         // K; >= 1
  double server_lr = 1.0;       // eta_g; > 0
  double server_momentum = 0.0; // beta; [0, 1)
  bool sum_reduction = false;   // reduction: mean (false) | sum (true)
  Staleness staleness = Staleness::kPoly;
  double staleness_exponent = 0.5;  // e; >= 0
  double staleness_avg = 1.0;       // poly_normalised's reference staleness; >= 0
  bool sample_weighting = false;    // weighting: uniform (false) | samples (true)
  // Parses `strategy:`; errors are recorded in the node (key named).
  static FedBuffOptions Parse(const ConfigNode& node);
  double StalenessWeight(int64_t tau) const;
};

// The server buffer, separated from the event handling so its arithmetic can
// be checked on hand values. Deltas use Shoal's sign (y - x).
class FedBuffBuffer {
 public:
  explicit FedBuffBuffer(const FedBuffOptions& opts) : opts_(opts) {}
  // Adds w * s(tau) * delta. REQUIRES: delta has the model's size.
  void Add(const Backend& be, std::span<const float> delta, int64_t staleness, double weight);
  int count() const { return count_; }
  double mean_staleness() const { return count_ ? staleness_sum_ / count_ : 0.0; }
  // Applies the buffered step to x (x += eta_g * step, with momentum) and
  // empties the buffer. REQUIRES: count() >= 1.
  void Apply(const Backend& be, std::vector<float>& x);
  int64_t state_bytes() const { return static_cast<int64_t>((sum_.size() + velocity_.size()) * sizeof(float)); }

 private:
  FedBuffOptions opts_;
  std::vector<float> sum_, velocity_;
  double weight_sum_ = 0, staleness_sum_ = 0;
  int count_ = 0;
};

class FedBuffStrategy final : public Strategy {
 public:
  explicit FedBuffStrategy(FedBuffOptions opts) : opts_(opts), buffer_(opts) {}
  std::string name() const override { return "fedbuff"; }
  Result<Actions> Start(ModelSnapshot initial, StrategyContext& ctx) override;
  Result<Actions> OnResult(ClientResult&& result, StrategyContext& ctx) override;
  Result<Actions> OnFailure(const ClientFailure& failure, StrategyContext& ctx) override;
  Result<Actions> OnWake(StrategyContext&) override { return Actions{}; }
  const ModelSnapshot& global_model() const override { return global_; }
  int64_t rounds_done() const override { return static_cast<int64_t>(global_.version); }
  int64_t total_rounds() const override { return opts_.rounds; }
  int64_t state_bytes() const override { return buffer_.state_bytes(); }
  void ReportMetrics(MetricsRow& row) const override;
  // Tasks in flight (for tests and reporting).
  int in_flight() const { return static_cast<int>(inflight_.size()); }

 private:
  // Starts one task on a client not already in flight (uniform, keyed by
  // the dispatch counter), unless training is done.
  void DispatchOne(Actions& a, StrategyContext& ctx);

  FedBuffOptions opts_;
  FedBuffBuffer buffer_;
  ModelSnapshot global_;
  uint64_t next_task_id_ = 1;
  std::map<uint64_t, int> inflight_;  // task id -> client
  std::vector<bool> busy_;         // client has a task in flight
  double last_staleness_ = 0;      // mean staleness of the last applied buffer
  int64_t max_staleness_ = 0;
  bool done_ = false;
};

}  // namespace shoal
