// Adafactor (Shazeer & Stern, ICML 2018; fairseq adafactor.py), shared/OPTIMIZERS.md §5.
//
// rho_t = min(1e-2, 1/sqrt t) (warmup_init: min(1e-6 t, 1/sqrt t)); step
// alpha_t = max(eps2, RMS(p_{t-1})) rho_t (scale_parameter), or lr when
// relative_step is off. b2_t = 1 - t^decay_rate. G2 = g^2 + eps1. Tensors with
// ndim >= 2 keep factored row/column means over their last two dims (leading
// dims batched): R = b2_t R + (1-b2_t) rowmean(G2), C likewise,
// V = R C^T / mean(R); others a full v. U = g / sqrt(V); U /= max(1,
// RMS(U)/clip_threshold); optional momentum b1 on alpha U; p -= wd alpha p; p -= alpha U.
// Defaults: eps1 1e-30, eps2 1e-3, clip 1, decay_rate -0.8, beta1 0 (off), wd 0.
#include <algorithm>
#include <cmath>

#include "algorithms/optimizers/factories.h"

namespace shoal {
namespace {

struct Factor {        // one tensor
  int64_t batch = 1;   // product of leading dims (factored only)
  int64_t rows = 0, cols = 0;
  int64_t r_off = 0, c_off = 0;  // into row_/col_ (factored)
  bool factored = false;
};

class AdafactorOptimizer final : public Optimizer {
 public:
  AdafactorOptimizer(const ParamLayout& layout, const HParams& h)
      : layout_(layout), eps1_(h.at("eps1")), eps2_(h.at("eps2")), clip_(h.at("clip_threshold")),
        decay_(h.at("decay_rate")), b1_(static_cast<float>(h.at("beta1"))), wd_(h.at("weight_decay")),
        relative_(h.at("relative_step") != 0), scale_param_(h.at("scale_parameter") != 0),
        warmup_init_(h.at("warmup_init") != 0), u_(static_cast<size_t>(layout.total_size())) {
    int64_t full = 0, nr = 0, nc = 0;
    for (const TensorSpec& ts : layout_.tensors()) {
      Factor f;
      if (ts.shape.size() >= 2) {
        f.factored = true;
        f.rows = ts.shape[ts.shape.size() - 2];
        f.cols = ts.shape.back();
        f.batch = ts.size / (f.rows * f.cols);
        f.r_off = nr, f.c_off = nc;
        nr += f.batch * f.rows, nc += f.batch * f.cols;
      } else {
        f.r_off = full;
        full += ts.size;
      }
      factors_.push_back(f);
    }
    row_.assign(static_cast<size_t>(nr), 0.0f);
    col_.assign(static_cast<size_t>(nc), 0.0f);
    v_.assign(static_cast<size_t>(full), 0.0f);
    if (b1_ > 0) m_.assign(u_.size(), 0.0f);
  }

  void Step(std::span<float> p, std::span<const float> g, float lr) override {
    t_ += 1;
    const double rho = std::min(warmup_init_ ? 1e-6 * t_ : 1e-2, 1.0 / std::sqrt(t_));
    const float b2 = static_cast<float>(1.0 - std::pow(t_, decay_)), e1 = static_cast<float>(eps1_);
    for (size_t k = 0; k < factors_.size(); ++k) {
      const TensorSpec& ts = layout_.tensors()[k];
      const Factor& f = factors_[k];
      double pp = 0;
      for (int64_t i = ts.offset; i < ts.offset + ts.size; ++i) pp += double{p[i]} * p[i];
      double alpha = relative_ ? rho : lr;
      if (scale_param_) alpha *= std::max(eps2_, std::sqrt(pp / static_cast<double>(ts.size)));
      if (f.factored) {
        for (int64_t b = 0; b < f.batch; ++b) Factored(g, ts.offset + b * f.rows * f.cols, f, b, b2, e1);
      } else {
        for (int64_t i = 0; i < ts.size; ++i) {
          float gi = g[ts.offset + i];
          float& v = v_[f.r_off + i];
          v = b2 * v + (1.0f - b2) * (gi * gi + e1);
          u_[ts.offset + i] = gi / std::sqrt(v);
        }
      }
      double uu = 0;
      for (int64_t i = ts.offset; i < ts.offset + ts.size; ++i) uu += double{u_[i]} * u_[i];
      const double denom = std::max(1.0, std::sqrt(uu / static_cast<double>(ts.size)) / clip_);
      const float a = static_cast<float>(alpha / denom), decay = static_cast<float>(1.0 - wd_ * alpha);
      for (int64_t i = ts.offset; i < ts.offset + ts.size; ++i) {
        float step = a * u_[i];
        if (b1_ > 0) step = m_[i] = b1_ * m_[i] + (1.0f - b1_) * step;
        p[i] = p[i] * decay - step;
      }
    }
  }

 protected:
  StateRefs State() override {
    StateRefs r{{{"row", &row_}, {"col", &col_}, {"v", &v_}}, {{"t", &t_}}};
    if (b1_ > 0) r.tensors.push_back({"m", &m_});
    return r;
  }

 private:
  // One [rows x cols] matrix at `off`: updates its factors and writes U into u_.
  void Factored(std::span<const float> g, int64_t off, const Factor& f, int64_t b, float b2, float e1) {
    float* R = row_.data() + f.r_off + b * f.rows;
    float* C = col_.data() + f.c_off + b * f.cols;
    const float ir = 1.0f / static_cast<float>(f.cols), ic = 1.0f / static_cast<float>(f.rows);
    for (int64_t c = 0; c < f.cols; ++c) C[c] *= b2;
    double rsum = 0;
    for (int64_t r = 0; r < f.rows; ++r) {
      float s = 0;
      for (int64_t c = 0; c < f.cols; ++c) {
        float g2 = g[off + r * f.cols + c] * g[off + r * f.cols + c] + e1;
        s += g2;
        C[c] += (1.0f - b2) * g2 * ic;
      }
      R[r] = b2 * R[r] + (1.0f - b2) * s * ir;
      rsum += R[r];
    }
    const float rmean = static_cast<float>(rsum / static_cast<double>(f.rows));
    for (int64_t r = 0; r < f.rows; ++r) {
      const float rf = 1.0f / std::sqrt(R[r] / rmean);
      for (int64_t c = 0; c < f.cols; ++c) {
        const int64_t i = off + r * f.cols + c;
        u_[i] = g[i] * rf / std::sqrt(C[c]);
      }
    }
  }

  ParamLayout layout_;
  double eps1_, eps2_, clip_, decay_;
  float b1_;
  double wd_;
  bool relative_, scale_param_, warmup_init_;
  std::vector<Factor> factors_;
  std::vector<float> row_, col_, v_, m_;
  std::vector<float> u_;  // update scratch (not state)
  double t_ = 0;
};

}  // namespace

std::unique_ptr<Optimizer> MakeAdafactor(const ParamLayout& l, const Backend&, const HParams& h) {
  return std::make_unique<AdafactorOptimizer>(l, h);
}

}  // namespace shoal
