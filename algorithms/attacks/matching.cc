#include "algorithms/attacks/matching.h"

#include <algorithm>
#include <cmath>


namespace shoal::attacks {

double MatchValue(MatchCost cost, std::span<const double> g, std::span<const double> target, std::span<double> u) {
  if (cost == MatchCost::kL2) {
    double s = 0;
    for (size_t i = 0; i < g.size(); ++i) {
      const double d = g[i] - target[i];
      s += d * d;
      u[i] = 2 * d;
    }
    return s;
  }
  double gg = 0, tt = 0, gt = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    gg += g[i] * g[i];
    tt += target[i] * target[i];
    gt += g[i] * target[i];
  }
  const double ng = std::sqrt(gg), nt = std::sqrt(tt);
  if (ng == 0 || nt == 0) {
    for (double& v : u) v = 0;
    return 1.0;
  }
  const double a = -1.0 / (ng * nt), b = gt / (ng * ng * ng * nt);
  for (size_t i = 0; i < g.size(); ++i) u[i] = a * target[i] + b * g[i];
  return 1.0 - gt / (ng * nt);
}

double TotalVariation(std::span<const double> x, int n, const ImageShape& s, double weight, std::span<double> grad) {
  const int64_t plane = int64_t{s.height} * s.width, d = s.size();
  const double nh = static_cast<double>(s.channels) * (s.height - 1) * s.width;
  const double nw = static_cast<double>(s.channels) * s.height * (s.width - 1);
  double tv = 0;
  const double per_image = 1.0 / std::max(1, n);  // batch mean
  auto term = [&](int64_t a, int64_t b, double norm) {
    const double diff = x[b] - x[a];
    tv += per_image * std::abs(diff) / norm;
    const double sg = per_image * ((diff > 0) - (diff < 0));
    grad[b] += weight * sg / norm;
    grad[a] -= weight * sg / norm;
  };
  for (int k = 0; k < n; ++k)
    for (int c = 0; c < s.channels; ++c) {
      const int64_t base = k * d + c * plane;
      for (int i = 0; i < s.height; ++i)
        for (int j = 0; j < s.width; ++j) {
          const int64_t p = base + int64_t{i} * s.width + j;
          if (i + 1 < s.height && nh > 0) term(p, p + s.width, nh);
          if (j + 1 < s.width && nw > 0) term(p, p + 1, nw);
        }
    }
  return tv;
}

void Adam::Step(std::span<double> x, std::span<const double> grad, double lr) {
  ++t_;
  const double c1 = 1 - std::pow(b1_, static_cast<double>(t_)), c2 = 1 - std::pow(b2_, static_cast<double>(t_));
  for (size_t i = 0; i < x.size(); ++i) {
    m_[i] = b1_ * m_[i] + (1 - b1_) * grad[i];
    v_[i] = b2_ * v_[i] + (1 - b2_) * grad[i] * grad[i];
    x[i] -= lr * (m_[i] / c1) / (std::sqrt(v_[i] / c2) + eps_);
  }
}

double MultiStepLr(double lr, int it, int iterations) {
  for (double f : {3.0 / 8, 5.0 / 8, 7.0 / 8})
    if (it >= static_cast<int>(f * iterations)) lr *= 0.1;
  return lr;
}

ObservationMap ObservationMap::Mask(std::vector<uint8_t> keep) {
  ObservationMap m(static_cast<int64_t>(keep.size()));
  m.keep_ = std::move(keep);
  return m;
}

ObservationMap ObservationMap::SymmetricLinear(int64_t d, LinearFn apply) {
  ObservationMap m(d);
  m.linear_ = std::move(apply);
  return m;
}

void ObservationMap::Apply(std::span<const double> g, std::span<double> out) const {
  if (linear_) {
    linear_(g, out);
  } else if (!keep_.empty()) {
    for (size_t i = 0; i < g.size(); ++i) out[i] = keep_[i] ? g[i] : 0.0;
  } else {
    for (size_t i = 0; i < g.size(); ++i) out[i] = g[i];
  }
}

void ObservationMap::Adjoint(std::span<const double> v, std::span<double> out) const { Apply(v, out); }

}  // namespace shoal::attacks
