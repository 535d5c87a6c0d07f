// Inverting Gradients (Geiping, Bauermeister, Droege, Moeller 2020, arXiv
// 2003.14053) and SME (Zhu, Yao, Blaschko, ICML 2023, arXiv 2306.00127).
//
// IG:  min_x 1 - cos(R G(x; w0), g*) + alpha_TV TV(x); Adam (lr 0.1),
//      optional signed gradients, box [0, 1], MultiStep x0.1 at 3/8, 5/8, 7/8,
//      x0 ~ N(0, 1), R restarts (keep the lowest final cosine loss).
// SME: min_{x, lambda} 1 - cos(w0 - wT, G(x; w_lambda)) + lambda_TV TV(x),
//      w_lambda = (1 - lambda) w0 + lambda wT, lambda0 = 0.5, Adam on lambda
//      (lr 0.001), lambda clamped to [0, 1]; d/dlambda = <H u, wT - w0>.
// Defaults follow JonasGeiping/invertinggradients DEFAULT_CONFIG and
// JunyiZhu-AI/surrogate_model_extension (shared/PRIVACY.md §2.3, §2.5).
#include <algorithm>
#include <cmath>
#include <limits>

#include "algorithms/attacks/inversion.h"

namespace shoal::attacks {

double MatchingObjective(const InversionProblem& p, std::span<const double> theta, std::span<const double> x,
                         MatchCost cost, double tv, std::span<double> dx, std::span<double> hu, double* match) {
  GradientOracle& o = *p.oracle;
  const size_t np = static_cast<size_t>(o.num_params());
  std::vector<double> g(np), rg(static_cast<size_t>(p.obs->output_dim())), us(rg.size()), u(np);
  o.Gradient(theta, x, p.labels, g);
  p.obs->Apply(g, rg);
  const double m = MatchValue(cost, rg, p.target, us);
  p.obs->Adjoint(us, u);
  o.MixedVjp(theta, x, p.labels, u, dx, hu);
  double value = m;
  if (tv > 0) value += tv * TotalVariation(x, static_cast<int>(p.labels.size()), p.shape, tv, dx);
  if (match) *match = m;
  return value;
}

namespace {

void InitImages(std::span<double> x, bool boxed, RngStream& rng) {
  for (double& v : x) v = rng.NextGaussian();
  if (boxed)
    for (double& v : x) v = std::clamp(v, 0.0, 1.0);
}

}  // namespace

InversionResult InvertAdam(const InversionProblem& p, const InversionOptions& o, RngStream rng) {
  const size_t n = p.labels.size() * static_cast<size_t>(p.oracle->input_dim());
  const size_t np = p.theta0.size();
  InversionResult best;
  best.match = std::numeric_limits<double>::infinity();
  std::vector<double> x(n), dx(n), theta(p.theta0.begin(), p.theta0.end()), hu(o.surrogate ? np : 0);
  for (int r = 0; r < o.restarts; ++r) {
    InitImages(x, o.boxed, rng);
    Adam adam_x(n), adam_l(1);
    double lambda = o.surrogate ? o.lambda_init : 0.0;
    int evals = 0;
    for (int it = 0; it < o.iterations; ++it) {
      const double lr_scale = o.lr_decay ? MultiStepLr(1.0, it, o.iterations) : 1.0;
      if (o.surrogate)
        for (size_t i = 0; i < np; ++i) theta[i] = p.theta0[i] + lambda * (p.w_end[i] - p.theta0[i]);
      std::fill(dx.begin(), dx.end(), 0.0);
      MatchingObjective(p, theta, x, o.cost, o.tv, dx, hu, nullptr);
      ++evals;
      if (o.signed_grad)
        for (double& v : dx) v = (v > 0) - (v < 0);
      adam_x.Step(x, dx, o.lr * lr_scale);
      if (o.boxed)
        for (double& v : x) v = std::clamp(v, 0.0, 1.0);
      if (o.surrogate) {
        double dl = 0;
        for (size_t i = 0; i < np; ++i) dl += hu[i] * (p.w_end[i] - p.theta0[i]);
        std::span<double> ls(&lambda, 1);
        adam_l.Step(ls, std::span<const double>(&dl, 1), o.lambda_lr * lr_scale);
        lambda = std::clamp(lambda, 0.0, 1.0);
      }
    }
    if (o.surrogate)
      for (size_t i = 0; i < np; ++i) theta[i] = p.theta0[i] + lambda * (p.w_end[i] - p.theta0[i]);
    double m = 0;
    MatchingObjective(p, theta, x, o.cost, 0.0, dx, {}, &m);
    best.restart_matches.push_back(m);
    if (m < best.match) {
      best.match = m;
      best.x = x;
      best.lambda = lambda;
      best.evaluations = evals;
    }
  }
  return best;
}

}  // namespace shoal::attacks
