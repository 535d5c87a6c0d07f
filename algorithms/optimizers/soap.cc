// SOAP (Vyas et al., ICLR 2025; nikhilvyas/SOAP soap.py at a1e5535),
// shared/OPTIMIZERS.md §5: Adam run in the eigenbasis of Shampoo's factors.
//
// Per tensor viewed as a matrix (m x n; conv kernels (out, in, kh, kw) as
// [out, in kh kw], as in soap.py), split block-diagonally into blocks G of
// at most block_size per side (0 = no split; soap.py has no blocking, Shoal
// adds it with distributed Shampoo's 1024 so that wide layers stay
// tractable). A block side longer than max_precond_dim, and 1-D tensors, use
// the identity, i.e. Adam's diagonal second moment along that side (1-D
// tensors get Adam). m and v of a block are stored block-contiguously. The first step only initialises: GG_L = (1-bs) G G^T,
// GG_R = (1-bs) G^T G, Q = eigenvectors (descending); no update, t stays 0.
// Later steps: G' = Q_L^T G Q_R; m = b1 m + (1-b1) G'; v = b2 v + (1-b2) G'^2
// (both in the rotated basis); p -= lr sqrt(bc2)/bc1 Q_L (m/(sqrt v + eps)) Q_R^T;
// p -= lr wd p; then GG = bs GG + (1-bs) G G^T (bs = precond_beta, -1 = b2) and
// when t % precondition_frequency == 0 the bases are refreshed by one power
// iteration + QR (columns sorted by diag(Q^T GG Q), v permuted alike, m
// re-rotated). Defaults: lr 3e-3, b = (0.95, 0.95), eps 1e-8, wd 0.01, f 10.
#include <algorithm>
#include <cmath>

#include "algorithms/optimizers/factories.h"
#include "algorithms/optimizers/linalg.h"

namespace shoal {
namespace {

struct Side {  // one preconditioned dimension
  std::vector<float> gg, q;
};

struct Block {
  MatrixBlock at;
  int64_t state = 0;  // offset of the block's m, v (block-contiguous)
  Side l, r;          // empty = identity
};

class SoapOptimizer final : public Optimizer {
 public:
  SoapOptimizer(const ParamLayout& layout, const HParams& h)
      : b1_(static_cast<float>(h.at("beta1"))), b2_(static_cast<float>(h.at("beta2"))),
        eps_(static_cast<float>(h.at("eps"))), wd_(static_cast<float>(h.at("weight_decay"))),
        freq_(static_cast<int64_t>(h.at("precondition_frequency"))) {
    bs_ = h.at("precond_beta") < 0 ? b2_ : static_cast<float>(h.at("precond_beta"));
    const int64_t max_dim = static_cast<int64_t>(h.at("max_precond_dim"));
    const int64_t block_size = static_cast<int64_t>(h.at("block_size"));
    int64_t state = 0, largest = 0;
    for (const TensorSpec& ts : layout.tensors()) {
      const bool matrix = ts.shape.size() >= 2;
      for (const MatrixBlock& at : PartitionMatrix(ts.offset, ts.shape, ts.size, matrix ? block_size : 0)) {
        Block b;
        b.at = at;
        b.state = state;
        state += at.rows * at.cols;
        largest = std::max(largest, at.rows * at.cols);
        if (matrix && at.rows <= max_dim) b.l.gg.assign(static_cast<size_t>(at.rows * at.rows), 0.0f), b.l.q = b.l.gg;
        if (matrix && at.cols <= max_dim) b.r.gg.assign(static_cast<size_t>(at.cols * at.cols), 0.0f), b.r.q = b.r.gg;
        blocks_.push_back(std::move(b));
      }
    }
    const size_t n = static_cast<size_t>(layout.total_size());
    m_.assign(n, 0.0f);
    v_.assign(n, 0.0f);
    scratch_.assign(static_cast<size_t>(largest), 0.0f);
    gblock_ = scratch_;
    pblock_ = scratch_;
  }

  void Step(std::span<float> p, std::span<const float> g, float lr) override {
    if (!initialised_) {  // first call: factors and bases only
      for (Block& b : blocks_) {
        GatherBlock(g.data(), b.at, gblock_.data());
        Accumulate(b, gblock_.data());
        if (!b.l.gg.empty()) SymmetricEigenvectorsDescending(b.l.gg, b.at.rows, b.l.q);
        if (!b.r.gg.empty()) SymmetricEigenvectorsDescending(b.r.gg, b.at.cols, b.r.q);
      }
      initialised_ = 1;
      return;
    }
    t_ += 1;
    const int64_t t = static_cast<int64_t>(t_);
    const float step = lr * std::sqrt(1.0f - std::pow(b2_, static_cast<float>(t))) /
                       (1.0f - std::pow(b1_, static_cast<float>(t)));
    for (Block& b : blocks_) {
      const int64_t rows = b.at.rows, cols = b.at.cols, size = rows * cols;
      float* gp = scratch_.data();
      float* m = m_.data() + b.state;
      float* v = v_.data() + b.state;
      float* gb = gblock_.data();
      GatherBlock(g.data(), b.at, gb);
      TwoSidedProduct(b.l.q, gb, b.r.q, rows, cols, true, gp);
      for (int64_t i = 0; i < size; ++i) {
        m[i] = b1_ * m[i] + (1.0f - b1_) * gp[i];
        v[i] = b2_ * v[i] + (1.0f - b2_) * gp[i] * gp[i];
        gp[i] = m[i] / (std::sqrt(v[i]) + eps_);
      }
      TwoSidedProduct(b.l.q, gp, b.r.q, rows, cols, false, gp);
      float* pb = pblock_.data();
      GatherBlock(p.data(), b.at, pb);
      for (int64_t i = 0; i < size; ++i) {
        pb[i] -= step * gp[i];
        pb[i] -= lr * wd_ * pb[i];
      }
      ScatterBlock(pb, b.at, p.data());
      Accumulate(b, gb);
      if (t % freq_ == 0) Refresh(b, m, v);
    }
  }

 protected:
  StateRefs State() override {
    StateRefs r{{{"m", &m_}, {"v", &v_}}, {{"t", &t_}, {"initialised", &initialised_}}};
    for (size_t k = 0; k < blocks_.size(); ++k) {
      Block& b = blocks_[k];
      const std::string id = std::to_string(k);
      if (!b.l.gg.empty()) r.tensors.push_back({"GGL" + id, &b.l.gg}), r.tensors.push_back({"QL" + id, &b.l.q});
      if (!b.r.gg.empty()) r.tensors.push_back({"GGR" + id, &b.r.gg}), r.tensors.push_back({"QR" + id, &b.r.q});
    }
    return r;
  }

 private:
  void Accumulate(Block& b, const float* g) {
    if (!b.l.gg.empty()) AccumulateGram(g, b.at.rows, b.at.cols, true, bs_, 1.0f - bs_, b.l.gg);
    if (!b.r.gg.empty()) AccumulateGram(g, b.at.rows, b.at.cols, false, bs_, 1.0f - bs_, b.r.gg);
  }

  // New bases by power iteration + QR; v follows the column sort, m is rotated
  // back with the old bases and into the new ones.
  void Refresh(Block& b, float* m, float* v) {
    const int64_t rows = b.at.rows, cols = b.at.cols, size = rows * cols;
    std::vector<float> tmp(static_cast<size_t>(size));
    TwoSidedProduct(b.l.q, m, b.r.q, rows, cols, false, m);
    std::vector<int64_t> order;
    if (!b.l.gg.empty()) {
      RefreshEigenbasis(b.l.gg, rows, b.l.q, order);
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t c = 0; c < cols; ++c) tmp[i * cols + c] = v[order[i] * cols + c];
      std::copy(tmp.begin(), tmp.end(), v);
    }
    if (!b.r.gg.empty()) {
      RefreshEigenbasis(b.r.gg, cols, b.r.q, order);
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t c = 0; c < cols; ++c) tmp[i * cols + c] = v[i * cols + order[c]];
      std::copy(tmp.begin(), tmp.end(), v);
    }
    TwoSidedProduct(b.l.q, m, b.r.q, rows, cols, true, m);
  }

  float b1_, b2_, eps_, wd_, bs_ = 0;
  int64_t freq_;
  std::vector<Block> blocks_;
  std::vector<float> m_, v_;
  std::vector<float> scratch_, gblock_, pblock_;  // one block's G', g, p (not state)
  double t_ = 0, initialised_ = 0;
};

}  // namespace

std::unique_ptr<Optimizer> MakeSoap(const ParamLayout& l, const Backend&, const HParams& h) {
  return std::make_unique<SoapOptimizer>(l, h);
}

}  // namespace shoal
