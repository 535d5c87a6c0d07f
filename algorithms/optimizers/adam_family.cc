// The Adam family on flat vectors (shared/OPTIMIZERS.md §2). One fused pass
// over p, g and the moments per step; conventions follow PyTorch unless noted.
//
// Adam (Kingma & Ba, ICLR 2015): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
//   p -= lr (m/bc1) / (sqrt(v/bc2) + eps). lr 1e-3, b = (0.9, 0.999), eps 1e-8,
//   coupled L2 weight_decay 0. AdamW (Loshchilov & Hutter, ICLR 2019): decoupled
//   p *= 1 - lr wd first, wd 0.01. Both run the backend's fused AdamStep;
//   `cautious` (Liang et al. 2024, C-Optim) masks entries where m g <= 0 and
//   rescales per tensor (1: c_adamw mean form, 2: c_lion n/(nnz+1) form).
// AMSGrad (Reddi et al., ICLR 2018): form 0 = PyTorch (vmax of raw v, current
//   bc2), 1 = Alg. 2 (no bias correction), 2 = max of bias-corrected v.
// NAdam (Dozat 2016, PyTorch form): mu_t = b1 (1 - 0.5 0.96^(t psi)), psi 4e-3;
//   p -= lr [(1-mu_t)/(1-Pi_t) g + mu_{t+1}/(1-Pi_t mu_{t+1}) m] / (sqrt(v/bc2)+eps).
// RAdam (Liu et al., ICLR 2020): rectifier r_t when rho_t > 5, else momentum SGD.
// AdEMAMix (Pagliardini et al. 2024, apple/ml-ademamix): slow EMA m2 (b3, no bias
//   correction), p -= lr [(m1/bc1 + alpha m2)/(sqrt(v/bc2)+eps) + wd p];
//   alpha 2, b3 0.9999, optional linear alpha and half-life b3 warm-ups.
// Grams (Cao et al. 2024): p -= lr sign(g) |(m/bc1)/(sqrt(v/bc2)+eps)|, decoupled wd.
#include <cmath>

#include "algorithms/optimizers/factories.h"
#include "algorithms/optimizers/vec_math.h"

namespace shoal {
namespace {

float F(const HParams& h, const char* key) { return static_cast<float>(h.at(key)); }

class AdamOptimizer final : public Optimizer {
 public:
  AdamOptimizer(const ParamLayout& layout, const Backend& be, const HParams& h, bool decoupled)
      : layout_(layout), be_(be), b1_(F(h, "beta1")), b2_(F(h, "beta2")), eps_(F(h, "eps")),
        wd_(F(h, "weight_decay")), decoupled_(decoupled), cautious_(static_cast<int>(h.at("cautious"))),
        m_(static_cast<size_t>(layout.total_size())), v_(m_.size()) {}

  void Step(std::span<float> p, std::span<const float> g, float lr) override {
    t_ += 1;
    if (cautious_ == 0) {
      be_.AdamStep({lr, b1_, b2_, eps_, wd_, decoupled_, static_cast<int64_t>(t_)}, g, m_, v_, p);
      return;
    }
    const float bc1 = 1.0f - std::pow(b1_, static_cast<float>(t_));
    const float rbc2 = 1.0f / std::sqrt(1.0f - std::pow(b2_, static_cast<float>(t_)));
    const float step = lr / bc1, decay = decoupled_ ? 1.0f - lr * wd_ : 1.0f, l2 = decoupled_ ? 0.0f : wd_;
    for (const TensorSpec& ts : layout_.tensors()) {
      int64_t kept = 0;
      for (int64_t i = ts.offset; i < ts.offset + ts.size; ++i) {
        float gi = g[i] + l2 * p[i];
        m_[i] = b1_ * m_[i] + (1.0f - b1_) * gi;
        v_[i] = b2_ * v_[i] + (1.0f - b2_) * gi * gi;
        kept += (m_[i] * gi > 0.0f);
      }
      const float scale = CautiousScale(cautious_, kept, ts.size);
      for (int64_t i = ts.offset; i < ts.offset + ts.size; ++i) {
        float gi = g[i] + l2 * p[i];
        float u = (m_[i] * gi > 0.0f) ? scale * m_[i] / (std::sqrt(v_[i]) * rbc2 + eps_) : 0.0f;
        p[i] = p[i] * decay - step * u;
      }
    }
  }

 protected:
  StateRefs State() override { return {{{"m", &m_}, {"v", &v_}}, {{"t", &t_}}}; }

 private:
  ParamLayout layout_;
  const Backend& be_;
  float b1_, b2_, eps_, wd_;
  bool decoupled_;
  int cautious_;
  std::vector<float> m_, v_;
  double t_ = 0;
};

class AmsgradOptimizer final : public Optimizer {
 public:
  AmsgradOptimizer(int64_t n, const HParams& h)
      : b1_(F(h, "beta1")), b2_(F(h, "beta2")), eps_(F(h, "eps")), wd_(F(h, "weight_decay")),
        form_(static_cast<int>(h.at("form"))), m_(static_cast<size_t>(n)), v_(m_.size()), vmax_(m_.size()) {
    // 1 - b2 from the double value: form 1 has no bias correction to cancel the rounding of b2.
    c2_ = static_cast<float>(1.0 - h.at("beta2"));
  }

  void Step(std::span<float> p, std::span<const float> g, float lr) override {
    t_ += 1;
    const float bc1 = 1.0f - std::pow(b1_, static_cast<float>(t_));
    const float bc2 = 1.0f - std::pow(b2_, static_cast<float>(t_));
    const float rsbc2 = 1.0f / std::sqrt(bc2);
    float* __restrict pp = p.data();
    const float* __restrict pg = g.data();
    float *__restrict m = m_.data(), *__restrict v = v_.data(), *__restrict vmax = vmax_.data();
    const size_t n = p.size();
    // Scalars in locals (members could alias the stores for the compiler) and
    // one loop per form, so that each stays branch-free and vectorizes.
    const float b1 = b1_, c1 = 1.0f - b1_, b2 = b2_, c2 = c2_, wd = wd_, eps = eps_, step = lr / bc1;
    if (form_ == 0) {  // PyTorch: max of raw v, divided by the current bc2
      for (size_t i = 0; i < n; ++i) {
        const float gi = pg[i] + wd * pp[i];
        const float mi = b1 * m[i] + c1 * gi, vi = b2 * v[i] + c2 * gi * gi;
        const float vm = vmax[i] < vi ? vi : vmax[i];
        m[i] = mi, v[i] = vi, vmax[i] = vm;
        pp[i] -= step * mi / (std::sqrt(vm) * rsbc2 + eps);
      }
    } else if (form_ == 1) {  // Reddi et al. Alg. 2: no bias correction
      for (size_t i = 0; i < n; ++i) {
        const float gi = pg[i] + wd * pp[i];
        const float mi = b1 * m[i] + c1 * gi, vi = b2 * v[i] + c2 * gi * gi;
        const float vm = vmax[i] < vi ? vi : vmax[i];
        m[i] = mi, v[i] = vi, vmax[i] = vm;
        pp[i] -= lr * mi / (std::sqrt(vm) + eps);
      }
    } else {  // max of the bias-corrected v
      for (size_t i = 0; i < n; ++i) {
        const float gi = pg[i] + wd * pp[i];
        const float mi = b1 * m[i] + c1 * gi, vi = b2 * v[i] + c2 * gi * gi;
        const float vh = vi / bc2, vm = vmax[i] < vh ? vh : vmax[i];
        m[i] = mi, v[i] = vi, vmax[i] = vm;
        pp[i] -= step * mi / (std::sqrt(vm) + eps);
      }
    }
  }

 protected:
  StateRefs State() override { return {{{"m", &m_}, {"v", &v_}, {"vmax", &vmax_}}, {{"t", &t_}}}; }

 private:
  float b1_, b2_, eps_, wd_, c2_ = 0;
  int form_;
  std::vector<float> m_, v_, vmax_;
  double t_ = 0;
};

class NadamOptimizer final : public Optimizer {
 public:
  NadamOptimizer(int64_t n, const HParams& h)
      : b1_(h.at("beta1")), b2_(F(h, "beta2")), eps_(F(h, "eps")), wd_(F(h, "weight_decay")),
        psi_(h.at("momentum_decay")), m_(static_cast<size_t>(n)), v_(m_.size()) {}

  void Step(std::span<float> p, std::span<const float> g, float lr) override {
    t_ += 1;
    const double mu = b1_ * (1.0 - 0.5 * std::pow(0.96, t_ * psi_));
    const double mu_next = b1_ * (1.0 - 0.5 * std::pow(0.96, (t_ + 1.0) * psi_));
    mu_product_ *= mu;
    const float cg = static_cast<float>(lr * (1.0 - mu) / (1.0 - mu_product_));
    const float cm = static_cast<float>(lr * mu_next / (1.0 - mu_product_ * mu_next));
    const float b1 = static_cast<float>(b1_), c1 = 1.0f - b1, b2 = b2_, c2 = 1.0f - b2_, wd = wd_, eps = eps_;
    const float rsbc2 = 1.0f / std::sqrt(1.0f - std::pow(b2_, static_cast<float>(t_)));
    float *__restrict pp = p.data(), *__restrict m = m_.data(), *__restrict v = v_.data();
    const float* __restrict pg = g.data();
    for (size_t i = 0; i < p.size(); ++i) {
      const float gi = pg[i] + wd * pp[i];
      const float mi = b1 * m[i] + c1 * gi, vi = b2 * v[i] + c2 * gi * gi;
      m[i] = mi, v[i] = vi;
      pp[i] -= (cg * gi + cm * mi) / (std::sqrt(vi) * rsbc2 + eps);
    }
  }

 protected:
  StateRefs State() override { return {{{"m", &m_}, {"v", &v_}}, {{"t", &t_}, {"mu_product", &mu_product_}}}; }

 private:
  double b1_;
  float b2_, eps_, wd_;
  double psi_;
  std::vector<float> m_, v_;
  double t_ = 0, mu_product_ = 1.0;
};

class RadamOptimizer final : public Optimizer {
 public:
  RadamOptimizer(int64_t n, const HParams& h)
      : b1_(F(h, "beta1")), b2_(h.at("beta2")), eps_(F(h, "eps")), wd_(F(h, "weight_decay")),
        m_(static_cast<size_t>(n)), v_(m_.size()) {}

  void Step(std::span<float> p, std::span<const float> g, float lr) override {
    t_ += 1;
    const float bc1 = 1.0f - std::pow(b1_, static_cast<float>(t_));
    const double b2t = std::pow(b2_, t_), bc2 = 1.0 - b2t;
    const double rho_inf = 2.0 / (1.0 - b2_) - 1.0, rho = rho_inf - 2.0 * t_ * b2t / bc2;
    const bool rectified = rho > 5.0;
    const float r = rectified ? static_cast<float>(std::sqrt((rho - 4) * (rho - 2) * rho_inf /
                                                             ((rho_inf - 4) * (rho_inf - 2) * rho)))
                              : 0.0f;
    const float rsbc2 = static_cast<float>(1.0 / std::sqrt(bc2)), b2 = static_cast<float>(b2_);
    float *__restrict pp = p.data(), *__restrict m = m_.data(), *__restrict v = v_.data();
    const float* __restrict pg = g.data();
    // The rectifier is uniform over the step: one branch-free loop per rule.
    const float b1 = b1_, c1 = 1.0f - b1_, c2 = 1.0f - b2, wd = wd_, eps = eps_;
    const float step = rectified ? lr * r / bc1 : lr / bc1;
    const size_t n = p.size();
    if (rectified) {
      for (size_t i = 0; i < n; ++i) {
        const float gi = pg[i] + wd * pp[i];
        const float mi = b1 * m[i] + c1 * gi, vi = b2 * v[i] + c2 * gi * gi;
        m[i] = mi, v[i] = vi;
        pp[i] -= step * mi / (std::sqrt(vi) * rsbc2 + eps);
      }
    } else {  // momentum SGD on m/bc1; v still accumulates
      for (size_t i = 0; i < n; ++i) {
        const float gi = pg[i] + wd * pp[i];
        const float mi = b1 * m[i] + c1 * gi;
        m[i] = mi, v[i] = b2 * v[i] + c2 * gi * gi;
        pp[i] -= step * mi;
      }
    }
  }

 protected:
  StateRefs State() override { return {{{"m", &m_}, {"v", &v_}}, {{"t", &t_}}}; }

 private:
  float b1_;
  double b2_;
  float eps_, wd_;
  std::vector<float> m_, v_;
  double t_ = 0;
};

class AdemamixOptimizer final : public Optimizer {
 public:
  AdemamixOptimizer(int64_t n, const HParams& h)
      : b1_(h.at("beta1")), b2_(F(h, "beta2")), b3_(h.at("beta3")), alpha_(h.at("alpha")), eps_(F(h, "eps")),
        wd_(F(h, "weight_decay")), t_alpha_(h.at("t_alpha")), t_beta3_(h.at("t_beta3")),
        m1_(static_cast<size_t>(n)), m2_(m1_.size()), v_(m1_.size()) {}

  void Step(std::span<float> p, std::span<const float> g, float lr) override {
    t_ += 1;
    const double alpha = t_alpha_ > 0 ? std::min(t_ * alpha_ / t_alpha_, alpha_) : alpha_;
    double b3 = b3_;
    if (t_beta3_ > 0 && t_ < t_beta3_) {  // linear in half-life space, from b1 to b3
      auto f = [](double b) { return std::log(0.5) / std::log(b + 1e-8) - 1.0; };
      double a = t_ / t_beta3_;
      b3 = std::pow(0.5, 1.0 / ((1.0 - a) * f(b1_) + a * f(b3_) + 1.0));
    }
    const float b1 = static_cast<float>(b1_), fb3 = static_cast<float>(b3), fa = static_cast<float>(alpha);
    const float rbc1 = 1.0f / (1.0f - std::pow(b1, static_cast<float>(t_)));
    const float rsbc2 = 1.0f / std::sqrt(1.0f - std::pow(b2_, static_cast<float>(t_)));
    const float decay = 1.0f - lr * wd_, c1 = 1.0f - b1, c3 = 1.0f - fb3, b2 = b2_, c2 = 1.0f - b2_, eps = eps_;
    float *__restrict pp = p.data(), *__restrict m1 = m1_.data(), *__restrict m2 = m2_.data(), *__restrict v = v_.data();
    const float* __restrict pg = g.data();
    for (size_t i = 0; i < p.size(); ++i) {
      const float gi = pg[i];
      const float a = b1 * m1[i] + c1 * gi, b = fb3 * m2[i] + c3 * gi, vi = b2 * v[i] + c2 * gi * gi;
      m1[i] = a, m2[i] = b, v[i] = vi;
      pp[i] = pp[i] * decay - lr * (a * rbc1 + fa * b) / (std::sqrt(vi) * rsbc2 + eps);
    }
  }

 protected:
  StateRefs State() override { return {{{"m1", &m1_}, {"m2", &m2_}, {"v", &v_}}, {{"t", &t_}}}; }

 private:
  double b1_;
  float b2_;
  double b3_, alpha_;
  float eps_, wd_;
  double t_alpha_, t_beta3_;
  std::vector<float> m1_, m2_, v_;
  double t_ = 0;
};

class GramsOptimizer final : public Optimizer {
 public:
  GramsOptimizer(int64_t n, const HParams& h)
      : b1_(F(h, "beta1")), b2_(F(h, "beta2")), eps_(F(h, "eps")), wd_(F(h, "weight_decay")),
        m_(static_cast<size_t>(n)), v_(m_.size()) {}

  void Step(std::span<float> p, std::span<const float> g, float lr) override {
    t_ += 1;
    const float rbc1 = 1.0f / (1.0f - std::pow(b1_, static_cast<float>(t_)));
    const float rsbc2 = 1.0f / std::sqrt(1.0f - std::pow(b2_, static_cast<float>(t_)));
    const float decay = 1.0f - lr * wd_, b1 = b1_, c1 = 1.0f - b1_, b2 = b2_, c2 = 1.0f - b2_, eps = eps_;
    float *__restrict pp = p.data(), *__restrict m = m_.data(), *__restrict v = v_.data();
    const float* __restrict pg = g.data();
    for (size_t i = 0; i < p.size(); ++i) {
      const float gi = pg[i];
      const float mi = b1 * m[i] + c1 * gi, vi = b2 * v[i] + c2 * gi * gi;
      m[i] = mi, v[i] = vi;
      const float u = std::fabs(mi * rbc1 / (std::sqrt(vi) * rsbc2 + eps));
      pp[i] = pp[i] * decay - lr * vec::Sign(gi) * u;
    }
  }

 protected:
  StateRefs State() override { return {{{"m", &m_}, {"v", &v_}}, {{"t", &t_}}}; }

 private:
  float b1_, b2_, eps_, wd_;
  std::vector<float> m_, v_;
  double t_ = 0;
};

}  // namespace

std::unique_ptr<Optimizer> MakeAdam(const ParamLayout& l, const Backend& be, const HParams& h) {
  return std::make_unique<AdamOptimizer>(l, be, h, false);
}
std::unique_ptr<Optimizer> MakeAdamW(const ParamLayout& l, const Backend& be, const HParams& h) {
  return std::make_unique<AdamOptimizer>(l, be, h, true);
}
std::unique_ptr<Optimizer> MakeAmsgrad(const ParamLayout& l, const Backend&, const HParams& h) {
  return std::make_unique<AmsgradOptimizer>(l.total_size(), h);
}
std::unique_ptr<Optimizer> MakeNadam(const ParamLayout& l, const Backend&, const HParams& h) {
  return std::make_unique<NadamOptimizer>(l.total_size(), h);
}
std::unique_ptr<Optimizer> MakeRadam(const ParamLayout& l, const Backend&, const HParams& h) {
  return std::make_unique<RadamOptimizer>(l.total_size(), h);
}
std::unique_ptr<Optimizer> MakeAdemamix(const ParamLayout& l, const Backend&, const HParams& h) {
  return std::make_unique<AdemamixOptimizer>(l.total_size(), h);
}
std::unique_ptr<Optimizer> MakeGrams(const ParamLayout& l, const Backend&, const HParams& h) {
  return std::make_unique<GramsOptimizer>(l.total_size(), h);
}

}  // namespace shoal
