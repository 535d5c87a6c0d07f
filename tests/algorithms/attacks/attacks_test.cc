// Gradient-inversion attacks: exact input derivative vs finite differences,
// label recovery, analytic recovery, DLG / IG progress, probe decorator.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "algorithms/attacks/analytic.h"
#include "algorithms/attacks/campaign.h"
#include "algorithms/attacks/gradient_oracle.h"
#include "algorithms/attacks/inversion.h"
#include "algorithms/attacks/label_recovery.h"
#include "algorithms/attacks/probe.h"
#include "algorithms/transforms/transform.h"
#include "core/data.h"
#include "tests/algorithms/attacks/attack_fixtures.h"

namespace shoal::attacks {
namespace {

using testing_fixtures::Be;
using testing_fixtures::Mlp;
using testing_fixtures::Randn;
using testing_fixtures::RelErr;
using testing_fixtures::SixteenImages;

TEST(GradientOracle, MixedVjpMatchesCentralDifferences) {
  Mlp m;
  const std::vector<double> u = Randn(m.theta.size(), 5);
  std::vector<double> dx(m.x.size()), hu(m.theta.size());
  m.oracle->MixedVjp(m.theta, m.x, m.y, u, dx, hu);
  // FD of grad_x L along theta + h u (PRIVACY.md §2.7 path 3).
  double tn = 0, un = 0;
  for (size_t i = 0; i < u.size(); ++i) { tn += m.theta[i] * m.theta[i]; un += u[i] * u[i]; }
  const double h = 1e-5 * std::max(1.0, std::sqrt(tn)) / std::sqrt(un);
  std::vector<double> tp = m.theta, tm = m.theta;
  for (size_t i = 0; i < u.size(); ++i) { tp[i] += h * u[i]; tm[i] -= h * u[i]; }
  const std::vector<double> gp = m.InputGrad(tp), gm = m.InputGrad(tm);
  std::vector<double> fd(dx.size());
  for (size_t i = 0; i < fd.size(); ++i) fd[i] = (gp[i] - gm[i]) / (2 * h);
  EXPECT_LT(RelErr(dx, fd), 1e-4);
  // Same pass: Hessian-vector product in theta.
  const std::vector<double> pp = m.ParamGrad(tp), pm = m.ParamGrad(tm);
  std::vector<double> fdh(hu.size());
  for (size_t i = 0; i < fdh.size(); ++i) fdh[i] = (pp[i] - pm[i]) / (2 * h);
  EXPECT_LT(RelErr(hu, fdh), 1e-4);
}

TEST(GradientOracle, MatchingObjectiveGradientMatchesDirectionalDifferences) {
  Mlp m;
  // A target gradient from other inputs; observed through a count sketch.
  std::vector<double> g_true(m.theta.size());
  const std::vector<double> x_true = Randn(32, 9, 0.5);
  m.oracle->Gradient(m.theta, x_true, m.y, g_true);
  // An independent double-precision count sketch P = R^T R (500 buckets).
  const size_t np = static_cast<size_t>(m.oracle->num_params());
  std::vector<size_t> bucket(np);
  std::vector<double> sign(np);
  RngStream hr(4, 0, 0, RngPurpose::kAttack);
  for (size_t i = 0; i < np; ++i) {
    bucket[i] = hr.NextBelow(500);
    sign[i] = (hr.NextU32() & 1) ? 1.0 : -1.0;
  }
  auto rtr = [&](std::span<const double> in, std::span<double> out) {
    std::vector<double> y(500, 0.0);
    for (size_t i = 0; i < np; ++i) y[bucket[i]] += sign[i] * in[i];
    for (size_t i = 0; i < np; ++i) out[i] = sign[i] * y[bucket[i]];
  };
  for (bool sketch : {false, true}) {
    for (MatchCost cost : {MatchCost::kL2, MatchCost::kCosine}) {
      const ObservationMap map = sketch ? ObservationMap::SymmetricLinear(m.oracle->num_params(), rtr)
                                        : ObservationMap(m.oracle->num_params());
      std::vector<double> target(map.output_dim());
      map.Apply(g_true, target);
      InversionProblem p;
      p.oracle = m.oracle.get();
      p.theta0 = m.theta;
      p.target = target;
      p.obs = &map;
      p.labels = m.y;
      p.shape = {1, 4, 4};
      std::vector<double> dx(m.x.size(), 0.0);
      MatchingObjective(p, m.theta, m.x, cost, 0.01, dx, {}, nullptr);
      const std::vector<double> v = Randn(m.x.size(), 21);
      const double eps = 1e-6;
      std::vector<double> xp = m.x, xm = m.x, scratch(m.x.size());
      for (size_t i = 0; i < v.size(); ++i) { xp[i] += eps * v[i]; xm[i] -= eps * v[i]; }
      const double fp = MatchingObjective(p, m.theta, xp, cost, 0.01, scratch, {}, nullptr);
      const double fm = MatchingObjective(p, m.theta, xm, cost, 0.01, scratch, {}, nullptr);
      double dir = 0;
      for (size_t i = 0; i < v.size(); ++i) dir += dx[i] * v[i];
      EXPECT_NEAR(dir, (fp - fm) / (2 * eps), 1e-4 * std::max(1.0, std::abs(dir)))
          << "sketch " << sketch << " cost " << static_cast<int>(cost);
    }
  }
}

TEST(Attacks, IdlgAndAnalyticRecoverMlpBatchOne) {
  const Dataset data = SixteenImages();
  auto model = Model<float>::Create("mlp", {1, 28, 28}, 10).value();
  auto params = std::make_shared<std::vector<float>>(model->num_params());
  model->Init(*params, 0);
  auto oracle = GradientOracle::Create("mlp", {1, 28, 28}, 10, Be()).value();
  AttackSpec idlg, analytic;
  idlg.kind = AttackKind::kIdlg;
  analytic.kind = AttackKind::kAnalytic;
  double acc = 0, psnr = 0;
  for (int i = 0; i < 16; ++i) {
    // The client: one SGD step (lr 0.05) on its single image.
    std::vector<float> g(model->num_params());
    model->LossAndGrad(Be(), *params, data.row(i), &data.y[i], 1, g);
    Observation obs{0, i, static_cast<uint64_t>(i), params, {}};
    obs.update.delta.resize(g.size());
    for (size_t k = 0; k < g.size(); ++k) obs.update.delta[k] = -0.05f * g[k];
    obs.update.num_samples = 1;
    obs.update.steps = 1;
    const std::vector<int64_t> idx = {i};
    AttackEnv env;
    env.oracle = oracle.get();
    env.data = &data;
    env.client_indices = idx;
    env.shape = {1, 28, 28};
    auto r1 = RunAttack(idlg, obs, env);
    ASSERT_TRUE(r1.ok()) << r1.status().message();
    acc += r1->label_acc / 16;
    auto r2 = RunAttack(analytic, obs, env);
    ASSERT_TRUE(r2.ok()) << r2.status().message();
    psnr += r2->psnr / 16;
  }
  EXPECT_EQ(acc, 1.0);
  EXPECT_GE(psnr, 40.0);
}

TEST(Attacks, LabelCountsRecoverBatchLabels) {
  const Dataset data = SixteenImages();
  auto model = Model<double>::Create("mlp", {1, 28, 28}, 10).value();
  std::vector<double> theta(model->num_params()), g(theta.size());
  model->Init(theta, 0);
  std::vector<double> x(data.x.begin(), data.x.begin() + 8 * 784);
  std::vector<int32_t> y(data.y.begin(), data.y.begin() + 8);
  model->LossAndGrad(Be(), theta, x.data(), y.data(), 8, g);
  // pbar from the true inputs: the recovery is then exact up to rounding.
  const double* logits = model->Forward(Be(), theta, x.data(), 8);
  std::vector<double> pbar(10, 0.0);
  for (int b = 0; b < 8; ++b) {
    double mx = -1e300, s = 0;
    for (int j = 0; j < 10; ++j) mx = std::max(mx, logits[b * 10 + j]);
    for (int j = 0; j < 10; ++j) s += std::exp(logits[b * 10 + j] - mx);
    for (int j = 0; j < 10; ++j) pbar[j] += std::exp(logits[b * 10 + j] - mx) / s / 8;
  }
  auto labels = RecoverLabelCounts(model->layout(), g, 8, pbar);
  ASSERT_TRUE(labels.ok());
  EXPECT_EQ(LabelMultisetAccuracy(*labels, y), 1.0);
}

// A tiny model (6x6 images, 36-12-4) for fast optimisation checks.
struct Tiny {
  std::unique_ptr<GradientOracle> oracle;
  std::vector<double> theta, target, x_true;
  std::vector<int32_t> y = {1};
  ObservationMap map{0};
  Tiny() {
    auto make = [](auto tag) {
      using T = decltype(tag);
      std::vector<std::unique_ptr<Layer<T>>> l;
      l.push_back(MakeLinear<T>(36, 12));
      l.push_back(MakeReLU<T>());
      l.push_back(MakeLinear<T>(12, 4));
      return std::make_unique<Model<T>>("tiny", std::vector<int>{1, 6, 6}, std::move(l));
    };
    oracle = std::make_unique<GradientOracle>(make(double{}), make(Dual<double>{}), Be());
    theta.resize(oracle->num_params());
    make(double{})->Init(theta, 3);
    RngStream rng(4, 0, 0, RngPurpose::kAttack);
    for (int i = 0; i < 36; ++i) x_true.push_back(rng.NextDouble());
    target.resize(theta.size());
    oracle->Gradient(theta, x_true, y, target);
    map = ObservationMap(oracle->num_params());
  }
  InversionProblem Problem() {
    InversionProblem p;
    p.oracle = oracle.get();
    p.theta0 = theta;
    p.target = target;
    p.obs = &map;
    p.labels = y;
    p.shape = {1, 6, 6};
    return p;
  }
  double Psnr(const std::vector<double>& x) {
    std::vector<float> a(x.begin(), x.end()), b(x_true.begin(), x_true.end());
    return attacks::Psnr(a, b);
  }
};

TEST(Attacks, InvertingGradientsImprovesPsnr) {
  Tiny t;
  InversionOptions o;
  o.tv = 0;
  o.iterations = 1;
  const double before = t.Psnr(InvertAdam(t.Problem(), o, RngStream(1, 0, 0, RngPurpose::kAttack)).x);
  o.iterations = 400;
  const InversionResult r = InvertAdam(t.Problem(), o, RngStream(1, 0, 0, RngPurpose::kAttack));
  const double after = t.Psnr(r.x);
  EXPECT_GT(after, before + 10.0) << before << " -> " << after;
  EXPECT_LT(r.match, 1e-3);
}

TEST(Attacks, DlgLbfgsReconstructsTinyModel) {
  Tiny t;
  InversionOptions o;
  o.cost = MatchCost::kL2;
  o.tv = 0;
  o.iterations = 100;
  const InversionResult r = InvertLbfgs(t.Problem(), o, RngStream(2, 0, 0, RngPurpose::kAttack));
  EXPECT_GT(t.Psnr(r.x), 30.0);
}

// Probe decorator: observes exactly the result the inner strategy receives,
// with the model of the task that produced it.
class StubStrategy final : public Strategy {
 public:
  std::string name() const override { return "stub"; }
  Result<Actions> Start(ModelSnapshot initial, StrategyContext&) override {
    model_ = initial;
    Actions a;
    for (int c = 0; c < 2; ++c) a.dispatch.push_back(Task{static_cast<uint64_t>(c + 1), 0, c, initial, {}, {}});
    return a;
  }
  Result<Actions> OnResult(ClientResult&& r, StrategyContext&) override {
    seen.push_back(r.client);
    return Actions{};
  }
  Result<Actions> OnFailure(const ClientFailure&, StrategyContext&) override { return Actions{}; }
  Result<Actions> OnWake(StrategyContext&) override { return Actions{}; }
  const ModelSnapshot& global_model() const override { return model_; }
  int64_t rounds_done() const override { return 0; }
  int64_t total_rounds() const override { return 1; }
  std::vector<int> seen;

 private:
  ModelSnapshot model_;
};

TEST(ProbeStrategy, ObservesWantedResultsWithTheirTaskModel) {
  auto inner = std::make_unique<StubStrategy>();
  StubStrategy* stub = inner.get();
  std::vector<Observation> got;
  ProbeStrategy probe(std::move(inner), [](int64_t, int client) { return client == 1; },
                      [&](Observation&& o) { got.push_back(std::move(o)); });
  auto params = std::make_shared<const std::vector<float>>(std::vector<float>{1.5f, -2.0f});
  StrategyContext ctx;
  auto a = probe.Start(ModelSnapshot{0, params}, ctx);
  ASSERT_TRUE(a.ok());
  for (const Task& t : a->dispatch) {
    ClientResult r;
    r.task_id = t.task_id;
    r.client = t.client;
    r.update.delta = {0.25f, static_cast<float>(t.client)};
    ASSERT_TRUE(probe.OnResult(std::move(r), ctx).ok());
  }
  EXPECT_EQ(stub->seen, (std::vector<int>{0, 1}));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].client, 1);
  EXPECT_EQ(got[0].model, params);
  EXPECT_EQ(got[0].update.delta, (std::vector<float>{0.25f, 1.0f}));
}

TEST(AttackConfig, RejectsUnknownAttackAndTheRemovedDefenseSection) {
  auto bad = ConfigNode::Parse("attacks:\n  - {name: magic}\n", "t.yaml").value();
  auto r = ParseAttackConfig(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("one of idlg"), std::string::npos) << r.status().message();
  auto old = ConfigNode::Parse("attacks:\n  - {name: ig}\nattack_defense: {sketch_size: 100}\n", "t.yaml").value();
  auto r2 = ParseAttackConfig(old);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find("client.pipeline"), std::string::npos) << r2.status().message();
}

}  // namespace
}  // namespace shoal::attacks
