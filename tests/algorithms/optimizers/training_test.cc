// Every registered optimizer trains through the real client path
// (FedAvgClient -> RunLocalTraining -> MinibatchStepContext, exact HVPs on the
// model) for two rounds with persisted state, on small synthetic data.
#include <gtest/gtest.h>

#include <cmath>

#include "algorithms/client_procedure.h"
#include "algorithms/registry.h"
#include "tests/sim/sim_fixture.h"

namespace shoal::testing {
namespace {

TEST(OptimizerTraining, EveryOptimizerTwoRoundsWithoutNan) {
  FederatedData data = MakeBlobs(2, 24, 6);
  const Backend& be = *GetBackend("cpu_simd").value();
  auto model = Model<float>::Create("mlp", data.train.sample_shape, data.train.num_classes).value();
  std::vector<float> init(static_cast<size_t>(model->num_params()));
  model->Init(init, 1);
  for (const auto& info : ListOptimizers()) {
    // Second-order estimates every step so the HVP / sampled-label paths run.
    std::string extra = info.name == "sophia" ? ", update_period: 1, estimator: 1" : "";
    if (info.name == "shampoo" || info.name == "soap") extra = ", precondition_frequency: 2";
    auto root = ConfigNode::Parse("strategy: {name: fedavg, rounds: 2, clients_per_round: 1}\n"
                                  "client: {epochs: 1, batch_size: 8, persist_optimizer_state: true,\n"
                                  "         optimizer: {name: " + info.name + extra + "}}\n",
                                  "t.yaml").value();
    auto alg = MakeAlgorithm(root.Child("strategy"), root.Child("client"));
    ASSERT_TRUE(alg.ok()) << info.name << ": " << alg.status().ToString();
    TrainContext ctx;
    ctx.backend = &be;
    ctx.model = model.get();
    ctx.data = &data.train;
    ctx.indices = data.client_train[0];
    ctx.seed = 9;
    ClientState state;
    auto x = std::make_shared<const std::vector<float>>(init);
    for (int round = 0; round < 2; ++round) {
      Task task;
      task.round = round;
      task.client = 0;
      task.model = ModelSnapshot{static_cast<uint64_t>(round), x};
      auto u = alg->procedure->Run(task, state, ctx);
      ASSERT_TRUE(u.ok()) << info.name;
      EXPECT_EQ(u->steps, 3) << info.name;
      EXPECT_TRUE(std::isfinite(u->train_loss)) << info.name;
      double norm = 0;
      for (float d : u->delta) {
        ASSERT_TRUE(std::isfinite(d)) << info.name << " round " << round;
        norm += double{d} * d;
      }
      EXPECT_GT(norm, 0.0) << info.name << " did not move";
      const double bytes = u->metrics.at("optimizer_state_bytes");
      if (info.name != "sgd" && info.name != "sps") {
        EXPECT_GT(bytes, 0.0) << info.name;
      }
      std::vector<float> next(*x);
      for (size_t i = 0; i < next.size(); ++i) next[i] += u->delta[i];
      x = std::make_shared<const std::vector<float>>(std::move(next));
    }
    if (info.name != "sgd" && info.name != "sps") {
      EXPECT_FALSE(state.empty()) << info.name << " persisted nothing";
    }
  }
}

}  // namespace
}  // namespace shoal::testing
