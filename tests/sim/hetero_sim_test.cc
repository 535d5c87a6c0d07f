// The simulator with heterogeneous devices: deadlines drop stragglers,
// failures reach the strategy, asynchronous runs stay deterministic.
#include <gtest/gtest.h>

#include <cstring>

#include "sim/simulator.h"
#include "tests/sim/sim_fixture.h"

namespace shoal::sim {
namespace {

std::shared_ptr<const DeviceProfiles> Devices(const std::string& yaml, int clients, uint64_t seed = 3) {
  auto root = ConfigNode::Parse(yaml, "d.yaml").value();
  auto o = DeviceOptions::Parse(root.Child("devices"));
  EXPECT_TRUE(o.ok()) << o.status().ToString();
  return std::make_shared<const DeviceProfiles>(DeviceProfiles::Make(*o, clients, seed).value());
}

struct RunOut {
  std::vector<MetricsRow> rows;
  SimSummary sum;
};

RunOut RunSim(const std::string& strategy_yaml, const std::string& devices_yaml, int clients, int threads) {
  auto exp = testing::MakeExperiment(testing::MakeBlobs(clients, 20), "mlp",
                                     strategy_yaml + "client: {epochs: 1, batch_size: 5, optimizer: {name: sgd, lr: 0.1}}\n");
  SimOptions o;
  o.threads = threads;
  o.seed = 3;
  o.eval_every = 1;
  o.devices = Devices(devices_yaml, clients);
  MemorySink sink;
  Simulator sim(exp, o, sink);
  auto sum = sim.Run();
  EXPECT_TRUE(sum.ok()) << sum.status().ToString();
  return {sink.rows, sum.ok() ? *sum : SimSummary{}};
}

// 10 clients with 20 samples, one epoch: 1 s at speed 20, 10 s for the five
// 10x stragglers.
const char* kHalfSlow = "devices: {speed: {value: 20}, stragglers: {fraction: 0.5, slowdown: 10}}\n";

TEST(HeterogeneousSim, SyncRoundWaitsForTheSlowest) {
  RunOut r = RunSim("strategy: {name: fedavg, rounds: 3, clients_per_round: 10}\n", kHalfSlow, 10, 2);
  ASSERT_EQ(r.rows.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(*r.rows[i].GetNumber("clients"), 10);
    EXPECT_NEAR(*r.rows[i].GetNumber("virtual_seconds"), 10.0 * static_cast<double>(i + 1), 1e-6);
  }
}

TEST(HeterogeneousSim, DeadlineDropsStragglers) {
  RunOut r = RunSim("strategy: {name: fedavg, rounds: 3, clients_per_round: 10, deadline_s: 4}\n", kHalfSlow, 10, 2);
  ASSERT_EQ(r.rows.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(*r.rows[i].GetNumber("clients"), 5);  // only the fast half reports in time
    EXPECT_NEAR(*r.rows[i].GetNumber("virtual_seconds"), 4.0 * static_cast<double>(i + 1), 1e-6);
  }
  // Over-selection closes the round at the 5th result (the fast ones, 1 s).
  RunOut o = RunSim("strategy: {name: fedavg, rounds: 2, clients_per_round: 5, over_selection: 1.0}\n", kHalfSlow,
                    10, 2);
  ASSERT_EQ(o.rows.size(), 2u);
  EXPECT_NEAR(*o.rows[1].GetNumber("virtual_seconds"), 2.0, 1e-6);
}

TEST(HeterogeneousSim, DropoutsAndUnavailableClientsReachTheStrategyAsFailures) {
  RunOut r = RunSim("strategy: {name: fedavg, rounds: 6, clients_per_round: 10}\n",
                    "devices: {speed: {value: 20}, dropout: 0.3, availability: {probability: 0.8}, failure_detect_s: 0.5}\n", 10, 2);
  ASSERT_EQ(r.rows.size(), 6u);
  int64_t failures = 0;
  for (const auto& row : r.rows) {
    EXPECT_EQ(*row.GetNumber("clients") + *row.GetNumber("failures"), 10);
    failures += static_cast<int64_t>(*row.GetNumber("failures"));
  }
  // P(fail) = 1 - 0.8 * 0.7 = 0.44 of 60 tasks.
  EXPECT_GT(failures, 10);
  EXPECT_LT(failures, 45);
}

std::string Rows(const std::vector<MetricsRow>& rows) {
  std::string s;
  for (MetricsRow r : rows) {
    r.Set("wall_seconds", 0.0);
    s += r.ToJson() + "\n";
  }
  return s;
}

TEST(HeterogeneousSim, AsyncRunsAreBitIdenticalAcrossThreadCounts) {
  const std::string devices =
      "devices: {speed: {dist: lognormal, mean: 40, sigma: 0.8}, latency: {dist: uniform, low: 0, high: 0.2}, "
      "bandwidth_up: {value: 1e6}, dropout: 0.1}\n";
  for (const char* strategy : {"strategy: {name: fedbuff, rounds: 8, concurrency: 6, buffer_size: 3}\n",
                               "strategy: {name: fedfix, rounds: 5, delta_t: 0.7}\n",
                               "strategy: {name: async_fedavg, rounds: 12, weights: time_corrected}\n"}) {
    RunOut a = RunSim(strategy, devices, 12, 1), b = RunSim(strategy, devices, 12, 2);
    ASSERT_EQ(a.sum.final_model.size(), b.sum.final_model.size());
    ASSERT_FALSE(a.sum.final_model.empty());
    EXPECT_EQ(std::memcmp(a.sum.final_model.data(), b.sum.final_model.data(), a.sum.final_model.size() * sizeof(float)),
              0)
        << strategy;
    EXPECT_EQ(Rows(a.rows), Rows(b.rows)) << strategy;
    EXPECT_GT(a.sum.virtual_seconds, 0);
  }
}

TEST(HeterogeneousSim, FedBuffSeesStalenessWithStragglers) {
  RunOut r = RunSim("strategy: {name: fedbuff, rounds: 10, concurrency: 10, buffer_size: 3}\n", kHalfSlow, 10, 2);
  ASSERT_EQ(r.rows.size(), 10u);
  EXPECT_GT(*r.rows.back().GetNumber("staleness_max"), 0);
  // Sync FedAvg over all 10 clients needs 10 s per round (the stragglers);
  // FedBuff's 10 updates of 3 results come mostly from the 1 s clients.
  EXPECT_LT(r.sum.virtual_seconds, 10 * 10.0 / 2);
}

}  // namespace
}  // namespace shoal::sim
