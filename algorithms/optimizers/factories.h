// Constructors of every optimizer, listed once by optimizers/registry.cc.
//
// Each takes the model layout (per-tensor methods use its slices and shapes),
// the backend (fused element-wise steps) and the resolved hyperparameters
// (defaults filled and validated by the registry, so h.at(key) never throws).
// The optimizer classes live in their .cc files.
#pragma once

#include <memory>

#include "algorithms/optimizers/optimizer.h"

namespace shoal {

using OptimizerMaker = std::unique_ptr<Optimizer> (*)(const ParamLayout&, const Backend&, const HParams&);

std::unique_ptr<Optimizer> MakeSgd(const ParamLayout&, const Backend&, const HParams&);
// adam_family.cc
std::unique_ptr<Optimizer> MakeAdam(const ParamLayout&, const Backend&, const HParams&);
std::unique_ptr<Optimizer> MakeAdamW(const ParamLayout&, const Backend&, const HParams&);
std::unique_ptr<Optimizer> MakeAmsgrad(const ParamLayout&, const Backend&, const HParams&);
std::unique_ptr<Optimizer> MakeNadam(const ParamLayout&, const Backend&, const HParams&);
std::unique_ptr<Optimizer> MakeRadam(const ParamLayout&, const Backend&, const HParams&);
std::unique_ptr<Optimizer> MakeAdemamix(const ParamLayout&, const Backend&, const HParams&);
std::unique_ptr<Optimizer> MakeGrams(const ParamLayout&, const Backend&, const HParams&);
// adam_variants.cc
std::unique_ptr<Optimizer> MakeAdabelief(const ParamLayout&, const Backend&, const HParams&);
std::unique_ptr<Optimizer> MakeDiffgrad(const ParamLayout&, const Backend&, const HParams&);
std::unique_ptr<Optimizer> MakeAdabound(const ParamLayout&, const Backend&, const HParams&);
// classic.cc
std::unique_ptr<Optimizer> MakeAdagrad(const ParamLayout&, const Backend&, const HParams&);
std::unique_ptr<Optimizer> MakeRmsprop(const ParamLayout&, const Backend&, const HParams&);
std::unique_ptr<Optimizer> MakeAdadelta(const ParamLayout&, const Backend&, const HParams&);
std::unique_ptr<Optimizer> MakeAdamax(const ParamLayout&, const Backend&, const HParams&);
std::unique_ptr<Optimizer> MakeLion(const ParamLayout&, const Backend&, const HParams&);
// per-tensor methods
std::unique_ptr<Optimizer> MakeAdamp(const ParamLayout&, const Backend&, const HParams&);
std::unique_ptr<Optimizer> MakeAdafactor(const ParamLayout&, const Backend&, const HParams&);
std::unique_ptr<Optimizer> MakeAdam8bit(const ParamLayout&, const Backend&, const HParams&);
// second_order.cc, shampoo.cc, soap.cc
std::unique_ptr<Optimizer> MakeAdahessian(const ParamLayout&, const Backend&, const HParams&);
std::unique_ptr<Optimizer> MakeSophia(const ParamLayout&, const Backend&, const HParams&);
std::unique_ptr<Optimizer> MakeShampoo(const ParamLayout&, const Backend&, const HParams&);
std::unique_ptr<Optimizer> MakeSoap(const ParamLayout&, const Backend&, const HParams&);
// step_size_rules.cc
std::unique_ptr<Optimizer> MakeDog(const ParamLayout&, const Backend&, const HParams&);
std::unique_ptr<Optimizer> MakeSps(const ParamLayout&, const Backend&, const HParams&);

// Cautious masking (C-Optim), shared by momentum methods: scale of the kept
// entries given `kept` of `n` entries agreeing in sign with the gradient.
// mode 1: 1 / max(kept/n, 1e-3) (c_adamw.py); mode 2: n / (kept + 1) (c_lion.py).
inline float CautiousScale(int mode, int64_t kept, int64_t n) {
  if (mode == 2) return static_cast<float>(static_cast<double>(n) / static_cast<double>(kept + 1));
  double frac = static_cast<double>(kept) / static_cast<double>(n > 0 ? n : 1);
  return static_cast<float>(1.0 / (frac > 1e-3 ? frac : 1e-3));
}

}  // namespace shoal
