// AdamP (Heo et al., ICLR 2021; clovaai/AdamP adamp.py), shared/OPTIMIZERS.md §2.
//
// Adam direction d = m / (sqrt(v/bc2) + eps) (nesterov: (b1 m + (1-b1) g)/...),
// step lr/bc1. Per tensor with ndim > 1: if max |cos(g, p)| over output
// channels (rows of view(shape[0], -1)) is below delta / sqrt(row length), or
// else over the whole layer below delta / sqrt(size), the radial part is
// removed, d -= p_hat (p_hat . d) per row of that view, and the decoupled
// weight decay is scaled by wd_ratio. p *= 1 - lr wd ratio; p -= lr/bc1 d.
// Defaults: lr 1e-3, b = (0.9, 0.999), eps 1e-8, wd 0, delta 0.1, wd_ratio 0.1.
#include <algorithm>
#include <cmath>

#include "algorithms/optimizers/factories.h"
#include "algorithms/optimizers/vec_math.h"

namespace shoal {
namespace {

float F(const HParams& h, const char* key) { return static_cast<float>(h.at(key)); }

class AdampOptimizer final : public Optimizer {
 public:
  AdampOptimizer(const ParamLayout& layout, const HParams& h)
      : layout_(layout), b1_(F(h, "beta1")), b2_(F(h, "beta2")), eps_(F(h, "eps")), wd_(F(h, "weight_decay")),
        delta_(h.at("delta")), wd_ratio_(F(h, "wd_ratio")), nesterov_(h.at("nesterov") != 0),
        m_(static_cast<size_t>(layout.total_size())), v_(m_.size()), d_(m_.size()) {}

  // Per tensor, two passes: (1) the Adam moments, the direction d (kept in
  // d_) and, row by row, the sums g.p, g.g, p.p, p.d the projection test and
  // the projection need (fixed-order lane sums, vec_math.h); (2) the update
  // p = p (1 - lr wd ratio) - lr/bc1 (d - p c_row), with c_row = (p_hat . d) /
  // (|p| + eps) for projected rows and 0 otherwise. 1-D tensors: no sums, no projection.
  void Step(std::span<float> p, std::span<const float> g, float lr) override {
    t_ += 1;
    const float rsbc2 = 1.0f / std::sqrt(1.0f - std::pow(b2_, static_cast<float>(t_)));
    const float step = lr / (1.0f - std::pow(b1_, static_cast<float>(t_)));
    for (const TensorSpec& ts : layout_.tensors()) {
      const int64_t rows = ts.shape.size() > 1 ? ts.shape[0] : 1, cols = ts.size / rows;
      if (ts.shape.size() <= 1) {
        Moments(p, g, ts.offset, ts.size, rsbc2, nullptr);
        Update(p, ts.offset, ts.size, 1.0f - lr * wd_, step, 0.0f);
        continue;
      }
      sums_.assign(static_cast<size_t>(rows), RowSums{});
      for (int64_t r = 0; r < rows; ++r) Moments(p, g, ts.offset + r * cols, cols, rsbc2, &sums_[r]);
      // Channel view (rows of view(shape[0], -1)) first, then the whole layer.
      bool project = AllBelow(sums_, cols);
      if (!project) {
        RowSums all;
        for (const RowSums& rs : sums_) all.gp += rs.gp, all.gg += rs.gg, all.pp += rs.pp, all.pd += rs.pd;
        sums_.assign(1, all);
        project = AllBelow(sums_, ts.size);
      }
      const float decay = 1.0f - lr * wd_ * (project ? wd_ratio_ : 1.0f);
      const int64_t views = static_cast<int64_t>(sums_.size()), len = ts.size / views;
      for (int64_t r = 0; r < views; ++r) {
        float c = 0.0f;
        if (project) {
          const double inv = 1.0 / (std::sqrt(sums_[r].pp) + eps_);
          c = static_cast<float>(inv * inv * sums_[r].pd);
        }
        Update(p, ts.offset + r * len, len, decay, step, c);
      }
    }
  }

 protected:
  StateRefs State() override { return {{{"m", &m_}, {"v", &v_}}, {{"t", &t_}}}; }

 private:
  struct RowSums {
    double gp = 0, gg = 0, pp = 0, pd = 0;
  };

  // m, v and d_ on [a, a + n); with `sums`, also the row's dot products.
  void Moments(std::span<const float> p, std::span<const float> g, int64_t a, int64_t n, float rsbc2,
               RowSums* sums) {
    const float b1 = b1_, c1 = 1.0f - b1_, b2 = b2_, c2 = 1.0f - b2_, eps = eps_;
    const bool nesterov = nesterov_;
    const float *__restrict pp = p.data() + a, *__restrict pg = g.data() + a;
    float *__restrict m = m_.data() + a, *__restrict v = v_.data() + a, *__restrict d = d_.data() + a;
    for (int64_t i = 0; i < n; ++i) {
      const float gi = pg[i], mi = b1 * m[i] + c1 * gi, vi = b2 * v[i] + c2 * gi * gi;
      const float num = nesterov ? b1 * mi + c1 * gi : mi;
      m[i] = mi, v[i] = vi, d[i] = num / (std::sqrt(vi) * rsbc2 + eps);
    }
    if (sums == nullptr) return;
    vec::LaneSum gp, gg, pps, pd;
    int64_t i = 0;
    for (; i + vec::kLanes <= n; i += vec::kLanes) {
      for (int j = 0; j < vec::kLanes; ++j) {
        const double x = pp[i + j], y = pg[i + j], z = d[i + j];
        gp.lane[j] += x * y, gg.lane[j] += y * y, pps.lane[j] += x * x, pd.lane[j] += x * z;
      }
    }
    for (; i < n; ++i) {
      const double x = pp[i], y = pg[i], z = d[i];
      gp.lane[0] += x * y, gg.lane[0] += y * y, pps.lane[0] += x * x, pd.lane[0] += x * z;
    }
    *sums = {gp.Total(), gg.Total(), pps.Total(), pd.Total()};
  }

  // Whether every view's |cos(g, p)| is below delta / sqrt(view length).
  bool AllBelow(const std::vector<RowSums>& views, int64_t len) const {
    const double limit = delta_ / std::sqrt(static_cast<double>(len));
    for (const RowSums& s : views) {
      if (std::fabs(s.gp) / std::max(std::sqrt(s.gg) * std::sqrt(s.pp), double{eps_}) >= limit) return false;
    }
    return true;
  }

  void Update(std::span<float> p, int64_t a, int64_t n, float decay, float step, float c) {
    float* __restrict pp = p.data() + a;
    const float* __restrict d = d_.data() + a;
    for (int64_t i = 0; i < n; ++i) pp[i] = pp[i] * decay - step * (d[i] - pp[i] * c);
  }

  ParamLayout layout_;
  float b1_, b2_, eps_, wd_;
  double delta_;
  float wd_ratio_;
  bool nesterov_;
  std::vector<float> m_, v_, d_;  // d_: direction scratch (not state)
  std::vector<RowSums> sums_;     // per-row dot products (scratch)
  double t_ = 0;
};

}  // namespace

std::unique_ptr<Optimizer> MakeAdamp(const ParamLayout& l, const Backend&, const HParams& h) {
  return std::make_unique<AdampOptimizer>(l, h);
}

}  // namespace shoal
