#include "algorithms/optimizers/sgd.h"

#include "algorithms/optimizers/factories.h"

namespace shoal {

SgdOptimizer::SgdOptimizer(const Backend& be, int64_t n, float momentum, bool nesterov, float weight_decay)
    : be_(be), momentum_(momentum), weight_decay_(weight_decay), nesterov_(nesterov) {
  if (momentum_ != 0.0f) buf_.assign(static_cast<size_t>(n), 0.0f);
}

void SgdOptimizer::Step(std::span<float> p, std::span<const float> g, float lr) {
  ++t_;
  if (momentum_ == 0.0f && weight_decay_ == 0.0f) {
    be_.SgdStep(lr, g, p);
    return;
  }
  if (momentum_ == 0.0f) {  // coupled weight decay without momentum
    for (size_t i = 0; i < p.size(); ++i) p[i] -= lr * (g[i] + weight_decay_ * p[i]);
    return;
  }
  be_.MomentumStep(lr, momentum_, weight_decay_, nesterov_, t_ == 1, g, buf_, p);
}

void SgdOptimizer::SaveState(ClientState& s) const {
  if (buf_.empty()) return;
  s.tensors["opt.momentum"] = buf_;
  s.scalars["opt.t"] = static_cast<double>(t_);
}

void SgdOptimizer::LoadState(const ClientState& s) {
  auto it = s.tensors.find("opt.momentum");
  if (it != s.tensors.end() && it->second.size() == buf_.size()) buf_ = it->second;
  auto t = s.scalars.find("opt.t");
  if (t != s.scalars.end()) t_ = static_cast<int64_t>(t->second);
}

}  // namespace shoal

namespace shoal {

std::unique_ptr<Optimizer> MakeSgd(const ParamLayout& l, const Backend& be, const HParams& h) {
  return std::make_unique<SgdOptimizer>(be, l.total_size(), static_cast<float>(h.at("momentum")),
                                        h.at("nesterov") != 0.0, static_cast<float>(h.at("weight_decay")));
}

}  // namespace shoal
