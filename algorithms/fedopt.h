// FedOpt: FedAdagrad, FedAdam, FedYogi (Reddi et al., ICLR 2021, Alg. 2),
// shared/ALGORITHMS.md §4.
//
// Client: as FedAvg; Delta_i = y_i - x (positive = descent direction).
// Server: Delta = mean_{i in S} Delta_i (uniform; `weighting: samples` for n_i);
//   m <- beta1 m + (1 - beta1) Delta
//   Adagrad: v <- v + Delta^2
//   Adam:    v <- beta2 v + (1 - beta2) Delta^2
//   Yogi:    v <- v - (1 - beta2) Delta^2 sign(v - Delta^2)
//   x <- x + eta m / (sqrt(v) + tau)
// with m = 0 and v = tau^2 initially and no bias correction (paper);
// `bias_correction: true` divides m by 1 - beta1^t and v by 1 - beta2^t (Adam/Yogi).
// Keys (strategy:): server_lr (eta, 0.01, > 0), beta1 (0.9, [0, 1)),
// beta2 (0.99, [0, 1)), tau (1e-3, > 0), bias_correction (false), weighting.
#pragma once

#include "algorithms/fedavg.h"

namespace shoal {

struct FedOptOptions {
  enum class Rule { kAdagrad, kAdam, kYogi };
  Rule rule = Rule::kAdam;
  double server_lr = 0.01;
  double beta1 = 0.9, beta2 = 0.99, tau = 1e-3;
  bool bias_correction = false;
  bool uniform_weighting = true;
  static FedOptOptions Parse(const ConfigNode& strategy, Rule rule);
};

class FedOptStrategy final : public FedAvgStrategy {
 public:
  FedOptStrategy(RoundOptions round, FedOptOptions opts);
  std::string name() const override;
  int64_t state_bytes() const override { return static_cast<int64_t>((m_.size() + v_.size()) * sizeof(float)); }
  // Server moments (empty before the first step).
  const std::vector<float>& first_moment() const { return m_; }
  const std::vector<float>& second_moment() const { return v_; }

 protected:
  void ServerStep(std::span<const float> mean_delta, std::vector<float>& x, StrategyContext& ctx) override;

 private:
  FedOptOptions opts_;
  std::vector<float> m_, v_;
  int64_t t_ = 0;
};

}  // namespace shoal
