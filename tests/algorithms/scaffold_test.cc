#include "algorithms/scaffold.h"

#include <gtest/gtest.h>

#include "tests/algorithms/quadratic_harness.h"

namespace shoal {
namespace {

using testing::RunQuadratic;

constexpr char kClient[] = "client: {epochs: 2, batch_size: 8, optimizer: {name: sgd, lr: 0.1}}\n";

double Ci(const testing::QuadraticRun& run, int client) { return run.states.at(client).tensors.at("scaffold.c_i")[0]; }
double C(const testing::QuadraticRun& run) {
  return dynamic_cast<const ScaffoldStrategy&>(*run.algorithm.strategy).control()[0];
}

TEST(Scaffold, OptionTwoRoundOneMatchesSpec) {
  auto run = RunQuadratic(std::string("strategy: {name: scaffold, rounds: 1, clients_per_round: 2}\n") + kClient, 1);
  ASSERT_TRUE(run.ok);
  EXPECT_NEAR(run.y[0].at(0), 0.38, 1e-6);
  EXPECT_NEAR(run.y[0].at(1), -0.51, 1e-6);
  EXPECT_NEAR(run.x[0], -0.065, 1e-6);
  EXPECT_NEAR(Ci(run, 0), -1.9, 1e-5);
  EXPECT_NEAR(Ci(run, 1), 2.55, 1e-5);
  EXPECT_NEAR(C(run), 0.325, 1e-5);
  // dc travels as an extra of the encoded update.
  EXPECT_NEAR(run.updates[0].at(1).extras.at("dc")[0], 2.55, 1e-5);
}

TEST(Scaffold, OptionTwoCarriesControlVariatesIntoRoundTwo) {
  auto run = RunQuadratic(std::string("strategy: {name: scaffold, rounds: 2, clients_per_round: 2}\n") + kClient, 2);
  ASSERT_TRUE(run.ok);
  EXPECT_NEAR(run.y[1].at(0), -0.0954, 1e-5);
  EXPECT_NEAR(run.y[1].at(1), -0.1636, 1e-5);
  EXPECT_NEAR(run.x[1], -0.1295, 1e-5);
  EXPECT_NEAR(Ci(run, 0), -2.073, 1e-4);
  EXPECT_NEAR(Ci(run, 1), 2.718, 1e-4);
  EXPECT_NEAR(C(run), 0.3225, 1e-5);
}

TEST(Scaffold, OptionOneUsesTheGradientAtTheServerModel) {
  auto run = RunQuadratic(std::string("strategy: {name: scaffold, rounds: 2, clients_per_round: 2, option: I}\n") +
                              kClient, 2);
  ASSERT_TRUE(run.ok);
  EXPECT_NEAR(run.x[0], -0.065, 1e-6);
  EXPECT_NEAR(run.y[1].at(0), -0.14765, 1e-5);
  EXPECT_NEAR(run.y[1].at(1), -0.11685, 1e-5);
  EXPECT_NEAR(run.x[1], -0.13225, 1e-5);
  EXPECT_NEAR(Ci(run, 0), -2.065, 1e-5);
  EXPECT_NEAR(Ci(run, 1), 2.805, 1e-5);
  EXPECT_NEAR(C(run), 0.37, 1e-5);
}

TEST(Scaffold, BadValuesNameTheKey) {
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: scaffold, option: III}\n", "option"));
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: scaffold, server_lr: 0}\n", "server_lr"));
}

}  // namespace
}  // namespace shoal
