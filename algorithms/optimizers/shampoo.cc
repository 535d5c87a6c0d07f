// Shampoo (Gupta, Koren & Singer, ICML 2018; defaults of facebookresearch/
// optimizers distributed_shampoo), shared/OPTIMIZERS.md §5.
//
// Per tensor viewed as a matrix G (m x n; conv kernels as [cout, cin kh kw]):
// L += G G^T, R += G^T G (factor_beta < 1: EMAs); every
// precondition_frequency steps the inverse roots (L + eps I)^(-1/4) and
// (R + eps I)^(-1/4) are recomputed by symmetric eigendecomposition; the
// direction is D = L^(-1/4) Ghat R^(-1/4) with Ghat the bias-corrected EMA of
// g (beta1; 0 = raw g). A side longer than max_preconditioner_dim is left
// unpreconditioned (identity) instead of blocked. 1-D tensors use diagonal
// AdaGrad (Shoal's choice). Grafting (1 AdaGrad, 2 Adam/RMS): per tensor
// D <- |D_graft|_F D / |D|_F; before start_preconditioning_step (-1 = the
// frequency) D = D_graft (or Ghat without grafting). p *= 1 - lr wd; p -= lr D.
// Defaults: lr 1e-2, beta1 0.9, factor_beta 1, eps 1e-12, frequency 10 (DS: 1;
// eigendecompositions of 784-wide factors every step are too slow on CPU),
// grafting 0, graft_eps 1e-10.
#include <cmath>

#include "algorithms/optimizers/factories.h"
#include "algorithms/optimizers/linalg.h"

namespace shoal {
namespace {

struct Block {
  int64_t offset = 0, rows = 1, cols = 0;
  bool matrix = false;
  std::vector<float> l, r, l_root, r_root;  // factors and their inverse 4th roots
};

class ShampooOptimizer final : public Optimizer {
 public:
  ShampooOptimizer(const ParamLayout& layout, const HParams& h)
      : b1_(static_cast<float>(h.at("beta1"))), beta_(static_cast<float>(h.at("factor_beta"))), eps_(h.at("eps")),
        wd_(static_cast<float>(h.at("weight_decay"))), freq_(static_cast<int64_t>(h.at("precondition_frequency"))),
        grafting_(static_cast<int>(h.at("grafting"))), graft_eps_(static_cast<float>(h.at("graft_eps"))) {
    start_ = static_cast<int64_t>(h.at("start_preconditioning_step"));
    if (start_ < 0) start_ = freq_;
    const int64_t max_dim = static_cast<int64_t>(h.at("max_preconditioner_dim"));
    const size_t n = static_cast<size_t>(layout.total_size());
    for (const TensorSpec& ts : layout.tensors()) {
      Block b;
      b.offset = ts.offset;
      b.matrix = ts.shape.size() >= 2;
      b.rows = b.matrix ? ts.shape[0] : 1;
      b.cols = ts.size / b.rows;
      if (b.matrix && b.rows <= max_dim) b.l.assign(static_cast<size_t>(b.rows * b.rows), 0.0f), b.l_root = b.l;
      if (b.matrix && b.cols <= max_dim) b.r.assign(static_cast<size_t>(b.cols * b.cols), 0.0f), b.r_root = b.r;
      blocks_.push_back(std::move(b));
    }
    if (b1_ > 0) m_.assign(n, 0.0f);
    graft_.assign(n, 0.0f);  // AdaGrad/RMS accumulator (also the diagonal AdaGrad of 1-D tensors)
    ghat_.assign(n, 0.0f);
    dir_.assign(n, 0.0f);
  }

  void Step(std::span<float> p, std::span<const float> g, float lr) override {
    t_ += 1;
    const int64_t t = static_cast<int64_t>(t_);
    const float rbc1 = b1_ > 0 ? 1.0f / (1.0f - std::pow(b1_, static_cast<float>(t))) : 1.0f;
    const float gb = grafting_ == 2 ? 0.999f : 1.0f;  // Adam grafting: RMS with beta2 0.999
    const float graft_scale = grafting_ == 2 ? 1.0f / std::sqrt(1.0f - std::pow(gb, static_cast<float>(t))) : 1.0f;
    for (size_t i = 0; i < p.size(); ++i) {
      graft_[i] = grafting_ == 2 ? gb * graft_[i] + (1.0f - gb) * g[i] * g[i] : graft_[i] + g[i] * g[i];
      if (b1_ > 0) m_[i] = b1_ * m_[i] + (1.0f - b1_) * g[i];
      ghat_[i] = b1_ > 0 ? m_[i] * rbc1 : g[i];
    }
    for (Block& b : blocks_) {
      const int64_t size = b.rows * b.cols;
      float* d = dir_.data() + b.offset;
      const float* gh = ghat_.data() + b.offset;
      double graft_norm = 0;
      for (int64_t i = 0; i < size; ++i) {
        float dg = gh[i] / (std::sqrt(graft_[b.offset + i]) * graft_scale + graft_eps_);
        graft_norm += double{dg} * dg;
        d[i] = (grafting_ != 0 || !b.matrix) ? dg : gh[i];
      }
      if (!b.matrix || t < start_) continue;  // 1-D: diagonal AdaGrad; early: graft direction
      UpdateFactors(b, g.data() + b.offset);
      if (t % freq_ == 0 || t == start_) {  // roots first needed at start_
        if (!b.l.empty()) SymmetricInverseRoot(b.l, b.rows, eps_, 4.0, b.l_root);
        if (!b.r.empty()) SymmetricInverseRoot(b.r, b.cols, eps_, 4.0, b.r_root);
      }
      TwoSidedProduct(b.l_root, gh, b.r_root, b.rows, b.cols, false, d);
      if (grafting_ != 0) {
        double sh = 0;
        for (int64_t i = 0; i < size; ++i) sh += double{d[i]} * d[i];
        const float s = sh > 0 ? static_cast<float>(std::sqrt(graft_norm / sh)) : 0.0f;
        for (int64_t i = 0; i < size; ++i) d[i] *= s;
      }
    }
    const float decay = 1.0f - lr * wd_;
    for (size_t i = 0; i < p.size(); ++i) p[i] = p[i] * decay - lr * dir_[i];
  }

 protected:
  StateRefs State() override {
    StateRefs r{{{"graft", &graft_}}, {{"t", &t_}}};
    if (b1_ > 0) r.tensors.push_back({"m", &m_});
    for (size_t k = 0; k < blocks_.size(); ++k) {
      Block& b = blocks_[k];
      const std::string id = std::to_string(k);
      if (!b.l.empty()) r.tensors.push_back({"L" + id, &b.l}), r.tensors.push_back({"Lroot" + id, &b.l_root});
      if (!b.r.empty()) r.tensors.push_back({"R" + id, &b.r}), r.tensors.push_back({"Rroot" + id, &b.r_root});
    }
    return r;
  }

 private:
  void UpdateFactors(Block& b, const float* g) {
    const float keep = beta_ < 1.0f ? beta_ : 1.0f, add = beta_ < 1.0f ? 1.0f - beta_ : 1.0f;
    if (!b.l.empty()) AccumulateGram(g, b.rows, b.cols, true, keep, add, b.l);
    if (!b.r.empty()) AccumulateGram(g, b.rows, b.cols, false, keep, add, b.r);
  }

  float b1_, beta_;
  double eps_;
  float wd_;
  int64_t freq_, start_ = 1;
  int grafting_;
  float graft_eps_;
  std::vector<Block> blocks_;
  std::vector<float> m_, graft_;
  std::vector<float> ghat_, dir_;  // scratch (not state)
  double t_ = 0;
};

}  // namespace

std::unique_ptr<Optimizer> MakeShampoo(const ParamLayout& l, const Backend&, const HParams& h) {
  return std::make_unique<ShampooOptimizer>(l, h);
}

}  // namespace shoal
