#include "algorithms/fedprox.h"

#include <gtest/gtest.h>

#include "tests/algorithms/quadratic_harness.h"

namespace shoal {
namespace {

using testing::RunQuadratic;

constexpr char kClient[] = "client: {epochs: 2, batch_size: 8, optimizer: {name: sgd, lr: 0.1}}\n";

TEST(FedProx, ProximalLocalStepsAndUniformMeanMatchSpec) {
  // mu = 1: y = (0.36, -0.48); simple mean -0.06 (shared/ALGORITHMS.md §2).
  auto run = RunQuadratic(std::string("strategy: {name: fedprox, rounds: 1, clients_per_round: 2, mu: 1, "
                                      "sampling: uniform}\n") + kClient, 1);
  ASSERT_TRUE(run.ok);
  EXPECT_NEAR(run.y[0].at(0), 0.36, 1e-6);
  EXPECT_NEAR(run.y[0].at(1), -0.48, 1e-6);
  EXPECT_NEAR(run.x[0], -0.06, 1e-6);
}

TEST(FedProx, CodeModeUsesSampleWeightedMean) {
  auto run = RunQuadratic(std::string("strategy: {name: fedprox, rounds: 1, clients_per_round: 2, mu: 1, "
                                      "mode: code}\n") + kClient, 1);
  ASSERT_TRUE(run.ok);
  EXPECT_NEAR(run.x[0], -0.27, 1e-6);
}

TEST(FedProx, MuZeroIsFedAvgClient) {
  auto run = RunQuadratic(std::string("strategy: {name: fedprox, rounds: 1, clients_per_round: 2, mu: 0, "
                                      "mode: code}\n") + kClient, 1);
  ASSERT_TRUE(run.ok);
  EXPECT_NEAR(run.y[0].at(0), 0.38, 1e-6);
  EXPECT_NEAR(run.x[0], -0.2875, 1e-6);
}

TEST(FedProx, StragglersRunFewerEpochsAndAreStillAggregated) {
  // E = 2 and every selected client a straggler: U{1..E-1} = 1 epoch, one GD
  // step from 0 (prox term 0 at x): y = (0.2, -0.3), mean -0.05.
  auto run = RunQuadratic(std::string("strategy: {name: fedprox, rounds: 1, clients_per_round: 2, mu: 1, "
                                      "sampling: uniform, straggler_fraction: 1}\n") + kClient, 1);
  ASSERT_TRUE(run.ok);
  EXPECT_EQ(run.updates[0].at(0).steps, 1);
  EXPECT_NEAR(run.y[0].at(0), 0.2, 1e-6);
  EXPECT_NEAR(run.y[0].at(1), -0.3, 1e-6);
  EXPECT_NEAR(run.x[0], -0.05, 1e-6);
}

TEST(FedProx, ProportionalSamplingFollowsSampleShares) {
  // p = (0.25, 0.75): over 4000 single-client rounds client 1 is drawn ~75%.
  auto root = ConfigNode::Parse("strategy: {name: fedprox, rounds: 4000, clients_per_round: 1}\n", "t.yaml").value();
  auto alg = MakeAlgorithm(root.Child("strategy"), root.Child("client")).value();
  ParamLayout layout;
  layout.Add("w", {1});
  StrategyContext ctx = testing::ToyContext(layout);
  auto a = alg.strategy->Start(testing::Scalar(0.0), ctx).value();
  int ones = 0, total = 0;
  while (!a.done) {
    ASSERT_EQ(a.dispatch.size(), 1u);
    const Task t = a.dispatch[0];
    ones += t.client == 1;
    ++total;
    a = alg.strategy->OnResult(testing::ResultFor(t, 0.0, 1), ctx).value();
  }
  EXPECT_EQ(total, 4000);
  EXPECT_NEAR(static_cast<double>(ones) / total, 0.75, 0.03);  // > 4 sigma
}

TEST(FedProx, BadValuesNameTheKey) {
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: fedprox, mu: -1}\n", "mu"));
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: fedprox, straggler_fraction: 1.5}\n", "straggler_fraction"));
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: fedprox, sampling: random}\n", "sampling"));
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: fedprox, mode: paperish}\n", "mode"));
}

}  // namespace
}  // namespace shoal
