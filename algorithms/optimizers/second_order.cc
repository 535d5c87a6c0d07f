// Diagonal second-order methods using Hessian information of the current
// minibatch through the StepContext (shared/OPTIMIZERS.md §4).
//
// AdaHessian (Yao et al., AAAI 2021; amirgholami/adahessian optim_adahessian.py):
//   every step D = |H z| for a Rademacher z (Hutchinson), spatially averaged
//   over (kh, kw) for 4-D conv kernels; m = b1 m + (1-b1) g; v = b2 v + (1-b2) D^2;
//   p -= lr/bc1 [m / ((sqrt(v)/sqrt(bc2))^k + eps) + wd p] (the code's form).
//   Defaults lr 0.15, b = (0.9, 0.999), eps 1e-4, hessian_power k 1, wd 0.
// Sophia (Liu et al., ICLR 2024; Liuhong99/Sophia sophia.py):
//   p *= 1 - lr wd; m = b1 m + (1-b1) g (no bias correction);
//   p -= lr sign(m) min(|m| / max(rho bs h, 1e-15), 1); after every k-th step
//   h = b2 h + (1-b2) h_hat with h_hat = g_hat^2 for g_hat the gradient under
//   labels sampled from the model (estimator 0, Gauss-Newton-Bartlett, SophiaG)
//   or h_hat = u (H u) for a Gaussian u (estimator 1, Hutchinson, Sophia-H).
//   Before the first estimate h = 0, so the step is lr sign(m).
//   Defaults lr 1e-4, b = (0.965, 0.99), rho 0.04, wd 0.1, k 10, bs 5120
//   (the code multiplies rho by the tokens per step instead of scaling h_hat).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "algorithms/optimizers/factories.h"

namespace shoal {
namespace {

float F(const HParams& h, const char* key) { return static_cast<float>(h.at(key)); }

[[noreturn]] void NeedsContext(const char* name) {
  std::fprintf(stderr, "%s needs the minibatch (StepWith with a StepContext); Step() alone is not enough\n", name);
  std::abort();
}

class AdahessianOptimizer final : public Optimizer {
 public:
  AdahessianOptimizer(const ParamLayout& layout, const HParams& h)
      : layout_(layout), b1_(F(h, "beta1")), b2_(F(h, "beta2")), eps_(F(h, "eps")), wd_(F(h, "weight_decay")),
        k_(F(h, "hessian_power")), m_(static_cast<size_t>(layout.total_size())), v_(m_.size()), z_(m_.size()),
        hz_(m_.size()) {}

  void Step(std::span<float>, std::span<const float>, float) override { NeedsContext("adahessian"); }

  void StepWith(std::span<float> p, std::span<const float> g, float lr, StepContext& ctx) override {
    t_ += 1;
    RngStream& rng = ctx.rng();
    for (float& z : z_) z = (rng.NextU32() & 1u) ? 1.0f : -1.0f;
    ctx.HessianVector(p, z_, hz_);
    for (const TensorSpec& ts : layout_.tensors()) {
      float* d = hz_.data() + ts.offset;
      for (int64_t i = 0; i < ts.size; ++i) d[i] = std::fabs(d[i]);
      if (ts.shape.size() == 4) {  // spatial average over each (kh, kw) kernel
        const int64_t area = ts.shape[2] * ts.shape[3];
        for (int64_t a = 0; a < ts.size; a += area) {
          float s = 0;
          for (int64_t j = 0; j < area; ++j) s += d[a + j];
          for (int64_t j = 0; j < area; ++j) d[a + j] = s / static_cast<float>(area);
        }
      }
    }
    const float step = lr / (1.0f - std::pow(b1_, static_cast<float>(t_)));
    const float sbc2 = std::sqrt(1.0f - std::pow(b2_, static_cast<float>(t_)));
    for (size_t i = 0; i < p.size(); ++i) {
      m_[i] = b1_ * m_[i] + (1.0f - b1_) * g[i];
      v_[i] = b2_ * v_[i] + (1.0f - b2_) * hz_[i] * hz_[i];
      float r = std::sqrt(v_[i]) / sbc2;
      float denom = (k_ == 1.0f ? r : std::pow(r, k_)) + eps_;
      p[i] -= step * (m_[i] / denom + wd_ * p[i]);
    }
  }

 protected:
  StateRefs State() override { return {{{"m", &m_}, {"v", &v_}}, {{"t", &t_}}}; }

 private:
  ParamLayout layout_;
  float b1_, b2_, eps_, wd_, k_;
  std::vector<float> m_, v_;
  std::vector<float> z_, hz_;  // probe scratch (not state)
  double t_ = 0;
};

class SophiaOptimizer final : public Optimizer {
 public:
  SophiaOptimizer(int64_t n, const HParams& h)
      : b1_(F(h, "beta1")), b2_(F(h, "beta2")), rho_bs_(F(h, "rho") * F(h, "bs")), wd_(F(h, "weight_decay")),
        k_(static_cast<int64_t>(h.at("update_period"))), hutchinson_(h.at("estimator") != 0),
        m_(static_cast<size_t>(n)), h_(m_.size()), u_(m_.size()), hu_(m_.size()) {}

  void Step(std::span<float>, std::span<const float>, float) override { NeedsContext("sophia"); }

  void StepWith(std::span<float> p, std::span<const float> g, float lr, StepContext& ctx) override {
    t_ += 1;
    const float decay = 1.0f - lr * wd_;
    for (size_t i = 0; i < p.size(); ++i) {
      m_[i] = b1_ * m_[i] + (1.0f - b1_) * g[i];
      float ratio = std::min(std::fabs(m_[i]) / std::max(rho_bs_ * h_[i], 1e-15f), 1.0f);
      float sign = static_cast<float>((m_[i] > 0.0f) - (m_[i] < 0.0f));
      p[i] = p[i] * decay - lr * sign * ratio;
    }
    if (static_cast<int64_t>(t_) % k_ != 0) return;
    if (hutchinson_) {
      RngStream& rng = ctx.rng();
      for (float& u : u_) u = static_cast<float>(rng.NextGaussian());
      ctx.HessianVector(p, u_, hu_);
      for (size_t i = 0; i < p.size(); ++i) h_[i] = b2_ * h_[i] + (1.0f - b2_) * u_[i] * hu_[i];
    } else {
      ctx.SampledLabelGrad(p, u_);
      for (size_t i = 0; i < p.size(); ++i) h_[i] = b2_ * h_[i] + (1.0f - b2_) * u_[i] * u_[i];
    }
  }

 protected:
  StateRefs State() override { return {{{"m", &m_}, {"h", &h_}}, {{"t", &t_}}}; }

 private:
  float b1_, b2_, rho_bs_, wd_;
  int64_t k_;
  bool hutchinson_;
  std::vector<float> m_, h_;
  std::vector<float> u_, hu_;  // estimator scratch (not state)
  double t_ = 0;
};

}  // namespace

std::unique_ptr<Optimizer> MakeAdahessian(const ParamLayout& l, const Backend&, const HParams& h) {
  return std::make_unique<AdahessianOptimizer>(l, h);
}
std::unique_ptr<Optimizer> MakeSophia(const ParamLayout& l, const Backend&, const HParams& h) {
  return std::make_unique<SophiaOptimizer>(l.total_size(), h);
}

}  // namespace shoal
