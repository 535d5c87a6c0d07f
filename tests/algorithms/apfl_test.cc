#include "algorithms/apfl.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/algorithms/quadratic_harness.h"

namespace shoal {
namespace {

using testing::PersonalOf;
using testing::RunQuadratic;

// shared/ALGORITHMS.md §8 test: alpha = 0.5, eta = eta_alpha = 0.1, v = w = 0.
std::string Yaml(int epochs, int rounds, const std::string& extra = ", adaptive: true") {
  return "strategy: {name: apfl, rounds: " + std::to_string(rounds) + ", clients_per_round: 2, alpha: 0.5" + extra +
         "}\nclient: {epochs: " + std::to_string(epochs) + ", batch_size: 8, optimizer: {name: sgd, lr: 0.1}}\n";
}

double Alpha(const testing::QuadraticRun& run, int c) { return run.states.at(c).scalars.at("apfl.alpha"); }

TEST(Apfl, OneStepMatchesSpec) {
  auto run = RunQuadratic(Yaml(1, 1), 1);
  ASSERT_TRUE(run.ok);
  EXPECT_NEAR(run.y[0].at(0), 0.2, 1e-6);
  EXPECT_NEAR(run.y[0].at(1), -0.3, 1e-6);
  EXPECT_NEAR(Alpha(run, 0), 0.5, 1e-12);  // v = w at the step: no alpha change
  EXPECT_NEAR(PersonalOf(run, 0, run.x[0]), 0.15, 1e-6);   // vbar
  EXPECT_NEAR(PersonalOf(run, 1, run.x[0]), -0.225, 1e-6);
}

TEST(Apfl, TwoStepsWithAdaptiveAlphaMatchSpec) {
  auto run = RunQuadratic(Yaml(2, 1), 1);
  ASSERT_TRUE(run.ok);
  EXPECT_NEAR(run.y[0].at(0), 0.38, 1e-6);
  EXPECT_NEAR(run.y[0].at(1), -0.51, 1e-6);
  EXPECT_NEAR(Alpha(run, 0), 0.4815, 1e-6);
  EXPECT_NEAR(Alpha(run, 1), 0.465125, 1e-6);
  EXPECT_NEAR(PersonalOf(run, 0, run.x[0]), 0.28971875, 1e-6);
  EXPECT_NEAR(PersonalOf(run, 1, run.x[0]), -0.39662578125, 1e-6);
  EXPECT_NEAR(run.x[0], -0.065, 1e-6);  // uniform mean of w_i
}

TEST(Apfl, FixedAlphaByDefault) {
  auto run = RunQuadratic(Yaml(2, 1, ""), 1);
  EXPECT_NEAR(Alpha(run, 0), 0.5, 1e-12);
}

TEST(Apfl, PersonalStateCarriesIntoRoundTwo) {
  // Independent double replay of the paper's per-step rule over two rounds:
  // v_i and alpha_i persist, w_i restarts from the new global model.
  auto run = RunQuadratic(Yaml(2, 2), 2);
  ASSERT_TRUE(run.ok);
  testing::Toy toy;
  double x = 0, v[2] = {0, 0}, alpha[2] = {0.5, 0.5}, w[2];
  for (int r = 0; r < 2; ++r) {
    for (int i = 0; i < 2; ++i) {
      w[i] = x;
      for (int s = 0; s < 2; ++s) {
        double vbar = alpha[i] * v[i] + (1 - alpha[i]) * w[i];
        double gw = toy.grad(i, w[i]), gv = toy.grad(i, vbar);
        double na = std::clamp(alpha[i] - 0.1 * (v[i] - w[i]) * gv, 0.0, 1.0);
        w[i] -= 0.1 * gw;
        v[i] -= 0.1 * alpha[i] * gv;
        alpha[i] = na;
      }
    }
    x = 0.5 * (w[0] + w[1]);
    EXPECT_NEAR(run.x[static_cast<size_t>(r)], x, 1e-6) << "round " << r + 1;
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_NEAR(Alpha(run, i), alpha[i], 1e-6);
    EXPECT_NEAR(PersonalOf(run, i, x), alpha[i] * v[i] + (1 - alpha[i]) * w[i], 1e-6);
  }
}

TEST(Apfl, BadValuesNameTheKey) {
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: apfl, alpha: 1.5}\n", "alpha"));
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: apfl, alpha: -0.1}\n", "alpha"));
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: apfl, alpha_lr: 0}\n", "alpha_lr"));
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: apfl}\nclient: {optimizer: {name: adam}}\n", "name"));
}

}  // namespace
}  // namespace shoal
