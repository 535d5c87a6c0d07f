#include "sim/simulator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "algorithms/client_procedure.h"
#include "algorithms/optimizers/sgd.h"
#include "tests/sim/sim_fixture.h"

namespace shoal::sim {
namespace {

SimOptions Opts(int threads, uint64_t seed = 3) {
  SimOptions o;
  o.threads = threads;
  o.seed = seed;
  o.eval_every = 1;
  return o;
}

// FedAvg with one client, full participation and E = 1 is centralised
// minibatch SGD on the same batches: replay the batches by hand.
TEST(Simulator, OneClientFedAvgEqualsCentralisedSgd) {
  const uint64_t seed = 3;
  auto exp = testing::MakeExperiment(
      testing::MakeBlobs(1, 50), "mlp",
      "strategy: {name: fedavg, rounds: 3, clients_per_round: 1}\n"
      "client: {epochs: 1, batch_size: 8, optimizer: {name: sgd, lr: 0.1}}\n");
  MemorySink sink;
  Simulator simulator(exp, Opts(2, seed), sink);
  auto sum = simulator.Run();
  ASSERT_TRUE(sum.ok()) << sum.status().ToString();

  // Reference: the same model, same init, same shuffles, plain loop.
  auto model = exp.model->Clone();
  std::vector<float> p(static_cast<size_t>(model->num_params())), g(p.size());
  model->Init(p, seed);
  const Backend& be = *exp.backend;
  const auto& idx = exp.data.client_train[0];
  for (int64_t round = 0; round < 3; ++round) {
    std::vector<int64_t> order(idx.begin(), idx.end());
    RngStream rng(seed, round, 0, RngPurpose::kShuffle);
    rng.Shuffle(std::span<int64_t>(order));
    for (size_t s = 0; s < order.size(); s += 8) {
      size_t m = std::min<size_t>(8, order.size() - s);
      std::vector<float> x;
      std::vector<int32_t> y;
      for (size_t r = 0; r < m; ++r) {
        const float* row = exp.data.train.row(order[s + r]);
        x.insert(x.end(), row, row + exp.data.train.dim);
        y.push_back(exp.data.train.y[static_cast<size_t>(order[s + r])]);
      }
      model->LossAndGrad(be, p, x.data(), y.data(), static_cast<int>(m), g);
      for (size_t i = 0; i < p.size(); ++i) p[i] -= 0.1f * g[i];
    }
  }
  ASSERT_EQ(sum->final_model.size(), p.size());
  // x + (y - x) differs from y only by float rounding.
  for (size_t i = 0; i < p.size(); ++i) EXPECT_NEAR(sum->final_model[i], p[i], 1e-6f * (1 + std::abs(p[i]))) << i;
  ASSERT_EQ(sink.rows.size(), 3u);
  EXPECT_TRUE(sink.rows.back().Get("test_acc").has_value());
}

std::string RowsWithoutWallClock(const std::vector<MetricsRow>& rows) {
  std::string s;
  for (MetricsRow r : rows) {
    r.Set("wall_seconds", 0.0);
    s += r.ToJson() + "\n";
  }
  return s;
}

TEST(Simulator, BitIdenticalAcrossThreadCounts) {
  const std::string yaml =
      "strategy: {name: fedavg, rounds: 4, clients_per_round: 5}\n"
      "client: {epochs: 2, batch_size: 4, optimizer: {name: sgd, lr: 0.05}}\n";
  std::vector<float> models[2];
  std::string metrics[2];
  for (int k = 0; k < 2; ++k) {
    auto exp = testing::MakeExperiment(testing::MakeBlobs(20, 17), "mlp", yaml);
    MemorySink sink;
    Simulator simulator(exp, Opts(k == 0 ? 1 : 2), sink);
    auto sum = simulator.Run();
    ASSERT_TRUE(sum.ok()) << sum.status().ToString();
    models[k] = sum->final_model;
    metrics[k] = RowsWithoutWallClock(sink.rows);
  }
  ASSERT_EQ(models[0].size(), models[1].size());
  EXPECT_EQ(std::memcmp(models[0].data(), models[1].data(), models[0].size() * sizeof(float)), 0);
  EXPECT_EQ(metrics[0], metrics[1]);
}

TEST(Simulator, MetricsCarryBytesAndEvaluation) {
  auto exp = testing::MakeExperiment(testing::MakeBlobs(10, 20), "logreg",
                                     "strategy: {name: fedavg, rounds: 4, clients_per_round: 3}\n"
                                     "client: {epochs: 5, batch_size: 5, optimizer: {name: sgd, lr: 0.1}}\n");
  MemorySink sink;
  SimOptions o = Opts(2);
  o.eval_every = 3;
  Simulator simulator(exp, o, sink);
  auto sum = simulator.Run();
  ASSERT_TRUE(sum.ok());
  ASSERT_EQ(sink.rows.size(), 4u);
  const int64_t model_bytes = exp.model->num_params() * 4;
  for (const auto& r : sink.rows) {
    // 3 tasks down per round: the dense model plus a 16-byte header.
    EXPECT_EQ(*r.GetNumber("bytes_down"), 3 * (model_bytes + 16));
    // 3 dense updates up: 32-byte header, 8-byte length, the floats, no extras
    // (4-byte count), one metric "optimizer_state_bytes" (4-byte count,
    // 2-byte name length, 21 name bytes, 8-byte value).
    EXPECT_EQ(*r.GetNumber("bytes_up"), 3 * (32 + 8 + model_bytes + 4 + 4 + 2 + 21 + 8));
  }
  EXPECT_FALSE(sink.rows[0].Get("test_acc").has_value());
  EXPECT_TRUE(sink.rows[2].Get("test_acc").has_value());   // round 3
  EXPECT_TRUE(sink.rows[3].Get("test_acc").has_value());   // final round always
  // Learning happens: final accuracy beats chance (1/3) clearly on blobs.
  EXPECT_GT(sum->final_test_acc, 0.6);
}

// A procedure that returns NaN for one client: its update never reaches the model.
class PoisonClient final : public ClientProcedure {
 public:
  std::string name() const override { return "poison"; }
  Result<ClientUpdate> Run(const Task& t, ClientState&, TrainContext& ctx) const override {
    ClientUpdate u;
    u.delta.assign(t.model.params->size(), t.client == 0 ? NAN : 0.01f);
    u.num_samples = static_cast<int64_t>(ctx.indices.size());
    return u;
  }
};

TEST(Simulator, NanUpdatesNeverReachTheGlobalModel) {
  auto exp = testing::MakeExperiment(testing::MakeBlobs(2, 10), "logreg",
                                     "strategy: {name: fedavg, rounds: 1, clients_per_round: 2}\n");
  exp.algorithm.procedure = std::make_shared<PoisonClient>();
  std::vector<float> init(static_cast<size_t>(exp.model->num_params()));
  exp.model->Init(init, 3);
  MemorySink sink;
  Simulator simulator(exp, Opts(2), sink);
  auto sum = simulator.Run();
  ASSERT_TRUE(sum.ok());
  for (size_t i = 0; i < init.size(); ++i) EXPECT_FLOAT_EQ(sum->final_model[i], init[i] + 0.01f);
  EXPECT_EQ(*sink.rows[0].GetNumber("failures"), 1);
}

}  // namespace
}  // namespace shoal::sim
