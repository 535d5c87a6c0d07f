// DLG: Deep Leakage from Gradients (Zhu, Liu, Han 2019, arXiv 1906.08935).
//
// min_x ||R G(x; w0) - g*||^2 with L-BFGS (paper: 300 iterations). L-BFGS
// here: memory `history` (10), two-loop recursion (Nocedal & Wright Alg.
// 7.4), initial Hessian scaling gamma = s^T y / y^T y, Armijo backtracking
// (c1 = 1e-4, halving); pairs with s^T y <= 0 are skipped. x starts at
// N(0, 1) draws; labels are fixed to the recovered ones (iDLG).
#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

#include "algorithms/attacks/inversion.h"

namespace shoal::attacks {
namespace {

double Dot(std::span<const double> a, std::span<const double> b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

InversionResult InvertLbfgs(const InversionProblem& p, const InversionOptions& o, RngStream rng) {
  const size_t n = p.labels.size() * static_cast<size_t>(p.oracle->input_dim());
  const std::span<const double> theta = p.theta0;
  InversionResult best;
  best.match = std::numeric_limits<double>::infinity();
  for (int r = 0; r < o.restarts; ++r) {
    std::vector<double> x(n), g(n), d(n), xn(n), gn(n), q(n);
    for (double& v : x) v = rng.NextGaussian();
    auto eval = [&](std::span<const double> at, std::span<double> grad) {
      std::fill(grad.begin(), grad.end(), 0.0);
      return MatchingObjective(p, theta, at, o.cost, o.tv, grad, {}, nullptr);
    };
    double f = eval(x, g);
    int evals = 1;
    std::deque<std::vector<double>> ss, ys;
    std::deque<double> rhos;
    for (int it = 0; it < o.iterations && evals < 4 * o.iterations; ++it) {
      // Two-loop recursion: d = -H g.
      q = g;
      std::vector<double> alpha(ss.size());
      for (size_t k = ss.size(); k-- > 0;) {
        alpha[k] = rhos[k] * Dot(ss[k], q);
        for (size_t i = 0; i < n; ++i) q[i] -= alpha[k] * ys[k][i];
      }
      const double gamma = ss.empty() ? 1.0 / std::max(1e-12, std::sqrt(Dot(g, g))) : Dot(ss.back(), ys.back()) / Dot(ys.back(), ys.back());
      for (size_t i = 0; i < n; ++i) q[i] *= gamma;
      for (size_t k = 0; k < ss.size(); ++k) {
        const double beta = rhos[k] * Dot(ys[k], q);
        for (size_t i = 0; i < n; ++i) q[i] += (alpha[k] - beta) * ss[k][i];
      }
      for (size_t i = 0; i < n; ++i) d[i] = -q[i];
      double slope = Dot(g, d);
      if (slope >= 0) {  // not a descent direction: restart from steepest descent
        ss.clear(); ys.clear(); rhos.clear();
        for (size_t i = 0; i < n; ++i) d[i] = -g[i] / std::max(1e-12, std::sqrt(Dot(g, g)));
        slope = Dot(g, d);
      }
      double step = 1.0, fn = f;
      bool accepted = false;
      for (int ls = 0; ls < 30; ++ls, step *= 0.5) {
        for (size_t i = 0; i < n; ++i) xn[i] = x[i] + step * d[i];
        fn = eval(xn, gn);
        ++evals;
        if (fn <= f + 1e-4 * step * slope) { accepted = true; break; }
      }
      if (!accepted) break;  // no progress possible along d
      std::vector<double> s(n), y(n);
      for (size_t i = 0; i < n; ++i) { s[i] = xn[i] - x[i]; y[i] = gn[i] - g[i]; }
      const double sy = Dot(s, y);
      if (sy > 1e-300) {
        ss.push_back(std::move(s)); ys.push_back(std::move(y)); rhos.push_back(1.0 / sy);
        if (static_cast<int>(ss.size()) > o.history) { ss.pop_front(); ys.pop_front(); rhos.pop_front(); }
      }
      x.swap(xn); g.swap(gn); f = fn;
    }
    double m = 0;
    MatchingObjective(p, theta, x, o.cost, 0.0, g, {}, &m);
    best.restart_matches.push_back(m);
    if (m < best.match) { best.match = m; best.x = x; best.evaluations = evals; }
  }
  for (double& v : best.x) v = std::clamp(v, 0.0, 1.0);
  return best;
}

}  // namespace shoal::attacks
