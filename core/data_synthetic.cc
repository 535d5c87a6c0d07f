// Synthetic(alpha, beta) federated data: Shamir et al.'s construction as used
// by LEAF/FedProx (Li et al., MLSys 2020) and pFedMe (Dinh et al., NeurIPS
// 2020); spec in shared/ALGORITHMS.md §10.
//
// Per user i: u_i ~ N(0, alpha^2), B_i ~ N(0, beta^2), v_i ~ N(B_i, 1)^d,
// W_i ~ N(u_i, 1)^{d x C}, b_i ~ N(u_i, 1)^C, x ~ N(v_i, diag(j^-1.2)),
// y = argmax(x W_i + b_i). IID variant: one global W, b ~ N(0, 1) and
// v_i = B_i * 1. Counts n_i = (floor(LogNormal(4, 2)) + 50) * count_scale.
//
// Randomness: one kSynthetic stream per user (client slot = user) and one
// for the counts, so user i's data does not depend on how many users there
// are. Bitwise parity with numpy is not a goal; tests check distributions.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "core/data.h"
#include "core/rng.h"

namespace shoal {
namespace {

// Client slots of the streams that are not per user.
constexpr int64_t kCountsSlot = -1;
constexpr int64_t kGlobalModelSlot = -2;

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

Status Validate(const SyntheticOptions& o) {
  if (!(o.alpha >= 0) || !std::isfinite(o.alpha))
    return InvalidArgument("synthetic.alpha must be >= 0, got " + Num(o.alpha));
  if (!(o.beta >= 0) || !std::isfinite(o.beta))
    return InvalidArgument("synthetic.beta must be >= 0, got " + Num(o.beta));
  if (o.num_users < 1) return InvalidArgument("synthetic.num_users must be >= 1, got " + std::to_string(o.num_users));
  if (o.dim < 1) return InvalidArgument("synthetic.dim must be >= 1, got " + std::to_string(o.dim));
  if (o.num_classes < 2) {
    return InvalidArgument("synthetic.num_classes must be >= 2, got " + std::to_string(o.num_classes));
  }
  if (!(o.train_fraction > 0 && o.train_fraction <= 1)) {
    return InvalidArgument("synthetic.train_fraction must be in (0, 1], got " + Num(o.train_fraction));
  }
  if (o.count_scale < 1)
    return InvalidArgument("synthetic.count_scale must be >= 1, got " + std::to_string(o.count_scale));
  if (o.max_samples_per_user < 1) {
    return InvalidArgument("synthetic.max_samples_per_user must be >= 1, got " +
                           std::to_string(o.max_samples_per_user));
  }
  return Status::Ok();
}

// A linear softmax model: weights row-major dim x classes, then biases.
struct LinearModel {
  std::vector<double> w;
  std::vector<double> b;
};

LinearModel DrawModel(RngStream& rng, double mean, int dim, int classes) {
  LinearModel m;
  m.w.resize(static_cast<size_t>(dim) * classes);
  m.b.resize(classes);
  for (double& w : m.w) w = mean + rng.NextGaussian();
  for (double& b : m.b) b = mean + rng.NextGaussian();
  return m;
}

int32_t ArgmaxLabel(const LinearModel& m, std::span<const float> x, int classes) {
  int32_t best = 0;
  double best_logit = 0;
  for (int c = 0; c < classes; ++c) {
    double logit = m.b[c];
    for (size_t j = 0; j < x.size(); ++j) logit += x[j] * m.w[j * classes + c];
    if (c == 0 || logit > best_logit) best = c, best_logit = logit;
  }
  return best;
}

int64_t DrawCount(RngStream& rng, const SyntheticOptions& o) {
  double lognormal = std::exp(4.0 + 2.0 * rng.NextGaussian());
  double n = (std::floor(lognormal) + 50.0) * o.count_scale;
  return static_cast<int64_t>(std::min(n, static_cast<double>(o.max_samples_per_user)));
}

// Generates user `user`'s n samples, shuffles them with the user's stream and
// appends the first floor(train_fraction * n) (at least 1) to train, the rest to test.
void GenerateUser(const SyntheticOptions& o, const LinearModel* global, uint64_t seed, int user, int64_t n,
                  FederatedData& data) {
  RngStream rng(seed, /*round=*/-1, /*client=*/user, RngPurpose::kSynthetic);
  const int d = o.dim, classes = o.num_classes;
  double u = o.alpha * rng.NextGaussian();
  double big_b = o.beta * rng.NextGaussian();
  std::vector<double> v(d);
  for (double& vj : v) vj = o.iid ? big_b : big_b + rng.NextGaussian();
  LinearModel local;
  if (global == nullptr) local = DrawModel(rng, u, d, classes);
  const LinearModel& model = global != nullptr ? *global : local;

  // Sigma_jj = j^-1.2 (1-based j), so the standard deviation is j^-0.6.
  std::vector<double> sd(d);
  for (int j = 0; j < d; ++j) sd[j] = std::pow(j + 1.0, -0.6);
  std::vector<float> x(static_cast<size_t>(n) * d);
  std::vector<int32_t> y(n);
  for (int64_t r = 0; r < n; ++r) {
    std::span<float> row(x.data() + r * d, d);
    for (int j = 0; j < d; ++j) row[j] = static_cast<float>(v[j] + sd[j] * rng.NextGaussian());
    y[r] = ArgmaxLabel(model, row, classes);
  }
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  rng.Shuffle(std::span<int64_t>(order));
  int64_t n_train = static_cast<int64_t>(std::floor(o.train_fraction * static_cast<double>(n) + 1e-9));
  n_train = std::clamp<int64_t>(n_train, 1, n);
  std::vector<int64_t>& train_idx = data.client_train.emplace_back();
  std::vector<int64_t>& test_idx = data.client_test.emplace_back();
  for (int64_t k = 0; k < n; ++k) {
    Dataset& ds = k < n_train ? data.train : data.test;
    (k < n_train ? train_idx : test_idx).push_back(ds.size());
    ds.x.insert(ds.x.end(), x.begin() + order[k] * d, x.begin() + (order[k] + 1) * d);
    ds.y.push_back(y[order[k]]);
  }
}

}  // namespace

Result<FederatedData> GenerateSynthetic(const SyntheticOptions& opts, uint64_t seed) {
  RETURN_IF_ERROR(Validate(opts));
  RngStream count_rng(seed, /*round=*/-1, kCountsSlot, RngPurpose::kSynthetic);
  std::vector<int64_t> counts(opts.num_users);
  for (int64_t& n : counts) n = DrawCount(count_rng, opts);

  LinearModel global;
  if (opts.iid) {
    RngStream global_rng(seed, /*round=*/-1, kGlobalModelSlot, RngPurpose::kSynthetic);
    global = DrawModel(global_rng, 0.0, opts.dim, opts.num_classes);
  }

  FederatedData data;
  int64_t total = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  data.train.x.reserve(static_cast<size_t>(total * opts.train_fraction + opts.num_users) * opts.dim);
  for (int i = 0; i < opts.num_users; ++i) {
    GenerateUser(opts, opts.iid ? &global : nullptr, seed, i, counts[i], data);
  }
  const std::string name =
      std::string(opts.iid ? "synthetic_iid_" : "synthetic_") + Num(opts.alpha) + "_" + Num(opts.beta);
  for (Dataset* ds : {&data.train, &data.test}) {
    ds->name = name;
    ds->sample_shape = {opts.dim};
    ds->dim = opts.dim;
    ds->num_classes = opts.num_classes;
  }
  return data;
}

}  // namespace shoal
