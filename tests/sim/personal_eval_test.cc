#include "sim/personal_eval.h"

#include <gtest/gtest.h>

#include <cmath>

#include "sim/simulator.h"
#include "tests/sim/sim_fixture.h"

namespace shoal::sim {
namespace {

TEST(PersonalEval, PercentileInterpolatesAtQTimesNMinusOne) {
  std::vector<double> v = {0.0, 1.0, 2.0, 3.0};
  EXPECT_DOUBLE_EQ(Percentile(v, 0.1), 0.3);   // position 0.3
  EXPECT_DOUBLE_EQ(Percentile(v, 0.5), 1.5);
  EXPECT_DOUBLE_EQ(Percentile(v, 0.9), 2.7);
  EXPECT_DOUBLE_EQ(Percentile({5.0}, 0.9), 5.0);
}

double Num(const MetricsRow& row, const std::string& key) {
  auto v = row.Get(key);
  if (!v) return std::nan("");
  if (auto* d = std::get_if<double>(&*v)) return *d;
  if (auto* i = std::get_if<int64_t>(&*v)) return static_cast<double>(*i);
  return std::nan("");
}

MemorySink RunWithClientTests(const std::string& yaml) {
  FederatedData data = testing::MakeBlobs(6, 40);
  SplitClientData(data, 0.25, 7);
  auto exp = testing::MakeExperiment(std::move(data), "mlp", yaml);
  SimOptions o;
  o.threads = 2;
  o.eval_every = 1;
  MemorySink sink;
  Simulator sim(exp, o, sink);
  auto sum = sim.Run();
  EXPECT_TRUE(sum.ok()) << sum.status().ToString();
  return sink;
}

TEST(PersonalEval, GlobalOnlyAlgorithmsReportTheGlobalModel) {
  MemorySink sink = RunWithClientTests(
      "strategy: {name: fedavg, rounds: 2, clients_per_round: 3}\n"
      "client: {epochs: 1, batch_size: 8, optimizer: {name: sgd, lr: 0.1}}\n");
  const MetricsRow& last = sink.rows.back();
  EXPECT_EQ(Num(last, "personal_eval_clients"), 6);
  EXPECT_EQ(Num(last, "personal_models"), 0);
  EXPECT_DOUBLE_EQ(Num(last, "personal_test_acc"), Num(last, "global_client_test_acc"));
  EXPECT_EQ(Num(last, "client_state_bytes"), 0);
  EXPECT_LE(Num(last, "personal_test_acc_p10"), Num(last, "personal_test_acc_p50"));
  EXPECT_LE(Num(last, "personal_test_acc_p50"), Num(last, "personal_test_acc_p90"));
}

TEST(PersonalEval, PersonalizedAlgorithmsEvaluateTheirOwnModels) {
  MemorySink sink = RunWithClientTests(
      "strategy: {name: apfl, rounds: 2, clients_per_round: 3, alpha: 0.5}\n"
      "client: {epochs: 1, batch_size: 8, optimizer: {name: sgd, lr: 0.1}}\n");
  const MetricsRow& first = sink.rows.front();
  const MetricsRow& last = sink.rows.back();
  // Round 1: 3 clients hold (v, w) and alpha; the other 3 fall back to the global model.
  EXPECT_EQ(Num(first, "personal_models"), 3);
  EXPECT_GE(Num(last, "personal_models"), 3);
  EXPECT_GT(Num(first, "client_state_bytes"), 3 * 2 * 4 * 100);  // two float vectors of > 100 params each
  EXPECT_GE(Num(last, "personal_test_acc"), 0.0);
  EXPECT_LE(Num(last, "personal_test_acc"), 1.0);
}

}  // namespace
}  // namespace shoal::sim
