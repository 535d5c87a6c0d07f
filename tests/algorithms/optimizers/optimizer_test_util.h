// Shared helpers for the optimizer tests: a scripted StepContext and a
// runner that applies a fixed gradient sequence.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "algorithms/optimizers/optimizer.h"

namespace shoal::testing {

// Returns scripted values: the t-th call (0-based per kind) of HessianVector
// or SampledLabelGrad returns hv[t] / sampled[t]; or, when `diag` is set,
// HessianVector returns diag ⊙ v (a quadratic with Hessian diag(diag)).
class ScriptedContext final : public StepContext {
 public:
  std::vector<std::vector<float>> hv, sampled;
  std::vector<double> losses;
  std::vector<float> diag;
  int step = 0;  // index into losses (set by the runner)

  double loss() const override { return losses.empty() ? 0.0 : losses[static_cast<size_t>(step)]; }
  void HessianVector(std::span<const float>, std::span<const float> v, std::span<float> out) override {
    if (!diag.empty()) {
      for (size_t i = 0; i < v.size(); ++i) out[i] = diag[i] * v[i];
      return;
    }
    const auto& src = hv.at(static_cast<size_t>(hv_calls_++));
    std::copy(src.begin(), src.end(), out.begin());
  }
  void SampledLabelGrad(std::span<const float>, std::span<float> g) override {
    const auto& src = sampled.at(static_cast<size_t>(sampled_calls_++));
    std::copy(src.begin(), src.end(), g.begin());
  }
  RngStream& rng() override { return rng_; }

 private:
  int hv_calls_ = 0, sampled_calls_ = 0;
  RngStream rng_{7, 0, 0, RngPurpose::kOptimizer};
};

inline ParamLayout OneTensor(std::vector<int64_t> shape) {
  ParamLayout l;
  l.Add("w", std::move(shape));
  return l;
}

// Applies grads[0], grads[1], ... with lr and returns the parameters after each step.
inline std::vector<std::vector<float>> RunSteps(Optimizer& opt, std::vector<float> p,
                                                const std::vector<std::vector<float>>& grads, float lr,
                                                ScriptedContext* ctx = nullptr) {
  ScriptedContext none;
  ScriptedContext& c = ctx ? *ctx : none;
  std::vector<std::vector<float>> out;
  for (size_t s = 0; s < grads.size(); ++s) {
    c.step = static_cast<int>(s);
    opt.StepWith(p, grads[s], lr, c);
    out.push_back(p);
  }
  return out;
}

inline void ExpectNear(const std::vector<float>& got, const std::vector<double>& want, double tol,
                       const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tol * std::max(1.0, std::abs(want[i]))) << what << " [" << i << "]";
}

}  // namespace shoal::testing
