// SGD, optionally with PyTorch-style momentum (dampening 0) and Nesterov.
//   plain:    p -= lr * g
//   momentum: b = g (t=1) else mu*b + g;  p -= lr * b        (nesterov: p -= lr*(g + mu*b))
#pragma once

#include "algorithms/optimizers/optimizer.h"

namespace shoal {

class SgdOptimizer final : public Optimizer {
 public:
  SgdOptimizer(const Backend& be, int64_t n, float momentum, bool nesterov, float weight_decay);
  void Step(std::span<float> params, std::span<const float> grad, float lr) override;
  int64_t state_bytes() const override { return static_cast<int64_t>(buf_.size() * sizeof(float)); }
  void SaveState(ClientState& s) const override;
  void LoadState(const ClientState& s) override;

 private:
  const Backend& be_;
  float momentum_, weight_decay_;
  bool nesterov_;
  int64_t t_ = 0;
  std::vector<float> buf_;
};

}  // namespace shoal
