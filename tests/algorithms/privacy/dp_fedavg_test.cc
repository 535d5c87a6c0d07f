// CentralDp (DP-FedAvg) driven directly with hand-made client results:
// clipping, the noise's mean and standard deviation, the estimator, the
// epsilon in metrics rows, budgets, adaptive clipping and config errors.
#include <gtest/gtest.h>

#include <cmath>

#include "algorithms/fedavg.h"
#include "algorithms/privacy/dp_fedavg.h"
#include "algorithms/registry.h"
#include "algorithms/round_strategy.h"
#include "core/config.h"

namespace shoal::privacy {
namespace {

// Records the deltas it is given and applies their plain mean (lr 1).
class Recorder final : public RoundStrategy {
 public:
  explicit Recorder(RoundOptions o, std::vector<std::vector<float>>* seen) : RoundStrategy(o), seen_(seen) {}
  std::string name() const override { return "recorder"; }

 protected:
  void BeginRound(StrategyContext&) override { sum_.assign(global_params().size(), 0.0); count_ = 0; }
  Status Accept(ClientResult&& r, StrategyContext&) override {
    seen_->push_back(r.update.delta);
    for (size_t i = 0; i < sum_.size(); ++i) sum_[i] += r.update.delta[i];
    ++count_;
    return Status::Ok();
  }
  Result<std::vector<float>> Finish(int, StrategyContext&) override {
    std::vector<float> x = global_params();
    for (size_t i = 0; i < x.size(); ++i) x[i] += static_cast<float>(sum_[i] / count_);
    return x;
  }

 private:
  std::vector<std::vector<float>>* seen_;
  std::vector<double> sum_;
  int count_ = 0;
};

struct Harness {
  StrategyContext ctx;
  std::unique_ptr<CentralDp> dp;
  std::vector<std::vector<float>> seen;
  size_t dim;
  Harness(int clients, int per_round, int64_t rounds, size_t d, CentralDpOptions opts) : dim(d) {
    ctx.backend = GetBackend("cpu_ref").value();
    ctx.client_samples.assign(static_cast<size_t>(clients), 10);
    ctx.seed = 42;
    RoundOptions ro;
    ro.rounds = rounds;
    ro.clients_per_round = per_round;
    dp = std::make_unique<CentralDp>(std::make_unique<Recorder>(ro, &seen), opts);
  }
  ModelSnapshot Zero() const { return {0, std::make_shared<const std::vector<float>>(dim, 0.0f)}; }
  // Answers every task with delta = f(task); returns the last Actions.
  Result<Actions> Round(Actions a, const std::function<std::vector<float>(const Task&)>& f) {
    Actions last;
    for (const Task& t : a.dispatch) {
      ClientResult r;
      r.task_id = t.task_id;
      r.round = t.round;
      r.client = t.client;
      r.update.delta = f(t);
      r.update.num_samples = 10;
      ASSIGN_OR_RETURN(last, dp->OnResult(std::move(r), ctx));
    }
    return last;
  }
};

TEST(CentralDp, EveryClippedUpdateHasNormAtMostC) {
  CentralDpOptions o;
  o.noise_multiplier = 0;
  o.clip_norm = 0.5;
  Harness h(4, 4, 1, 3, o);  // q = 1, W = 4: forwarded deltas are the clipped ones
  auto a = h.dp->Start(h.Zero(), h.ctx);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(h.Round(*a, [](const Task& t) { return std::vector<float>{3.0f * (t.client + 1), 4.0f, 0.0f}; }).ok());
  ASSERT_EQ(h.seen.size(), 4u);
  for (const auto& d : h.seen) {
    const double norm = std::sqrt(double(d[0]) * d[0] + double(d[1]) * d[1] + double(d[2]) * d[2]);
    EXPECT_LE(norm, 0.5 * (1 + 1e-6));
    EXPECT_NEAR(norm, 0.5, 1e-6);  // every input was longer than C
  }
  EXPECT_NEAR(h.seen[0][0] / h.seen[0][1], 3.0 / 4.0, 1e-6);  // direction kept
}

TEST(CentralDp, NoiseHasConfiguredStdAndZeroMean) {
  CentralDpOptions o;
  o.noise_multiplier = 1.3;
  o.clip_norm = 0.7;
  const size_t dim = 200000;
  Harness h(100, 10, 1, dim, o);  // q = 0.1, W = 100
  auto a = h.dp->Start(h.Zero(), h.ctx);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(h.Round(*a, [&](const Task&) { return std::vector<float>(dim, 0.0f); }).ok());
  // Zero updates: the new model is the noise of the fixed-denominator
  // estimator, std z C / (q W) = 1.3 * 0.7 / 10.
  const auto& x = *h.dp->global_model().params;
  const double want_std = 1.3 * 0.7 / 10;
  double mean = 0, sq = 0;
  for (float v : x) mean += v;
  mean /= dim;
  for (float v : x) sq += (v - mean) * (v - mean);
  const double sd = std::sqrt(sq / (dim - 1));
  // 5-sigma bounds: mean ~ N(0, s^2/n); sample std ~ s (1 +- 1/sqrt(2n)).
  EXPECT_LE(std::abs(mean), 5 * want_std / std::sqrt(double(dim)));
  EXPECT_LE(std::abs(sd / want_std - 1), 5 / std::sqrt(2.0 * dim));
  EXPECT_GT(sd, 0.5 * want_std);
}

TEST(CentralDp, ClippedDenominatorNoiseUsesSensitivityTwoCOverQWmin) {
  CentralDpOptions o;
  o.noise_multiplier = 1.0;
  o.clip_norm = 1.0;
  o.fixed_denominator = false;
  o.min_weight_fraction = 0.5;  // q W_min = 0.1 * 50 = 5: std 2 z C / 5 = 0.4
  const size_t dim = 100000;
  Harness h(100, 10, 1, dim, o);
  auto a = h.dp->Start(h.Zero(), h.ctx);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(h.Round(*a, [&](const Task&) { return std::vector<float>(dim, 0.0f); }).ok());
  double sq = 0;
  for (float v : *h.dp->global_model().params) sq += double(v) * v;
  EXPECT_NEAR(std::sqrt(sq / dim) / 0.4, 1.0, 5 / std::sqrt(2.0 * dim));
}

TEST(CentralDp, FixedDenominatorEstimatorAndEpsilonInMetrics) {
  CentralDpOptions o;
  o.noise_multiplier = 0;  // exact estimator; epsilon infinite
  o.clip_norm = 100;
  Harness h(8, 2, 1, 1, o);  // q = 1/4, W = 8: f = sum / 2
  auto a = h.dp->Start(h.Zero(), h.ctx);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(h.Round(*a, [](const Task& t) { return std::vector<float>{t.client == 0 ? 1.0f : 3.0f + t.client}; }).ok());
  double raw = 0;
  for (const Task& t : a->dispatch) raw += t.client == 0 ? 1.0 : 3.0 + t.client;
  EXPECT_NEAR((*h.dp->global_model().params)[0], raw / 2.0, 1e-5);

  CentralDpOptions p;
  p.noise_multiplier = 1.1;
  Harness g(100, 1, 3, 2, p);  // q = 0.01
  auto b = g.dp->Start(g.Zero(), g.ctx);
  ASSERT_TRUE(b.ok());
  for (int r = 0; r < 3; ++r) {
    auto next = g.Round(*b, [](const Task&) { return std::vector<float>{0.1f, 0.2f}; });
    ASSERT_TRUE(next.ok());
    b = std::move(next);
    MetricsRow row;
    g.dp->ReportMetrics(row);
    RdpAccountant ref;
    ref.AddPoissonGaussian(0.01, 1.1, r + 1);
    EXPECT_NEAR(*row.GetNumber("epsilon"), ref.Epsilon(1e-5).epsilon, 1e-12);
  }
}

TEST(CentralDp, BudgetIsCheckedBeforeTheRunAndCanStopIt) {
  CentralDpOptions o;
  o.noise_multiplier = 1.1;
  o.budget_epsilon = 4.0;  // q = 0.1: ~50 rounds fit, 200 do not
  Harness h(100, 10, 200, 1, o);
  auto a = h.dp->Start(h.Zero(), h.ctx);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("budget"), std::string::npos);
  EXPECT_TRUE(h.seen.empty());

  o.stop_at_budget = true;
  Harness s(100, 10, 200, 1, o);
  auto b = s.dp->Start(s.Zero(), s.ctx);
  ASSERT_TRUE(b.ok());
  const int64_t allowed = s.dp->total_rounds();
  ASSERT_GT(allowed, 0);
  ASSERT_LT(allowed, 200);
  RdpAccountant acc;
  acc.AddPoissonGaussian(0.1, 1.1, allowed);
  EXPECT_LE(acc.Epsilon(1e-5).epsilon, 4.0);
  acc.AddPoissonGaussian(0.1, 1.1, 1);
  EXPECT_GT(acc.Epsilon(1e-5).epsilon, 4.0);
  Actions cur = *b;
  int64_t rounds = 0;
  while (!cur.done) {
    auto next = s.Round(cur, [](const Task&) { return std::vector<float>{0.0f}; });
    ASSERT_TRUE(next.ok());
    cur = *next;
    ++rounds;
  }
  EXPECT_EQ(rounds, allowed);
  MetricsRow row;
  s.dp->ReportMetrics(row);
  EXPECT_LE(*row.GetNumber("epsilon"), 4.0);
}

TEST(CentralDp, AdaptiveClipNormFollowsTheQuantile) {
  for (double norm : {10.0, 1e-4}) {
    CentralDpOptions o;
    o.adaptive_clipping = true;
    o.clip_norm = 0.1;
    o.noise_multiplier = 0.5;
    o.bits_noise = 0.5;
    Harness h(40, 20, 5, 1, o);
    auto a = h.dp->Start(h.Zero(), h.ctx);
    ASSERT_TRUE(a.ok());
    // z_D from the noise split: (z^-2 - (2 sigma_b)^-2)^-1/2.
    EXPECT_NEAR(h.dp->update_noise_multiplier(), std::pow(4.0 - 1.0, -0.5), 1e-12);
    Actions cur = *a;
    for (int r = 0; r < 5; ++r) cur = *h.Round(cur, [&](const Task&) { return std::vector<float>{float(norm)}; });
    // All updates above C: the clip norm grows; all below: it shrinks.
    if (norm > 1) EXPECT_GT(h.dp->clip_norm(), 0.1 * std::exp(0.2 * 0.3 * 5));
    else EXPECT_LT(h.dp->clip_norm(), 0.1 * std::exp(-0.2 * 0.3 * 5));
  }
}

TEST(CentralDp, InvalidSettingsGiveClearErrors) {
  auto make = [](const std::string& dp) {
    auto root = ConfigNode::Parse("strategy: {name: fedavg, dp: " + dp + "}\nclient: {}\n", "t.yaml");
    return MakeAlgorithm(root->Child("strategy"), root->Child("client"));
  };
  auto neg = make("{noise_multiplier: -1}");
  ASSERT_FALSE(neg.ok());
  EXPECT_NE(neg.status().message().find("strategy.dp.noise_multiplier"), std::string::npos) << neg.status().message();
  auto delta = make("{delta: 1.5}");
  ASSERT_FALSE(delta.ok());
  EXPECT_NE(delta.status().message().find("strategy.dp.delta"), std::string::npos);
  EXPECT_TRUE(make("{noise_multiplier: 0.8, clip_norm: 0.5}").ok());
  auto local = make("{level: local}");
  ASSERT_FALSE(local.ok());
  EXPECT_NE(local.status().message().find("local_noise"), std::string::npos);
}

}  // namespace
}  // namespace shoal::privacy
