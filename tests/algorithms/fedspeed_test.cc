#include "algorithms/fedspeed.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/algorithms/quadratic_harness.h"

namespace shoal {
namespace {

using testing::RunQuadratic;

// shared/ALGORITHMS.md §9 test: lambda = 1, rho = 0.1, K = 2, eta_l = 0.1.
std::string Yaml(const std::string& extra, int rounds = 1) {
  return "strategy: {name: fedspeed, rounds: " + std::to_string(rounds) +
         ", clients_per_round: 2, lambda: 1, rho: 0.1" + extra +
         "}\nclient: {epochs: 2, batch_size: 8, optimizer: {name: sgd, lr: 0.1}}\n";
}

double Ghat(const testing::QuadraticRun& run, int c) { return run.states.at(c).tensors.at("fedspeed.ghat")[0]; }

TEST(FedSpeed, NormalisedPerturbationMatchesSpec) {
  auto run = RunQuadratic(Yaml(""), 1);
  ASSERT_TRUE(run.ok);
  EXPECT_NEAR(run.y[0].at(0), 0.756, 1e-6);   // xhat
  EXPECT_NEAR(run.y[0].at(1), -1.056, 1e-6);
  EXPECT_NEAR(Ghat(run, 0), -0.378, 1e-6);
  EXPECT_NEAR(Ghat(run, 1), 0.528, 1e-6);
  EXPECT_NEAR(run.x[0], -0.15, 1e-6);
}

TEST(FedSpeed, RawPerturbationAndAlphaZero) {
  auto raw = RunQuadratic(Yaml(", perturbation: raw"), 1);
  EXPECT_NEAR(raw.y[0].at(0), 0.7876, 1e-6);
  EXPECT_NEAR(raw.y[0].at(1), -1.1778, 1e-6);
  EXPECT_NEAR(raw.x[0], -0.1951, 1e-6);
  auto plain = RunQuadratic(Yaml(", alpha: 0"), 1);
  EXPECT_NEAR(plain.y[0].at(0), 0.72, 1e-6);
  EXPECT_NEAR(plain.y[0].at(1), -0.96, 1e-6);
  EXPECT_NEAR(plain.x[0], -0.12, 1e-6);
}

TEST(FedSpeed, CodeServerSendsLocalModelAndAveragesCorrections) {
  auto run = RunQuadratic(Yaml(", server: code_all_clients"), 1);
  ASSERT_TRUE(run.ok);
  EXPECT_NEAR(run.y[0].at(0), 0.378, 1e-6);  // x_K as sent
  EXPECT_NEAR(run.y[0].at(1), -0.528, 1e-6);
  EXPECT_NEAR(run.x[0], -0.15, 1e-6);        // equals the paper rule under full participation
}

TEST(FedSpeed, CorrectionStateCarriesIntoRoundTwo) {
  // Independent double replay of the paper form (normalised, alpha = 1).
  auto run = RunQuadratic(Yaml("", 2), 2);
  ASSERT_TRUE(run.ok);
  testing::Toy toy;
  double x = 0, ghat[2] = {0, 0};
  for (int r = 0; r < 2; ++r) {
    double sum = 0;
    for (int i = 0; i < 2; ++i) {
      double y = x;
      for (int k = 0; k < 2; ++k) {
        double g1 = toy.grad(i, y);
        double g2 = toy.grad(i, y + 0.1 * g1 / (std::abs(g1) + 1e-7));
        y -= 0.1 * (g2 - ghat[i] + (y - x));
      }
      ghat[i] -= (y - x);
      sum += y - ghat[i];
    }
    x = sum / 2;
    EXPECT_NEAR(run.x[static_cast<size_t>(r)], x, 1e-5) << "round " << r + 1;
  }
  EXPECT_NEAR(Ghat(run, 0), ghat[0], 1e-5);
  EXPECT_NEAR(Ghat(run, 1), ghat[1], 1e-5);
}

TEST(FedSpeed, BadValuesNameTheKey) {
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: fedspeed, lambda: 0}\n", "lambda"));
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: fedspeed, alpha: 2}\n", "alpha"));
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: fedspeed, rho: -1}\n", "rho"));
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: fedspeed, server: all}\n", "server"));
}

}  // namespace
}  // namespace shoal
