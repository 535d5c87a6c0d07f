#include "algorithms/fedopt.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/algorithms/quadratic_harness.h"

namespace shoal {
namespace {

using testing::RunQuadratic;

constexpr char kClient[] = "client: {epochs: 2, batch_size: 8, optimizer: {name: sgd, lr: 0.1}}\n";

testing::QuadraticRun RunOpt(const std::string& strategy, int rounds) {
  return RunQuadratic("strategy: {rounds: " + std::to_string(rounds) + ", clients_per_round: 2, server_lr: 0.1, " +
                          strategy + "}\n" + kClient,
                      rounds);
}

const FedOptStrategy& Opt(const testing::QuadraticRun& r) {
  return dynamic_cast<const FedOptStrategy&>(*r.algorithm.strategy);
}

TEST(FedOpt, AdagradRoundOneMatchesSpec) {
  auto run = RunOpt("name: fedadagrad", 1);
  ASSERT_TRUE(run.ok);
  EXPECT_NEAR(Opt(run).first_moment()[0], -0.0065, 1e-8);
  EXPECT_NEAR(Opt(run).second_moment()[0], 0.004226, 1e-8);
  EXPECT_NEAR(run.x[0], -0.0098473, 1e-6);
}

TEST(FedOpt, AdamRoundOneMatchesSpec) {
  auto run = RunOpt("name: fedadam", 1);
  ASSERT_TRUE(run.ok);
  EXPECT_NEAR(Opt(run).second_moment()[0], 4.324e-5, 1e-9);
  EXPECT_NEAR(run.x[0], -0.0858005, 1e-6);
}

TEST(FedOpt, YogiRoundOneMatchesSpec) {
  auto run = RunOpt("name: fedyogi", 1);
  ASSERT_TRUE(run.ok);
  EXPECT_NEAR(Opt(run).second_moment()[0], 4.325e-5, 1e-9);
  EXPECT_NEAR(run.x[0], -0.0857919, 1e-6);
}

TEST(FedOpt, SampleWeightingOption) {
  auto run = RunOpt("name: fedadam, weighting: samples", 1);
  ASSERT_TRUE(run.ok);
  EXPECT_NEAR(run.x[0], -0.0965828, 1e-6);
}

TEST(FedOpt, AdamStateCarriesIntoRoundTwo) {
  // Independent double-precision replay of Reddi et al. Alg. 2 on the toy clients.
  auto run = RunOpt("name: fedadam", 2);
  ASSERT_TRUE(run.ok);
  testing::Toy toy;
  double x = 0, m = 0, v = 1e-6;
  for (int r = 0; r < 2; ++r) {
    double delta = 0.5 * ((toy.Gd(0, x) - x) + (toy.Gd(1, x) - x));
    m = 0.9 * m + 0.1 * delta;
    v = 0.99 * v + 0.01 * delta * delta;
    x += 0.1 * m / (std::sqrt(v) + 1e-3);
    EXPECT_NEAR(run.x[static_cast<size_t>(r)], x, 1e-5) << "round " << r + 1;
  }
}

TEST(FedOpt, BiasCorrectionOptionDividesTheMoments) {
  // t = 1: m / (1 - beta1) = Delta, v / (1 - beta2) = tau^2 + Delta^2 (approx):
  // x1 = 0.1 * Delta / (sqrt((0.99e-6 + 0.01 Delta^2) / 0.01) + tau).
  auto run = RunOpt("name: fedadam, bias_correction: true", 1);
  ASSERT_TRUE(run.ok);
  const double d = -0.065;
  EXPECT_NEAR(run.x[0], 0.1 * d / (std::sqrt((0.99e-6 + 0.01 * d * d) / 0.01) + 1e-3), 1e-6);
}

TEST(FedOpt, BadValuesNameTheKey) {
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: fedadam, beta1: 1.0}\n", "beta1"));
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: fedyogi, beta2: -0.1}\n", "beta2"));
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: fedadagrad, tau: 0}\n", "tau"));
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: fedadam, server_lr: -1}\n", "server_lr"));
}

}  // namespace
}  // namespace shoal
