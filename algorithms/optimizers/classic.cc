// Classic adaptive methods and Lion (shared/OPTIMIZERS.md §2), PyTorch defaults.
//
// Adagrad (Duchi et al., JMLR 2011): v += g^2; p -= lr g / (sqrt(v) + eps). lr 1e-2, eps 1e-10.
// RMSprop (Tieleman & Hinton 2012): v = a v + (1-a) g^2; p -= lr g/(sqrt(v) + eps),
//   no bias correction (large first steps). lr 1e-2, a 0.99, eps 1e-8.
// Adadelta (Zeiler 2012): v = r v + (1-r) g^2; d = sqrt(u+eps)/sqrt(v+eps) g;
//   u = r u + (1-r) d^2; p -= lr d. lr 1.0, r 0.9, eps 1e-6.
// Adamax (Kingma & Ba 2015): m as Adam; u = max(b2 u, |g| + eps); p -= lr/bc1 m/u. lr 2e-3.
// All four take coupled L2 weight_decay (0).
// Lion (Chen et al., NeurIPS 2023; google/automl lion_pytorch.py):
//   c = b1 m + (1-b1) g; p *= 1 - lr wd; p -= lr sign(c); m = b2 m + (1-b2) g.
//   lr 1e-4, b = (0.9, 0.99), wd 0; `cautious` masks entries with c g <= 0
//   (1: mean form, 2: c_lion's n/(nnz+1) form), per tensor.
#include <algorithm>
#include <cmath>

#include "algorithms/optimizers/factories.h"
#include "algorithms/optimizers/vec_math.h"

namespace shoal {
namespace {

float F(const HParams& h, const char* key) { return static_cast<float>(h.at(key)); }

// kind: 0 adagrad, 1 rmsprop, 2 adadelta, 3 adamax.
class ClassicOptimizer final : public Optimizer {
 public:
  ClassicOptimizer(int kind, int64_t n, const HParams& h)
      : kind_(kind), eps_(F(h, "eps")), wd_(F(h, "weight_decay")), v_(static_cast<size_t>(n)) {
    if (kind_ == 1) rho_ = F(h, "alpha");
    if (kind_ == 2) rho_ = F(h, "rho");
    if (kind_ == 3) b1_ = F(h, "beta1"), rho_ = F(h, "beta2");
    if (kind_ >= 2) u_.assign(v_.size(), 0.0f);
  }

  void Step(std::span<float> p, std::span<const float> g, float lr) override {
    t_ += 1;
    const size_t n = p.size();
    // Scalars in locals and restrict pointers: the loops vectorize.
    const float wd = wd_, eps = eps_, rho = rho_, crho = 1.0f - rho_;
    float *__restrict pp = p.data(), *__restrict v = v_.data(), *__restrict u = u_.data();
    const float* __restrict pg = g.data();
    switch (kind_) {
      case 0:
        for (size_t i = 0; i < n; ++i) {
          const float gi = pg[i] + wd * pp[i], vi = v[i] + gi * gi;
          v[i] = vi;
          pp[i] -= lr * gi / (std::sqrt(vi) + eps);
        }
        break;
      case 1:
        for (size_t i = 0; i < n; ++i) {
          const float gi = pg[i] + wd * pp[i], vi = rho * v[i] + crho * gi * gi;
          v[i] = vi;
          pp[i] -= lr * gi / (std::sqrt(vi) + eps);
        }
        break;
      case 2:
        for (size_t i = 0; i < n; ++i) {
          const float gi = pg[i] + wd * pp[i], vi = rho * v[i] + crho * gi * gi;
          const float d = std::sqrt(u[i] + eps) / std::sqrt(vi + eps) * gi;
          v[i] = vi, u[i] = rho * u[i] + crho * d * d;
          pp[i] -= lr * d;
        }
        break;
      default: {
        const float step = lr / (1.0f - std::pow(b1_, static_cast<float>(t_)));
        const float b1 = b1_, c1 = 1.0f - b1_;
        float* __restrict m = v;  // v_ holds m, u_ the infinity norm
        for (size_t i = 0; i < n; ++i) {
          const float gi = pg[i] + wd * pp[i], mi = b1 * m[i] + c1 * gi;
          const float a = rho * u[i], b = std::fabs(gi) + eps, ui = a < b ? b : a;  // std::max on values
          m[i] = mi, u[i] = ui;
          pp[i] -= step * mi / ui;
        }
      }
    }
  }

 protected:
  StateRefs State() override {
    StateRefs r{{{"v", &v_}}, {{"t", &t_}}};
    if (!u_.empty()) r.tensors.push_back({"u", &u_});
    return r;
  }

 private:
  int kind_;
  float eps_, wd_, rho_ = 0, b1_ = 0;
  std::vector<float> v_, u_;
  double t_ = 0;
};

class LionOptimizer final : public Optimizer {
 public:
  LionOptimizer(const ParamLayout& layout, const HParams& h)
      : layout_(layout), b1_(F(h, "beta1")), b2_(F(h, "beta2")), wd_(F(h, "weight_decay")),
        cautious_(static_cast<int>(h.at("cautious"))), m_(static_cast<size_t>(layout.total_size())) {}

  void Step(std::span<float> p, std::span<const float> g, float lr) override {
    const float decay = 1.0f - lr * wd_;
    for (const TensorSpec& ts : layout_.tensors()) {
      const int64_t a = ts.offset, b = ts.offset + ts.size;
      float scale = 1.0f;
      if (cautious_ != 0) {
        int64_t kept = 0;
        for (int64_t i = a; i < b; ++i) kept += ((b1_ * m_[i] + (1.0f - b1_) * g[i]) * g[i] > 0.0f);
        scale = CautiousScale(cautious_, kept, ts.size);
      }
      // Branch-free fused loop; the mask is 1 everywhere when not cautious.
      const float b1 = b1_, c1 = 1.0f - b1_, b2 = b2_, c2 = 1.0f - b2_;
      const bool all = cautious_ == 0;
      float *__restrict pp = p.data() + a, *__restrict m = m_.data() + a;
      const float* __restrict pg = g.data() + a;
      for (int64_t i = 0; i < b - a; ++i) {
        const float gi = pg[i], c = b1 * m[i] + c1 * gi;
        const float u = (all || c * gi > 0.0f) ? scale * vec::Sign(c) : 0.0f;
        pp[i] = pp[i] * decay - lr * u;
        m[i] = b2 * m[i] + c2 * gi;
      }
    }
  }

 protected:
  StateRefs State() override { return {{{"m", &m_}}, {}}; }

 private:
  ParamLayout layout_;
  float b1_, b2_, wd_;
  int cautious_;
  std::vector<float> m_;
};

}  // namespace

std::unique_ptr<Optimizer> MakeAdagrad(const ParamLayout& l, const Backend&, const HParams& h) {
  return std::make_unique<ClassicOptimizer>(0, l.total_size(), h);
}
std::unique_ptr<Optimizer> MakeRmsprop(const ParamLayout& l, const Backend&, const HParams& h) {
  return std::make_unique<ClassicOptimizer>(1, l.total_size(), h);
}
std::unique_ptr<Optimizer> MakeAdadelta(const ParamLayout& l, const Backend&, const HParams& h) {
  return std::make_unique<ClassicOptimizer>(2, l.total_size(), h);
}
std::unique_ptr<Optimizer> MakeAdamax(const ParamLayout& l, const Backend&, const HParams& h) {
  return std::make_unique<ClassicOptimizer>(3, l.total_size(), h);
}
std::unique_ptr<Optimizer> MakeLion(const ParamLayout& l, const Backend&, const HParams& h) {
  return std::make_unique<LionOptimizer>(l, h);
}

}  // namespace shoal
