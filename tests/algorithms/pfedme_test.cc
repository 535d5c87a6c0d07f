#include "algorithms/pfedme.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/algorithms/quadratic_harness.h"

namespace shoal {
namespace {

using testing::PersonalOf;
using testing::RunQuadratic;

// shared/ALGORITHMS.md §7 test: lambda = 1, plr = 0.1, K = 2, R = 1, eta = 0.1, beta = 1.
std::string Yaml(const std::string& extra, int rounds = 1, int per_round = 2) {
  return "strategy: {name: pfedme, rounds: " + std::to_string(rounds) + ", clients_per_round: " +
         std::to_string(per_round) + ", lambda: 1, personal_lr: 0.1, inner_steps: 2, local_rounds: 1" + extra +
         "}\nclient: {batch_size: 8, lr: 0.1}\n";
}

TEST(PFedMe, RoundOneMatchesSpec) {
  auto run = RunQuadratic(Yaml(""), 1);
  ASSERT_TRUE(run.ok);
  EXPECT_NEAR(run.y[0].at(0), 0.036, 1e-6);   // w_R
  EXPECT_NEAR(run.y[0].at(1), -0.048, 1e-6);
  EXPECT_NEAR(run.x[0], -0.006, 1e-6);        // uniform mean, beta = 1
  EXPECT_NEAR(PersonalOf(run, 0, run.x[0]), 0.36, 1e-6);  // theta_i
  EXPECT_NEAR(PersonalOf(run, 1, run.x[0]), -0.48, 1e-6);
}

TEST(PFedMe, WeightingAndBetaOptions) {
  EXPECT_NEAR(RunQuadratic(Yaml(", weighting: samples"), 1).x[0], -0.027, 1e-6);
  EXPECT_NEAR(RunQuadratic(Yaml(", beta: 0.5"), 1).x[0], 0.5 * -0.006, 1e-6);
}

TEST(PFedMe, HiddenL2OfTheOfficialCode) {
  auto run = RunQuadratic(Yaml(", inner_l2: 0.001"), 1);
  ASSERT_TRUE(run.ok);
  EXPECT_NEAR(PersonalOf(run, 0, 0), 0.35998, 1e-6);
  EXPECT_NEAR(PersonalOf(run, 1, 0), -0.47997, 1e-6);
  EXPECT_NEAR(run.y[0].at(0), 0.035998, 1e-6);
  EXPECT_NEAR(run.x[0], -0.0059995, 1e-6);
}

TEST(PFedMe, PersonalEvalLocalWKeepsTheLocalModel) {
  auto run = RunQuadratic(Yaml(", personal_eval: local_w"), 1);
  EXPECT_NEAR(PersonalOf(run, 0, 0), 0.036, 1e-6);
}

TEST(PFedMe, EveryClientTrainsButOnlySAreAggregated) {
  // S = 1 of N = 2: both clients refresh their personal model; x1 = w_R of the
  // aggregated one.
  auto run = RunQuadratic(Yaml("", 1, 1), 1);
  ASSERT_TRUE(run.ok);
  ASSERT_EQ(run.y[0].size(), 2u);
  EXPECT_FALSE(std::isnan(PersonalOf(run, 0, 0)));
  EXPECT_FALSE(std::isnan(PersonalOf(run, 1, 0)));
  EXPECT_TRUE(std::abs(run.x[0] - 0.036) < 1e-6 || std::abs(run.x[0] + 0.048) < 1e-6) << run.x[0];
  auto sampled = RunQuadratic(Yaml(", local_updates: sampled", 1, 1), 1);
  EXPECT_EQ(sampled.y[0].size(), 1u);
}

TEST(PFedMe, TwoRoundsWarmThetaMatchesReplay) {
  // Independent replay (double) of the client loop for R = 2 local rounds
  // with theta warm-started across r, two server rounds.
  auto run = RunQuadratic(
      "strategy: {name: pfedme, rounds: 2, clients_per_round: 2, lambda: 1, personal_lr: 0.1, inner_steps: 2, "
      "local_rounds: 2}\nclient: {batch_size: 8, lr: 0.1}\n", 2);
  ASSERT_TRUE(run.ok);
  testing::Toy toy;
  double x = 0, theta_last[2] = {0, 0};
  for (int r = 0; r < 2; ++r) {
    double sum = 0;
    for (int i = 0; i < 2; ++i) {
      double w = x, theta = x;
      for (int lr = 0; lr < 2; ++lr) {
        for (int k = 0; k < 2; ++k) theta -= 0.1 * (toy.grad(i, theta) + (theta - w));
        w -= 0.1 * (w - theta);
      }
      sum += w;
      theta_last[i] = theta;
    }
    x = sum / 2;
    EXPECT_NEAR(run.x[static_cast<size_t>(r)], x, 1e-6) << "round " << r + 1;
  }
  EXPECT_NEAR(PersonalOf(run, 0, x), theta_last[0], 1e-6);
  EXPECT_NEAR(PersonalOf(run, 1, x), theta_last[1], 1e-6);
}

TEST(PFedMe, Bf16StateIsCompactAndClose) {
  ClientState st;
  std::vector<float> v(1001);
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(0.37f * static_cast<float>(i)) * 0.05f;
  PutStateTensor(st, "t", v, StatePrecision::kBf16);
  std::vector<float> back(v.size());
  ASSERT_TRUE(GetStateTensor(st, "t", back));
  for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(back[i], v[i], std::abs(v[i]) * 0x1p-8 + 1e-30) << i;
  EXPECT_LE(st.bytes(), static_cast<int64_t>(v.size() * 2 + 64));
  ClientState f32;
  PutStateTensor(f32, "t", v, StatePrecision::kF32);
  EXPECT_GE(f32.bytes(), static_cast<int64_t>(v.size() * 4));
  std::vector<float> wrong(5);
  EXPECT_FALSE(GetStateTensor(st, "t", wrong));
}

TEST(PFedMe, BadValuesNameTheKey) {
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: pfedme, beta: 2.5}\n", "beta"));
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: pfedme, beta: 0}\n", "beta"));
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: pfedme, lambda: 0}\n", "lambda"));
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: pfedme, lambda: -3}\n", "lambda"));
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: pfedme, inner_steps: 0}\n", "inner_steps"));
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: pfedme, personal_eval: w}\n", "personal_eval"));
  EXPECT_TRUE(testing::RejectedNaming("strategy: {name: pfedme}\nclient: {lr: 0}\n", "lr"));
}

}  // namespace
}  // namespace shoal
