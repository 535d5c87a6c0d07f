#include "algorithms/fedbuff.h"

#include <gtest/gtest.h>

#include <cmath>

#include "algorithms/fedavg.h"
#include "algorithms/registry.h"
#include "core/config.h"
#include "tests/algorithms/toy_problem.h"

namespace shoal {
namespace {

using testing::Toy;

const Backend& Ref() { return *GetBackend("cpu_ref").value(); }

FedBuffOptions Opts(const std::string& yaml) {
  auto root = ConfigNode::Parse(yaml, "t.yaml").value();
  FedBuffOptions o = FedBuffOptions::Parse(root.Child("strategy"));
  EXPECT_TRUE(root.Child("strategy").status().ok()) << root.Child("strategy").status().ToString();
  return o;
}

// One buffer of K = 2 from x = 0 with the paper's deltas Delta = y0 - yQ of
// (1.0, tau 0) and (0.5, tau 3); Shoal sends y - x = -Delta. Returns x1.
double OneBuffer(const FedBuffOptions& o) {
  FedBuffBuffer buf(o);
  buf.Add(Ref(), std::vector<float>{-1.0f}, 0, 1.0);
  buf.Add(Ref(), std::vector<float>{-0.5f}, 3, 1.0);
  EXPECT_EQ(buf.count(), 2);
  std::vector<float> x{0.0f};
  buf.Apply(Ref(), x);
  EXPECT_EQ(buf.count(), 0);
  return x[0];
}

TEST(FedBuff, PaperMeanStepMatchesHandValue) {
  // Dbar = 1 * 1.0 + (1 + 3)^-1/2 * 0.5 = 1.25; x1 = x0 - Dbar / K = -0.625.
  EXPECT_NEAR(OneBuffer(Opts("strategy: {buffer_size: 2}\n")), -0.625, 1e-7);
}

TEST(FedBuff, FlsimSumReductionMatchesHandValues) {
  // Constant staleness, sum: 1.0 + 0.5 = 1.5.
  EXPECT_NEAR(OneBuffer(Opts("strategy: {buffer_size: 2, reduction: sum, staleness: constant}\n")), -1.5, 1e-7);
  // poly_normalised(e = 0.5, avg = 1): sqrt(2) * (1.0 + 0.5 / 2) = 1.767767.
  EXPECT_NEAR(OneBuffer(Opts("strategy: {buffer_size: 2, reduction: sum, staleness: poly_normalised}\n")),
              -1.767767, 1e-6);
}

TEST(FedBuff, SecondBufferStartsEmpty) {
  FedBuffOptions o = Opts("strategy: {buffer_size: 2}\n");
  FedBuffBuffer buf(o);
  std::vector<float> x{0.0f};
  buf.Add(Ref(), std::vector<float>{-1.0f}, 0, 1.0);
  buf.Add(Ref(), std::vector<float>{-0.5f}, 3, 1.0);
  buf.Apply(Ref(), x);
  // Paper deltas (-2, tau 1), (1, tau 0): Dbar/K = (-2/sqrt(2) + 1) / 2 = -0.2071068.
  buf.Add(Ref(), std::vector<float>{2.0f}, 1, 1.0);
  buf.Add(Ref(), std::vector<float>{-1.0f}, 0, 1.0);
  const double before = x[0];
  buf.Apply(Ref(), x);
  EXPECT_NEAR(before - x[0], -0.2071068, 1e-6);
}

// The strategy measures staleness as (version at arrival) - (task version)
// and keeps `concurrency` tasks in flight.
TEST(FedBuff, StalenessIsVersionsSinceDownload) {
  FedBuffOptions o = Opts("strategy: {concurrency: 2, buffer_size: 1, rounds: 10}\n");
  FedBuffStrategy s(o);
  ParamLayout layout;
  layout.Add("w", {1});
  StrategyContext ctx = testing::ToyContext(layout);
  auto a0 = s.Start(testing::Scalar(0.0), ctx);
  ASSERT_TRUE(a0.ok());
  ASSERT_EQ(a0->dispatch.size(), 2u);
  EXPECT_NE(a0->dispatch[0].client, a0->dispatch[1].client);
  // First arrival: fresh, weight 1: x1 = 0 + 0.4.
  auto a1 = s.OnResult(testing::ResultFor(a0->dispatch[0], 0.4, 1), ctx);
  ASSERT_TRUE(a1.ok());
  EXPECT_TRUE(a1->model_changed);
  EXPECT_NEAR((*s.global_model().params)[0], 0.4, 1e-7);
  ASSERT_EQ(a1->dispatch.size(), 1u);  // the replacement
  EXPECT_EQ(a1->dispatch[0].model.version, 1u);
  EXPECT_EQ(s.in_flight(), 2);
  // Second arrival started at version 0, arrives at version 1: tau = 1,
  // weight 1/sqrt(2); its delta is -0.6 (y = -0.6 from x0 = 0).
  auto a2 = s.OnResult(testing::ResultFor(a0->dispatch[1], -0.6, 1), ctx);
  ASSERT_TRUE(a2.ok());
  EXPECT_NEAR((*s.global_model().params)[0], 0.4 - 0.6 / std::sqrt(2.0), 1e-6);
  EXPECT_EQ(s.rounds_done(), 2);
  EXPECT_EQ(s.in_flight(), 2);
  // A failure is replaced too; a result for an unknown task is ignored.
  ClientFailure f{a1->dispatch[0].task_id, 1, a1->dispatch[0].client, Unavailable("gone")};
  auto a3 = s.OnFailure(f, ctx);
  ASSERT_TRUE(a3.ok());
  EXPECT_EQ(a3->dispatch.size(), 1u);
  auto a4 = s.OnResult(testing::ResultFor(a1->dispatch[0], 5.0, 1), ctx);
  ASSERT_TRUE(a4.ok());
  EXPECT_FALSE(a4->model_changed);
}

// With K = concurrency = all clients and no staleness discount, FedBuff fed
// the arrivals synchronous FedAvg received produces FedAvg's models.
TEST(FedBuff, EqualsSyncFedAvgWhenKIsConcurrencyWithoutStaleness) {
  Toy toy;
  ParamLayout layout;
  layout.Add("w", {1});
  StrategyContext ctx = testing::ToyContext(layout);
  FedAvgStrategy avg(RoundOptions{3, 2, 0.0, 0.0, 1}, FedAvgOptions{});
  FedBuffStrategy buff(Opts("strategy: {concurrency: 2, buffer_size: 2, rounds: 3, staleness: constant, "
                            "weighting: samples}\n"));
  auto aa = avg.Start(testing::Scalar(0.0), ctx);
  auto ab = buff.Start(testing::Scalar(0.0), ctx);
  ASSERT_TRUE(aa.ok() && ab.ok());
  std::vector<Task> buff_tasks = ab->dispatch;
  for (int round = 0; round < 3; ++round) {
    std::vector<Task> avg_tasks = aa->dispatch;
    ASSERT_EQ(avg_tasks.size(), 2u);
    const double x = (*avg.global_model().params)[0];
    Actions last_avg;
    for (const Task& t : avg_tasks) last_avg = avg.OnResult(testing::ResultFor(t, toy.Gd(t.client, x), toy.n[t.client]), ctx).value();
    aa = std::move(last_avg);
    // The same arrivals (client, delta computed at FedAvg's x) in the same order.
    std::vector<Task> next;
    for (const Task& fed : avg_tasks) {
      auto it = std::find_if(buff_tasks.begin(), buff_tasks.end(), [&](const Task& t) { return t.client == fed.client; });
      ASSERT_NE(it, buff_tasks.end());
      ClientResult r = testing::ResultFor(*it, 0.0, toy.n[fed.client]);
      r.update.delta = {static_cast<float>(toy.Gd(fed.client, x) - x)};
      buff_tasks.erase(it);
      auto a = buff.OnResult(std::move(r), ctx);
      ASSERT_TRUE(a.ok());
      for (Task& t : a->dispatch) buff_tasks.push_back(std::move(t));
    }
    EXPECT_EQ(buff.rounds_done(), round + 1);
    EXPECT_FLOAT_EQ((*buff.global_model().params)[0], (*avg.global_model().params)[0]) << "round " << round;
  }
  EXPECT_NEAR((*avg.global_model().params)[0], (*buff.global_model().params)[0], 1e-7);
}

TEST(FedBuff, RejectsBadValuesNamingTheKey) {
  auto check = [](const std::string& yaml, const std::string& key) {
    auto root = ConfigNode::Parse(yaml, "t.yaml").value();
    auto alg = MakeAlgorithm(root.Child("strategy"), root.Child("client"));
    ASSERT_FALSE(alg.ok()) << yaml;
    EXPECT_NE(alg.status().message().find(key), std::string::npos) << alg.status().message();
  };
  check("strategy: {name: fedbuff, buffer_size: 0}\n", "strategy.buffer_size");
  check("strategy: {name: fedbuff, buffer_size: -3}\n", "strategy.buffer_size");
  check("strategy: {name: fedbuff, concurrency: 0}\n", "strategy.concurrency");
  check("strategy: {name: fedbuff, staleness: linear}\n", "strategy.staleness");
  check("strategy: {name: fedbuff, reduction: max}\n", "strategy.reduction");
  check("strategy: {name: fedbuff, server_lr: 0}\n", "strategy.server_lr");
}

}  // namespace
}  // namespace shoal
