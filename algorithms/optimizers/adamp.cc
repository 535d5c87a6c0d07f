// AdamP (Heo et al., ICLR 2021; clovaai/AdamP adamp.py), shared/OPTIMIZERS.md §2.
//
// Adam direction d = m / (sqrt(v/bc2) + eps) (nesterov: (b1 m + (1-b1) g)/...),
// step lr/bc1. Per tensor with ndim > 1: if max |cos(g, p)| over output
// channels (rows of view(shape[0], -1)) is below delta / sqrt(row length), or
// else over the whole layer below delta / sqrt(size), the radial part is
// removed, d -= p_hat (p_hat . d) per row of that view, and the decoupled
// weight decay is scaled by wd_ratio. p *= 1 - lr wd ratio; p -= lr/bc1 d.
// Defaults: lr 1e-3, b = (0.9, 0.999), eps 1e-8, wd 0, delta 0.1, wd_ratio 0.1.
#include <cmath>

#include "algorithms/optimizers/factories.h"

namespace shoal {
namespace {

float F(const HParams& h, const char* key) { return static_cast<float>(h.at(key)); }

class AdampOptimizer final : public Optimizer {
 public:
  AdampOptimizer(const ParamLayout& layout, const HParams& h)
      : layout_(layout), b1_(F(h, "beta1")), b2_(F(h, "beta2")), eps_(F(h, "eps")), wd_(F(h, "weight_decay")),
        delta_(h.at("delta")), wd_ratio_(F(h, "wd_ratio")), nesterov_(h.at("nesterov") != 0),
        m_(static_cast<size_t>(layout.total_size())), v_(m_.size()), d_(m_.size()) {}

  void Step(std::span<float> p, std::span<const float> g, float lr) override {
    t_ += 1;
    const float rsbc2 = 1.0f / std::sqrt(1.0f - std::pow(b2_, static_cast<float>(t_)));
    const float step = lr / (1.0f - std::pow(b1_, static_cast<float>(t_)));
    for (size_t i = 0; i < p.size(); ++i) {
      m_[i] = b1_ * m_[i] + (1.0f - b1_) * g[i];
      v_[i] = b2_ * v_[i] + (1.0f - b2_) * g[i] * g[i];
      float num = nesterov_ ? b1_ * m_[i] + (1.0f - b1_) * g[i] : m_[i];
      d_[i] = num / (std::sqrt(v_[i]) * rsbc2 + eps_);
    }
    for (const TensorSpec& ts : layout_.tensors()) {
      float ratio = 1.0f;
      if (ts.shape.size() > 1) {
        const int64_t rows = ts.shape[0];
        if (Project(p, g, ts, rows, ts.size / rows) || Project(p, g, ts, 1, ts.size)) ratio = wd_ratio_;
      }
      const float decay = 1.0f - lr * wd_ * ratio;
      for (int64_t i = ts.offset; i < ts.offset + ts.size; ++i) p[i] = p[i] * decay - step * d_[i];
    }
  }

 protected:
  StateRefs State() override { return {{{"m", &m_}, {"v", &v_}}, {{"t", &t_}}}; }

 private:
  // Viewing the tensor as rows x cols: if every row's |cos(g, p)| is below
  // delta/sqrt(cols), removes the radial component of d_ row by row; returns
  // whether it did.
  bool Project(std::span<const float> p, std::span<const float> g, const TensorSpec& ts, int64_t rows,
               int64_t cols) {
    const double limit = delta_ / std::sqrt(static_cast<double>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      double gp = 0, gg = 0, pp = 0;
      for (int64_t i = ts.offset + r * cols; i < ts.offset + (r + 1) * cols; ++i)
        gp += double{g[i]} * p[i], gg += double{g[i]} * g[i], pp += double{p[i]} * p[i];
      double cos = std::fabs(gp) / std::max(std::sqrt(gg) * std::sqrt(pp), double{eps_});
      if (cos >= limit) return false;
    }
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t a = ts.offset + r * cols, b = a + cols;
      double pp = 0, pd = 0;
      for (int64_t i = a; i < b; ++i) pp += double{p[i]} * p[i];
      const double inv = 1.0 / (std::sqrt(pp) + eps_);
      for (int64_t i = a; i < b; ++i) pd += p[i] * inv * d_[i];
      for (int64_t i = a; i < b; ++i) d_[i] -= static_cast<float>(p[i] * inv * pd);
    }
    return true;
  }

  ParamLayout layout_;
  float b1_, b2_, eps_, wd_;
  double delta_;
  float wd_ratio_;
  bool nesterov_;
  std::vector<float> m_, v_, d_;  // d_: direction scratch (not state)
  double t_ = 0;
};

}  // namespace

std::unique_ptr<Optimizer> MakeAdamp(const ParamLayout& l, const Backend&, const HParams& h) {
  return std::make_unique<AdampOptimizer>(l, h);
}

}  // namespace shoal
