// Step-size rules (shared/OPTIMIZERS.md §6).
//
// DoG (Ivgi et al., ICML 2023; formll/dog dog.py), global over all parameters:
//   rbar_0 = reps_rel (1 + |x_0|), rbar_t = max(rbar_{t-1}, |x_t - x_0|),
//   G_t = eps + sum_i |g_i|^2, eta_t = lr rbar_t / sqrt(G_t); x -= eta_t g.
//   Defaults lr (c) 1, reps_rel 1e-6, eps 1e-8, coupled L2 weight_decay 0.
// SPS_max (Loizou et al., AISTATS 2021): gamma = min((f_B(x) - f_star) /
//   (c |g|^2), lr), x -= gamma g, with f_B the minibatch loss from the
//   StepContext; lr plays the cap gamma_b (so schedules shape it). Steps with
//   |g| = 0 are skipped. Defaults c 0.5, f_star 0, lr (gamma_b) 1.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "algorithms/optimizers/factories.h"
#include "algorithms/optimizers/vec_math.h"

namespace shoal {
namespace {

class DogOptimizer final : public Optimizer {
 public:
  DogOptimizer(const Backend& be, int64_t n, const HParams& h)
      : be_(be), reps_rel_(h.at("reps_rel")), eps_(h.at("eps")), wd_(static_cast<float>(h.at("weight_decay"))),
        x0_(static_cast<size_t>(n)) {}

  // Two passes over memory: the norms |x_t - x_0|^2 and |g|^2 together
  // (fixed-order lane sums, vec_math.h), then x -= eta g. The coupled weight
  // decay g + wd x is formed on the fly in both passes (x is unchanged between them).
  void Step(std::span<float> p, std::span<const float> g, float lr) override {
    const size_t n = p.size();
    const float wd = wd_;
    float* __restrict pp = p.data();
    const float *__restrict pg = g.data(), *__restrict x0 = x0_.data();
    if (t_ == 0) {
      std::copy(p.begin(), p.end(), x0_.begin());
      rbar_ = reps_rel_ * (1.0 + std::sqrt(be_.SquaredNorm(p)));
      g_sum_ = eps_;
    }
    vec::LaneSum d2, g2;
    size_t i = 0;
    for (; i + vec::kLanes <= n; i += vec::kLanes) {
      for (int j = 0; j < vec::kLanes; ++j) {
        const double d = pp[i + j] - x0[i + j], gi = pg[i + j] + wd * pp[i + j];
        d2.lane[j] += d * d;
        g2.lane[j] += gi * gi;
      }
    }
    for (; i < n; ++i) {
      const double d = pp[i] - x0[i], gi = pg[i] + wd * pp[i];
      d2.lane[0] += d * d;
      g2.lane[0] += gi * gi;
    }
    if (t_ > 0) rbar_ = std::max(rbar_, std::sqrt(d2.Total()));
    g_sum_ += g2.Total();
    t_ += 1;
    const float a = static_cast<float>(-lr * rbar_ / std::sqrt(g_sum_));
    for (size_t k = 0; k < n; ++k) pp[k] += a * (pg[k] + wd * pp[k]);
  }

 protected:
  StateRefs State() override { return {{{"x0", &x0_}}, {{"t", &t_}, {"rbar", &rbar_}, {"G", &g_sum_}}}; }

 private:
  const Backend& be_;
  double reps_rel_, eps_;
  float wd_;
  std::vector<float> x0_;
  double t_ = 0, rbar_ = 0, g_sum_ = 0;
};

class SpsOptimizer final : public Optimizer {
 public:
  SpsOptimizer(const Backend& be, const HParams& h) : be_(be), c_(h.at("c")), f_star_(h.at("f_star")) {}

  void Step(std::span<float>, std::span<const float>, float) override {
    std::fprintf(stderr, "sps needs the minibatch loss (StepWith with a StepContext)\n");
    std::abort();
  }
  void StepWith(std::span<float> p, std::span<const float> g, float lr, StepContext& ctx) override {
    const double g2 = be_.SquaredNorm(g);
    if (!(g2 > 0)) return;
    const double gamma = std::min(std::max(ctx.loss() - f_star_, 0.0) / (c_ * g2), static_cast<double>(lr));
    be_.Axpy(static_cast<float>(-gamma), g, p);
  }

 private:
  const Backend& be_;
  double c_, f_star_;
};

}  // namespace

std::unique_ptr<Optimizer> MakeDog(const ParamLayout& l, const Backend& be, const HParams& h) {
  return std::make_unique<DogOptimizer>(be, l.total_size(), h);
}
std::unique_ptr<Optimizer> MakeSps(const ParamLayout&, const Backend& be, const HParams& h) {
  return std::make_unique<SpsOptimizer>(be, h);
}

}  // namespace shoal
