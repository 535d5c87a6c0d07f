// Shampoo (Gupta, Koren & Singer, ICML 2018; defaults of facebookresearch/
// optimizers distributed_shampoo), shared/OPTIMIZERS.md §5.
//
// Per tensor viewed as a matrix (m x n; conv kernels (out, in, kh, kw) as
// [out, in kh kw], as in the reference code), split block-diagonally into
// blocks of at most block_size per side (distributed Shampoo's
// max_preconditioner_dim; 0 = no split). Per block G: L += G G^T, R += G^T G
// (factor_beta < 1: EMAs); every precondition_frequency steps the inverse
// roots (L + eps I)^(-1/4) and (R + eps I)^(-1/4) are recomputed by symmetric
// eigendecomposition; the direction is D = L^(-1/4) Ghat R^(-1/4) with Ghat
// the bias-corrected EMA of g (beta1; 0 = raw g). A block side longer than
// max_preconditioner_dim gets a diagonal factor instead (AdaGrad-style: the
// diagonal of G G^T, resp. G^T G, root applied entry-wise). 1-D tensors use
// diagonal AdaGrad (Shoal's choice). Grafting (1 AdaGrad, 2 Adam/RMS): per
// block D <- |D_graft|_F D / |D|_F; before start_preconditioning_step (-1 =
// the frequency) D = D_graft (or Ghat without grafting). p *= 1 - lr wd; p -= lr D.
// Defaults: lr 1e-2, beta1 0.9, factor_beta 1, eps 1e-12, frequency 10 (DS: 1;
// eigendecompositions of 784-wide factors every step are too slow on CPU),
// block_size 1024, max_preconditioner_dim 1024, grafting 0, graft_eps 1e-10.
#include <algorithm>
#include <cmath>

#include "algorithms/optimizers/factories.h"
#include "algorithms/optimizers/linalg.h"

namespace shoal {
namespace {

struct Block {
  MatrixBlock at;
  bool matrix = false;
  bool diag_l = false, diag_r = false;      // diagonal factor for a side over max_preconditioner_dim
  std::vector<float> l, r, l_root, r_root;  // factors and their inverse 4th roots (diagonal: vectors)
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
    const int64_t block_size = static_cast<int64_t>(h.at("block_size"));
    const size_t n = static_cast<size_t>(layout.total_size());
    int64_t largest = 0;
    for (const TensorSpec& ts : layout.tensors()) {
      const bool matrix = ts.shape.size() >= 2;
      for (const MatrixBlock& at : PartitionMatrix(ts.offset, ts.shape, ts.size, matrix ? block_size : 0)) {
        Block b;
        b.at = at;
        b.matrix = matrix;
        if (matrix) {
          b.diag_l = at.rows > max_dim, b.diag_r = at.cols > max_dim;
          b.l.assign(static_cast<size_t>(b.diag_l ? at.rows : at.rows * at.rows), 0.0f), b.l_root = b.l;
          b.r.assign(static_cast<size_t>(b.diag_r ? at.cols : at.cols * at.cols), 0.0f), b.r_root = b.r;
          largest = std::max(largest, at.rows * at.cols);
        }
        blocks_.push_back(std::move(b));
      }
    }
    gblock_.assign(static_cast<size_t>(largest), 0.0f);
    hblock_ = gblock_;
    dblock_ = gblock_;
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
      if (!b.matrix) {  // 1-D: diagonal AdaGrad (the graft direction)
        for (int64_t i = b.at.offset; i < b.at.offset + b.at.cols; ++i)
          dir_[i] = ghat_[i] / (std::sqrt(graft_[i]) * graft_scale + graft_eps_);
        continue;
      }
      const int64_t rows = b.at.rows, cols = b.at.cols, size = rows * cols;
      float *gh = hblock_.data(), *d = dblock_.data(), *graw = gblock_.data();
      GatherBlock(ghat_.data(), b.at, gh);
      GatherBlock(graft_.data(), b.at, d);  // the graft accumulator, for now
      double graft_norm = 0;
      for (int64_t i = 0; i < size; ++i) {
        float dg = gh[i] / (std::sqrt(d[i]) * graft_scale + graft_eps_);
        graft_norm += double{dg} * dg;
        d[i] = grafting_ != 0 ? dg : gh[i];
      }
      if (t >= start_) {  // else: graft direction (or Ghat)
        GatherBlock(g.data(), b.at, graw);
        UpdateFactors(b, graw);
        if (t % freq_ == 0 || t == start_) {  // roots first needed at start_
          Roots(b.l, b.diag_l, rows, b.l_root);
          Roots(b.r, b.diag_r, cols, b.r_root);
        }
        static const std::vector<float> kIdentity;
        TwoSidedProduct(b.diag_l ? kIdentity : b.l_root, gh, b.diag_r ? kIdentity : b.r_root, rows, cols, false, d);
        for (int64_t i = 0; (b.diag_l || b.diag_r) && i < rows; ++i)  // diagonal sides, entry-wise
          for (int64_t j = 0; j < cols; ++j)
            d[i * cols + j] *= (b.diag_l ? b.l_root[i] : 1.0f) * (b.diag_r ? b.r_root[j] : 1.0f);
        if (grafting_ != 0) {
          double sh = 0;
          for (int64_t i = 0; i < size; ++i) sh += double{d[i]} * d[i];
          const float s = sh > 0 ? static_cast<float>(std::sqrt(graft_norm / sh)) : 0.0f;
          for (int64_t i = 0; i < size; ++i) d[i] *= s;
        }
      }
      ScatterBlock(d, b.at, dir_.data());
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
    const int64_t rows = b.at.rows, cols = b.at.cols;
    if (!b.diag_l) AccumulateGram(g, rows, cols, true, keep, add, b.l);
    if (!b.diag_r) AccumulateGram(g, rows, cols, false, keep, add, b.r);
    if (!b.diag_l && !b.diag_r) return;
    std::vector<double> row(static_cast<size_t>(rows), 0.0), col(static_cast<size_t>(cols), 0.0);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        const double x = double{g[i * cols + j]} * g[i * cols + j];
        row[i] += x, col[j] += x;
      }
    for (int64_t i = 0; b.diag_l && i < rows; ++i) b.l[i] = keep * b.l[i] + add * static_cast<float>(row[i]);
    for (int64_t j = 0; b.diag_r && j < cols; ++j) b.r[j] = keep * b.r[j] + add * static_cast<float>(col[j]);
  }

  // Inverse 4th root of a full factor (eigendecomposition) or, entry-wise, of a diagonal one.
  void Roots(const std::vector<float>& f, bool diagonal, int64_t n, std::vector<float>& root) const {
    if (!diagonal) return SymmetricInverseRoot(f, n, eps_, 4.0, root);
    for (int64_t i = 0; i < n; ++i)
      root[i] = static_cast<float>(std::pow(std::max(double{f[i]}, 0.0) + eps_, -0.25));
  }

  float b1_, beta_;
  double eps_;
  float wd_;
  int64_t freq_, start_ = 1;
  int grafting_;
  float graft_eps_;
  std::vector<Block> blocks_;
  std::vector<float> m_, graft_;
  std::vector<float> ghat_, dir_;                 // scratch (not state)
  std::vector<float> gblock_, hblock_, dblock_;  // one block's g, Ghat, direction (scratch)
  double t_ = 0;
};

}  // namespace

std::unique_ptr<Optimizer> MakeShampoo(const ParamLayout& l, const Backend&, const HParams& h) {
  return std::make_unique<ShampooOptimizer>(l, h);
}

}  // namespace shoal
