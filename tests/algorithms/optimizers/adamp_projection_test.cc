// AdamP's per-tensor projection (Heo et al. 2021; clovaai/AdamP adamp.py,
// shared/OPTIMIZERS.md §2) against a direct float64 transcription of the
// reference algorithm: channel-view projection (g orthogonal to p in every
// row), layer-view projection (orthogonal overall, not per row), and no
// projection (g along p), with decoupled weight decay scaled by wd_ratio.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "algorithms/optimizers/optimizer.h"
#include "core/rng.h"

namespace shoal {
namespace {

constexpr double kB1 = 0.9, kB2 = 0.999, kEps = 1e-8, kDelta = 0.1, kWd = 0.01, kRatio = 0.1, kLr = 0.05;

// One tensor rows x cols, float64, following adamp.py step by step.
struct ReferenceAdamp {
  int rows, cols;
  std::vector<double> m, v;
  int t = 0;
  ReferenceAdamp(int r, int c) : rows(r), cols(c), m(static_cast<size_t>(r * c)), v(m.size()) {}

  // Projects d if every view (views x len) has |cos(g, p)| < delta / sqrt(len).
  static bool Project(const std::vector<double>& p, const std::vector<double>& g, std::vector<double>& d, int views,
                      int len) {
    for (int r = 0; r < views; ++r) {
      double gp = 0, gg = 0, pp = 0;
      for (int i = r * len; i < (r + 1) * len; ++i) gp += g[i] * p[i], gg += g[i] * g[i], pp += p[i] * p[i];
      if (std::fabs(gp) / std::max(std::sqrt(gg) * std::sqrt(pp), kEps) >= kDelta / std::sqrt(len)) return false;
    }
    for (int r = 0; r < views; ++r) {
      double pp = 0, pd = 0;
      for (int i = r * len; i < (r + 1) * len; ++i) pp += p[i] * p[i];
      const double norm = std::sqrt(pp) + kEps;
      for (int i = r * len; i < (r + 1) * len; ++i) pd += p[i] / norm * d[i];
      for (int i = r * len; i < (r + 1) * len; ++i) d[i] -= p[i] / norm * pd;
    }
    return true;
  }

  void Step(std::vector<double>& p, const std::vector<double>& g) {
    ++t;
    const double bc1 = 1 - std::pow(kB1, t), bc2 = 1 - std::pow(kB2, t);
    std::vector<double> d(p.size());
    for (size_t i = 0; i < p.size(); ++i) {
      m[i] = kB1 * m[i] + (1 - kB1) * g[i];
      v[i] = kB2 * v[i] + (1 - kB2) * g[i] * g[i];
      d[i] = m[i] / (std::sqrt(v[i]) / std::sqrt(bc2) + kEps);
    }
    double ratio = 1;
    if (Project(p, g, d, rows, cols) || Project(p, g, d, 1, rows * cols)) ratio = kRatio;
    for (size_t i = 0; i < p.size(); ++i) p[i] = p[i] * (1 - kLr * kWd * ratio) - kLr / bc1 * d[i];
  }
};

enum class Kind { kRows, kLayer, kNone };

// g for the current p: orthogonal per row, orthogonal overall only, or along p.
std::vector<double> Gradient(const std::vector<double>& p, int rows, int cols, Kind kind, RngStream& rng) {
  std::vector<double> g(p.size());
  for (double& x : g) x = rng.NextGaussian();
  for (int r = 0; r < rows; ++r) {
    double gp = 0, pp = 0;
    for (int i = r * cols; i < (r + 1) * cols; ++i) gp += g[i] * p[i], pp += p[i] * p[i];
    for (int i = r * cols; i < (r + 1) * cols; ++i) {
      if (kind == Kind::kRows) g[i] -= gp / pp * p[i];                 // row-orthogonal
      if (kind != Kind::kRows) g[i] = 0.05 * g[i] + (r % 2 ? -1 : 1) * p[i];  // along +-p per row
    }
  }
  if (kind == Kind::kLayer) {  // remove the layer-level component: orthogonal overall, not per row
    double gp = 0, pp = 0;
    for (size_t i = 0; i < p.size(); ++i) gp += g[i] * p[i], pp += p[i] * p[i];
    for (size_t i = 0; i < p.size(); ++i) g[i] -= gp / pp * p[i];
  }
  return g;
}

TEST(AdampProjection, MatchesFloat64Reference) {
  const int rows = 4, cols = 8;
  for (Kind kind : {Kind::kRows, Kind::kLayer, Kind::kNone}) {
    ParamLayout layout;
    layout.Add("w", {rows, 2, 4});  // [4, 8] view, as a conv-like 3-D tensor
    layout.Add("b", {rows});        // 1-D: Adam with decoupled weight decay
    auto opt = MakeOptimizer("adamp", {{"weight_decay", kWd}, {"lr", kLr}}, layout, *GetBackend("cpu_ref").value());
    ASSERT_TRUE(opt.ok());
    RngStream rng(5, 0, 0, RngPurpose::kSynthetic);
    std::vector<double> pw(rows * cols), pb(rows);
    for (double& x : pw) x = rng.NextGaussian();
    for (double& x : pb) x = rng.NextGaussian();
    ReferenceAdamp ref_w(rows, cols), ref_b(1, rows);
    std::vector<float> p;
    for (double x : pw) p.push_back(static_cast<float>(x));
    for (double x : pb) p.push_back(static_cast<float>(x));
    for (int s = 0; s < 3; ++s) {
      std::vector<double> gw = Gradient(pw, rows, cols, kind, rng), gb(rows);
      for (double& x : gb) x = rng.NextGaussian();
      std::vector<float> g;
      for (double x : gw) g.push_back(static_cast<float>(x));
      for (double x : gb) g.push_back(static_cast<float>(x));
      (*opt)->Step(p, g, static_cast<float>(kLr));
      ref_w.Step(pw, gw);
      // The bias is 1-D: no projection (rows = 1, cols = 4 would otherwise apply).
      ReferenceAdamp& rb = ref_b;
      ++rb.t;
      const double bc1 = 1 - std::pow(kB1, rb.t), bc2 = 1 - std::pow(kB2, rb.t);
      for (int i = 0; i < rows; ++i) {
        rb.m[i] = kB1 * rb.m[i] + (1 - kB1) * gb[i];
        rb.v[i] = kB2 * rb.v[i] + (1 - kB2) * gb[i] * gb[i];
        pb[i] = pb[i] * (1 - kLr * kWd) - kLr / bc1 * rb.m[i] / (std::sqrt(rb.v[i]) / std::sqrt(bc2) + kEps);
      }
      for (int i = 0; i < rows * cols; ++i) ASSERT_NEAR(p[i], pw[i], 2e-5) << "kind " << int(kind) << " step " << s << " w[" << i << "]";
      for (int i = 0; i < rows; ++i) ASSERT_NEAR(p[rows * cols + i], pb[i], 2e-5) << "b[" << i << "]";
    }
  }
}

}  // namespace
}  // namespace shoal
