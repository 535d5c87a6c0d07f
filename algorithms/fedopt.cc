#include "algorithms/fedopt.h"

#include <cmath>

namespace shoal {

FedOptOptions FedOptOptions::Parse(const ConfigNode& n, Rule rule) {
  FedOptOptions o;
  o.rule = rule;
  auto unit = [](const double& v) { return v >= 0 && v < 1; };
  o.server_lr = n.Get<double>("server_lr", o.server_lr, [](const double& v) { return v > 0; }, "> 0");
  o.beta1 = n.Get<double>("beta1", o.beta1, unit, "in [0, 1)");
  o.beta2 = n.Get<double>("beta2", o.beta2, unit, "in [0, 1)");
  o.tau = n.Get<double>("tau", o.tau, [](const double& v) { return v > 0; }, "> 0");
  o.bias_correction = n.Get<bool>("bias_correction", false);
  std::string w = n.Get<std::string>("weighting", "uniform",
                                     [](const std::string& v) { return v == "samples" || v == "uniform"; },
                                     "'uniform' or 'samples'");
  o.uniform_weighting = (w == "uniform");
  return o;
}

namespace {
FedAvgOptions AggregationOf(const FedOptOptions& o) {
  FedAvgOptions f;
  f.uniform_weighting = o.uniform_weighting;
  return f;
}
}  // namespace

FedOptStrategy::FedOptStrategy(RoundOptions round, FedOptOptions opts)
    : FedAvgStrategy(round, AggregationOf(opts)), opts_(opts) {}

std::string FedOptStrategy::name() const {
  switch (opts_.rule) {
    case FedOptOptions::Rule::kAdagrad: return "fedadagrad";
    case FedOptOptions::Rule::kYogi: return "fedyogi";
    default: return "fedadam";
  }
}

// Elementwise, once per round on the server: plain loops (no backend op has
// these exact rules; this is not a per-step hot loop).
void FedOptStrategy::ServerStep(std::span<const float> delta, std::vector<float>& x, StrategyContext&) {
  const double tau = opts_.tau, b1 = opts_.beta1, b2 = opts_.beta2;
  if (m_.size() != x.size()) {
    m_.assign(x.size(), 0.0f);
    v_.assign(x.size(), static_cast<float>(tau * tau));
  }
  ++t_;
  double bc1 = 1.0, bc2 = 1.0;
  if (opts_.bias_correction) {
    bc1 = 1.0 - std::pow(b1, static_cast<double>(t_));
    if (opts_.rule != FedOptOptions::Rule::kAdagrad) bc2 = 1.0 - std::pow(b2, static_cast<double>(t_));
  }
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = delta[i], d2 = d * d;
    const double m = b1 * m_[i] + (1 - b1) * d;
    double v = v_[i];
    switch (opts_.rule) {
      case FedOptOptions::Rule::kAdagrad: v += d2; break;
      case FedOptOptions::Rule::kAdam: v = b2 * v + (1 - b2) * d2; break;
      case FedOptOptions::Rule::kYogi: v -= (1 - b2) * d2 * (v > d2 ? 1.0 : (v < d2 ? -1.0 : 0.0)); break;
    }
    m_[i] = static_cast<float>(m);
    v_[i] = static_cast<float>(v);
    x[i] = static_cast<float>(x[i] + opts_.server_lr * (m / bc1) / (std::sqrt(v / bc2) + tau));
  }
}

}  // namespace shoal
