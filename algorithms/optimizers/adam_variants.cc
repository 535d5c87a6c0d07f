// Adam variants whose reference code differs from PyTorch's Adam form
// (shared/OPTIMIZERS.md §2). One fused pass per step.
//
// AdaBelief (Zhuang et al., NeurIPS 2020; adabelief_pytorch 0.2.1):
//   m = b1 m + (1-b1) g; s = b2 s + (1-b2)(g - m)^2, then s += eps in place
//   (accumulates); plain: p -= lr/bc1 m / (sqrt(s)/sqrt(bc2) + eps); rectified
//   (default): RAdam's r when rho_t >= 5 with p -= lr r sqrt(bc2)/bc1 m/(sqrt(s)+eps),
//   else momentum SGD p -= lr m/bc1. lr 1e-3, eps 1e-16, decoupled wd 0.
// diffGrad (Dubey et al., IEEE TNNLS 2020; diffGrad_v2.py): friction
//   xi = sigmoid(|g_prev - g|) with g_0 = 0 (a copy of the previous gradient);
//   p -= lr sqrt(bc2)/bc1 xi m / (sqrt(v) + eps). lr 1e-3, eps 1e-8, L2 wd 0.
// AdaBound (Luo et al., ICLR 2019; Luolc/AdaBound): eta = clip(lr sqrt(bc2)/bc1
//   / (sqrt(v)+eps), lo, hi), p -= eta m, with fl = final_lr lr/base_lr,
//   lo = fl (1 - 1/(gamma t + 1)), hi = fl (1 + 1/(gamma t)). lr 1e-3,
//   final_lr 0.1, gamma 1e-3, eps 1e-8, L2 wd 0.
#include <algorithm>
#include <cmath>

#include "algorithms/optimizers/factories.h"
#include "algorithms/optimizers/vec_math.h"

namespace shoal {
namespace {

float F(const HParams& h, const char* key) { return static_cast<float>(h.at(key)); }

class AdabeliefOptimizer final : public Optimizer {
 public:
  AdabeliefOptimizer(int64_t n, const HParams& h)
      : b1_(F(h, "beta1")), b2_(h.at("beta2")), eps_(F(h, "eps")), wd_(F(h, "weight_decay")),
        rectify_(h.at("rectify") != 0), m_(static_cast<size_t>(n)), s_(m_.size()) {}

  void Step(std::span<float> p, std::span<const float> g, float lr) override {
    t_ += 1;
    const float bc1 = 1.0f - std::pow(b1_, static_cast<float>(t_));
    const double b2t = std::pow(b2_, t_), bc2 = 1.0 - b2t;
    // mode 0: plain; 1: rectified; 2: rectifier off (momentum SGD).
    int mode = 0;
    float step = lr / bc1, rsbc2 = static_cast<float>(1.0 / std::sqrt(bc2));
    if (rectify_) {
      const double rho_inf = 2.0 / (1.0 - b2_) - 1.0, rho = rho_inf - 2.0 * t_ * b2t / bc2;
      if (rho >= 5.0) {
        mode = 1;
        step = static_cast<float>(lr * std::sqrt(bc2 * (rho - 4) / (rho_inf - 4) * (rho - 2) / rho * rho_inf /
                                                 (rho_inf - 2)) / bc1);
      } else {
        mode = 2;
      }
    }
    const float b2 = static_cast<float>(b2_), decay = 1.0f - lr * wd_;
    if (mode == 0) Loop<0>(p, g, decay, step, rsbc2, b2);
    else if (mode == 1) Loop<1>(p, g, decay, step, rsbc2, b2);
    else Loop<2>(p, g, decay, step, rsbc2, b2);
  }

 protected:
  StateRefs State() override { return {{{"m", &m_}, {"s", &s_}}, {{"t", &t_}}}; }

 private:
  // One branch-free loop per mode (the mode is uniform over a step).
  template <int kMode>
  void Loop(std::span<float> p, std::span<const float> g, float decay, float step, float rsbc2, float b2) {
    const float b1 = b1_, c1 = 1.0f - b1_, c2 = 1.0f - b2, eps = eps_;
    float *__restrict pp = p.data(), *__restrict m = m_.data(), *__restrict s = s_.data();
    const float* __restrict pg = g.data();
    for (size_t i = 0; i < p.size(); ++i) {
      const float gi = pg[i], pi = pp[i] * decay;
      const float mi = b1 * m[i] + c1 * gi, r = gi - mi;
      const float si = b2 * s[i] + c2 * r * r + eps;
      m[i] = mi, s[i] = si;
      if constexpr (kMode == 0) pp[i] = pi - step * mi / (std::sqrt(si) * rsbc2 + eps);
      else if constexpr (kMode == 1) pp[i] = pi - step * mi / (std::sqrt(si) + eps);
      else pp[i] = pi - step * mi;
    }
  }

  float b1_;
  double b2_;
  float eps_, wd_;
  bool rectify_;
  std::vector<float> m_, s_;
  double t_ = 0;
};

class DiffgradOptimizer final : public Optimizer {
 public:
  DiffgradOptimizer(int64_t n, const HParams& h)
      : b1_(F(h, "beta1")), b2_(F(h, "beta2")), eps_(F(h, "eps")), wd_(F(h, "weight_decay")),
        m_(static_cast<size_t>(n)), v_(m_.size()), prev_(m_.size()) {}

  void Step(std::span<float> p, std::span<const float> g, float lr) override {
    t_ += 1;
    const float step = lr * std::sqrt(1.0f - std::pow(b2_, static_cast<float>(t_))) /
                       (1.0f - std::pow(b1_, static_cast<float>(t_)));
    float *__restrict pp = p.data(), *__restrict m = m_.data(), *__restrict v = v_.data(), *__restrict prev = prev_.data();
    const float* __restrict pg = g.data();
    const float b1 = b1_, c1 = 1.0f - b1_, b2 = b2_, c2 = 1.0f - b2_, wd = wd_, eps = eps_;
    for (size_t i = 0; i < p.size(); ++i) {
      const float gi = pg[i] + wd * pp[i];
      const float mi = b1 * m[i] + c1 * gi, vi = b2 * v[i] + c2 * gi * gi;
      // exp by a branch-free polynomial (vec_math.h) so that the loop vectorizes.
      const float xi = 1.0f / (1.0f + vec::ExpNonPositive(-std::fabs(prev[i] - gi)));
      m[i] = mi, v[i] = vi, prev[i] = gi;
      pp[i] -= step * xi * mi / (std::sqrt(vi) + eps);
    }
  }

 protected:
  StateRefs State() override { return {{{"m", &m_}, {"v", &v_}, {"prev_grad", &prev_}}, {{"t", &t_}}}; }

 private:
  float b1_, b2_, eps_, wd_;
  std::vector<float> m_, v_, prev_;
  double t_ = 0;
};

class AdaboundOptimizer final : public Optimizer {
 public:
  AdaboundOptimizer(int64_t n, const HParams& h)
      : b1_(F(h, "beta1")), b2_(F(h, "beta2")), eps_(F(h, "eps")), wd_(F(h, "weight_decay")),
        base_lr_(h.at("lr")), final_lr_(h.at("final_lr")), gamma_(h.at("gamma")), m_(static_cast<size_t>(n)),
        v_(m_.size()) {}

  void Step(std::span<float> p, std::span<const float> g, float lr) override {
    t_ += 1;
    const float step = lr * std::sqrt(1.0f - std::pow(b2_, static_cast<float>(t_))) /
                       (1.0f - std::pow(b1_, static_cast<float>(t_)));
    const double fl = final_lr_ * lr / base_lr_;
    const float lo = static_cast<float>(fl * (1.0 - 1.0 / (gamma_ * t_ + 1.0)));
    const float hi = static_cast<float>(fl * (1.0 + 1.0 / (gamma_ * t_)));
    float *__restrict pp = p.data(), *__restrict m = m_.data(), *__restrict v = v_.data();
    const float* __restrict pg = g.data();
    const float b1 = b1_, c1 = 1.0f - b1_, b2 = b2_, c2 = 1.0f - b2_, wd = wd_, eps = eps_;
    for (size_t i = 0; i < p.size(); ++i) {
      const float gi = pg[i] + wd * pp[i];
      const float mi = b1 * m[i] + c1 * gi, vi = b2 * v[i] + c2 * gi * gi;
      float eta = step / (std::sqrt(vi) + eps);
      eta = eta < lo ? lo : eta;  // std::min(std::max(eta, lo), hi) on values
      eta = hi < eta ? hi : eta;
      m[i] = mi, v[i] = vi;
      pp[i] -= eta * mi;
    }
  }

 protected:
  StateRefs State() override { return {{{"m", &m_}, {"v", &v_}}, {{"t", &t_}}}; }

 private:
  float b1_, b2_, eps_, wd_;
  double base_lr_, final_lr_, gamma_;
  std::vector<float> m_, v_;
  double t_ = 0;
};

}  // namespace

std::unique_ptr<Optimizer> MakeAdabelief(const ParamLayout& l, const Backend&, const HParams& h) {
  return std::make_unique<AdabeliefOptimizer>(l.total_size(), h);
}
std::unique_ptr<Optimizer> MakeDiffgrad(const ParamLayout& l, const Backend&, const HParams& h) {
  return std::make_unique<DiffgradOptimizer>(l.total_size(), h);
}
std::unique_ptr<Optimizer> MakeAdabound(const ParamLayout& l, const Backend&, const HParams& h) {
  return std::make_unique<AdaboundOptimizer>(l.total_size(), h);
}

}  // namespace shoal
