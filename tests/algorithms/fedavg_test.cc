#include "algorithms/fedavg.h"

#include <gtest/gtest.h>

#include "algorithms/registry.h"
#include "core/config.h"
#include "tests/algorithms/toy_problem.h"

namespace shoal {
namespace {

using testing::Toy;

// Runs `rounds` rounds of a FedAvg-family strategy on the toy problem with
// full participation, answering every task with E = 2 GD steps.
std::vector<double> RunToy(const std::string& yaml, int rounds) {
  auto root = ConfigNode::Parse(yaml, "t.yaml").value();
  auto alg = MakeAlgorithm(root.Child("strategy"), root.Child("client"));
  EXPECT_TRUE(alg.ok()) << alg.status().ToString();
  Strategy& s = *alg->strategy;
  ParamLayout layout;
  layout.Add("w", {1});
  StrategyContext ctx = testing::ToyContext(layout);
  Toy toy;
  std::vector<double> xs;
  auto actions = s.Start(testing::Scalar(0.0), ctx);
  EXPECT_TRUE(actions.ok());
  for (int r = 0; r < rounds; ++r) {
    std::vector<Task> tasks = actions->dispatch;
    EXPECT_EQ(tasks.size(), 2u);
    Actions last;
    for (const Task& t : tasks) {
      double x = (*t.model.params)[0];
      auto a = s.OnResult(testing::ResultFor(t, toy.Gd(t.client, x), toy.n[t.client]), ctx);
      EXPECT_TRUE(a.ok());
      last = std::move(a).value();
    }
    EXPECT_TRUE(last.model_changed);
    xs.push_back((*s.global_model().params)[0]);
    actions = std::move(last);
  }
  return xs;
}

TEST(FedAvg, ClientGdStepsMatchSpec) {
  Toy toy;  // local y = (0.38, -0.51) from w0 = 0 (shared/ALGORITHMS.md §1)
  EXPECT_NEAR(toy.Gd(0, 0.0), 0.38, 1e-12);
  EXPECT_NEAR(toy.Gd(1, 0.0), -0.51, 1e-12);
}

TEST(FedAvg, SampleWeightedAverageMatchesHandValue) {
  // x1 = (1 * 0.38 + 3 * (-0.51)) / 4 = -0.2875
  auto xs = RunToy("strategy: {name: fedavg, rounds: 1, clients_per_round: 2}\n", 1);
  EXPECT_NEAR(xs[0], -0.2875, 1e-6);
}

TEST(FedAvg, UniformWeightingMatchesHandValue) {
  auto xs = RunToy("strategy: {name: fedavg, rounds: 1, clients_per_round: 2, weighting: uniform}\n", 1);
  EXPECT_NEAR(xs[0], -0.065, 1e-6);
}

TEST(FedAvg, ServerLearningRateScalesTheMeanDelta) {
  auto xs = RunToy("strategy: {name: fedavg, rounds: 1, clients_per_round: 2, server_lr: 0.5}\n", 1);
  EXPECT_NEAR(xs[0], 0.5 * -0.2875, 1e-6);
}

TEST(FedAvgM, TwoRoundsMatchSpec) {
  // beta = 0.9, eta_g = 1: round 1 x = -0.2875 (v = 0.2875 in the spec's sign),
  // round 2 x = -0.710125 (v = 0.422625).
  auto xs = RunToy("strategy: {name: fedavgm, rounds: 2, clients_per_round: 2}\n", 2);
  EXPECT_NEAR(xs[0], -0.2875, 1e-6);
  EXPECT_NEAR(xs[1], -0.710125, 1e-6);
}

TEST(FedAvg, StaleResultsAreIgnoredAndDeadlineClosesRound) {
  auto root = ConfigNode::Parse("strategy: {name: fedavg, rounds: 3, clients_per_round: 2, deadline_s: 5}\n", "t.yaml").value();
  auto alg = MakeAlgorithm(root.Child("strategy"), root.Child("client")).value();
  ParamLayout layout;
  layout.Add("w", {1});
  StrategyContext ctx = testing::ToyContext(layout);
  auto a = alg.strategy->Start(testing::Scalar(0.0), ctx).value();
  ASSERT_EQ(a.dispatch.size(), 2u);
  ASSERT_TRUE(a.wake_after_us.has_value());
  EXPECT_EQ(*a.wake_after_us, 5000000);
  // Only client 0's result arrives before the deadline.
  const Task& t0 = a.dispatch[0].client == 0 ? a.dispatch[0] : a.dispatch[1];
  const Task& t1 = a.dispatch[0].client == 0 ? a.dispatch[1] : a.dispatch[0];
  auto r = alg.strategy->OnResult(testing::ResultFor(t0, 0.38, 1), ctx).value();
  EXPECT_FALSE(r.model_changed);
  ctx.now_us = 5000000;
  auto w = alg.strategy->OnWake(ctx).value();
  EXPECT_TRUE(w.model_changed);
  ASSERT_EQ(w.cancel_tasks.size(), 1u);
  EXPECT_EQ(w.cancel_tasks[0], t1.task_id);
  EXPECT_NEAR((*alg.strategy->global_model().params)[0], 0.38, 1e-6);  // only client 0 aggregated
  // The straggler's late result is ignored: the model does not move.
  auto late = alg.strategy->OnResult(testing::ResultFor(t1, -0.51, 3), ctx).value();
  EXPECT_FALSE(late.model_changed);
  EXPECT_NEAR((*alg.strategy->global_model().params)[0], 0.38, 1e-6);
  // The round-1 timer that fires at 5 s is stale once round 2 armed its own at 10 s.
  ctx.now_us = 5000001;
  EXPECT_FALSE(alg.strategy->OnWake(ctx).value().model_changed);
}

TEST(FedAvg, InvalidOptionsAreRejectedWithKeyNames) {
  for (const char* bad : {"strategy: {name: fedavg, rounds: 0}\n", "strategy: {name: fedavg, server_momentum: 1.5}\n",
                          "strategy: {name: fedavg, weighting: median}\n", "strategy: {name: fedavgx}\n",
                          "client: {optimizer: {name: sgd, lr: -1}}\n", "client: {optimizer: {name: adamz}}\n"}) {
    auto root = ConfigNode::Parse(bad, "bad.yaml").value();
    auto alg = MakeAlgorithm(root.Child("strategy"), root.Child("client"));
    EXPECT_FALSE(alg.ok()) << bad;
    EXPECT_NE(alg.status().message().find("bad.yaml"), std::string::npos) << alg.status().message();
  }
}

}  // namespace
}  // namespace shoal
