#include "algorithms/optimizers/sgd.h"

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
  const size_t n = p.size();
  for (size_t i = 0; i < n; ++i) {
    float gi = g[i] + weight_decay_ * p[i];
    if (momentum_ == 0.0f) {
      p[i] -= lr * gi;
      continue;
    }
    float b = (t_ == 1) ? gi : momentum_ * buf_[i] + gi;
    buf_[i] = b;
    p[i] -= lr * (nesterov_ ? gi + momentum_ * b : b);
  }
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
