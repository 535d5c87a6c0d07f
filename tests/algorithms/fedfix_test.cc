#include "algorithms/fedfix.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "algorithms/registry.h"
#include "core/config.h"
#include "sim/event_queue.h"
#include "tests/algorithms/toy_problem.h"

namespace shoal {
namespace {

using testing::Toy;

// A minimal driver on a virtual clock: client c takes tau[c] seconds; a task
// reaches the strategy in two events (training done, then arrival) like the
// simulator's, so results due at a window boundary are queued behind its timer.
struct ManualDriver {
  ManualDriver(Strategy& strategy, std::vector<double> client_tau, StrategyContext context)
      : s(strategy), tau(std::move(client_tau)), ctx(std::move(context)), toy(), q(), tasks(), steps(), xs(), weights() {}
  Strategy& s;
  std::vector<double> tau;
  StrategyContext ctx;
  Toy toy;
  sim::EventQueue q;
  std::map<uint64_t, Task> tasks;
  std::vector<std::vector<int>> steps;  // clients aggregated at each server step
  std::vector<double> xs, weights;
  bool done = false;
  enum { kDone = 1, kArrive = 2, kWake = 3 };

  void Carry(Actions a) {
    for (Task& t : a.dispatch) {
      q.Push(q.now_us() + static_cast<int64_t>(std::llround(tau[static_cast<size_t>(t.client)] * 1e6)), kDone,
             t.task_id);
      tasks[t.task_id] = std::move(t);
    }
    if (a.wake_after_us) q.Push(q.now_us() + *a.wake_after_us, kWake, 0);
    done = done || a.done;
    if (a.model_changed) {
      auto* async = dynamic_cast<EveryClientAsync*>(&s);
      std::vector<int> clients = async->last_step_clients();
      std::sort(clients.begin(), clients.end());
      steps.push_back(clients);
      xs.push_back((*s.global_model().params)[0]);
    }
  }
  void Run(double until_s) {
    Carry(s.Start(testing::Scalar(0.0), ctx).value());
    while (!q.empty() && !done) {
      sim::Event e = q.Pop();
      if (static_cast<double>(e.time_us) > until_s * 1e6) break;
      ctx.now_us = e.time_us;
      if (e.kind == kDone) {
        q.Push(e.time_us, kArrive, e.payload);
      } else if (e.kind == kArrive) {
        const Task& t = tasks[e.payload];
        const double x = (*t.model.params)[0];
        auto a = s.OnResult(testing::ResultFor(t, toy.Gd(t.client, x), 1), ctx);
        ASSERT_TRUE(a.ok());
        weights.push_back(dynamic_cast<EveryClientAsync*>(&s)->last_weight());
        Carry(std::move(a).value());
      } else {
        Carry(s.OnWake(ctx).value());
      }
    }
  }
};

AsyncOptions Parse(const std::string& yaml, bool fedfix) {
  auto root = ConfigNode::Parse(yaml, "t.yaml").value();
  AsyncOptions o = AsyncOptions::Parse(root.Child("strategy"), fedfix);
  EXPECT_TRUE(root.status().ok());
  return o;
}

TEST(FedFix, WindowsAndStochasticWeightsMatchSpec) {
  // p = (0.5, 0.5), tau = (1, 2.5), delta_t = 1 (shared/ALGORITHMS.md §6).
  FedFixStrategy s(Parse("strategy: {delta_t: 1.0, rounds: 4}\n", true));
  ParamLayout layout;
  layout.Add("w", {1});
  ManualDriver d{s, {1.0, 2.5}, testing::ToyContext(layout)};
  d.ctx.client_samples = {1, 1};
  d.Run(10);
  ASSERT_EQ(d.steps.size(), 4u);
  EXPECT_EQ(d.steps[0], std::vector<int>({0}));
  EXPECT_EQ(d.steps[1], std::vector<int>({0}));
  EXPECT_EQ(d.steps[2], std::vector<int>({0, 1}));  // client 1 returns at 2.5, aggregated at t = 3
  EXPECT_EQ(d.steps[3], std::vector<int>({0}));     // client 1 restarted at 3, returns at 5.5
  // d_i = p_i * ceil(tau_i / delta_t): (0.5, 1.5); arrivals c0 at 1, c0 at 2,
  // c1 at 2.5, c0 at 3.
  ASSERT_GE(d.weights.size(), 4u);
  EXPECT_DOUBLE_EQ(d.weights[0], 0.5);
  EXPECT_DOUBLE_EQ(d.weights[1], 0.5);
  EXPECT_DOUBLE_EQ(d.weights[2], 1.5);
  EXPECT_DOUBLE_EQ(d.weights[3], 0.5);
  // x^{n+1} = x^n + sum d_i (y_i - x^{rho_i}); client 1's base is x^0 = 0.
  Toy toy;
  double x1 = 0.5 * (toy.Gd(0, 0.0) - 0.0);
  double x2 = x1 + 0.5 * (toy.Gd(0, x1) - x1);
  double x3 = x2 + 0.5 * (toy.Gd(0, x2) - x2) + 1.5 * (toy.Gd(1, 0.0) - 0.0);
  double x4 = x3 + 0.5 * (toy.Gd(0, x3) - x3);
  EXPECT_NEAR(d.xs[0], x1, 1e-6);
  EXPECT_NEAR(d.xs[1], x2, 1e-6);
  EXPECT_NEAR(d.xs[2], x3, 1e-6);
  EXPECT_NEAR(d.xs[3], x4, 1e-6);
}

TEST(AsyncFedAvg, TimeCorrectedWeightsMatchSpec) {
  AsyncFedAvgStrategy s(Parse("strategy: {weights: time_corrected, rounds: 10}\n", false));
  ParamLayout layout;
  layout.Add("w", {1});
  ManualDriver d{s, {1.0, 2.5}, testing::ToyContext(layout)};
  d.ctx.client_samples = {1, 1};
  d.Run(3.0);
  // Arrivals: c0 at 1 and 2, c1 at 2.5, c0 at 3. Once both tau are known,
  // d_i = (1/1 + 1/2.5) * tau_i * 0.5 = (0.7, 1.75).
  ASSERT_EQ(d.steps.size(), 4u);
  EXPECT_EQ(d.steps[2], std::vector<int>({1}));
  EXPECT_NEAR(d.weights[2], 1.75, 1e-9);
  EXPECT_NEAR(d.weights[3], 0.7, 1e-9);
  // Before client 1 ever returned its tau is estimated by the mean (1): d_0 = 1.
  EXPECT_NEAR(d.weights[0], 1.0, 1e-9);
  // One server step per arrival: x += d_i * (y_i - x^{rho_i}).
  Toy toy;
  double x1 = 1.0 * (toy.Gd(0, 0.0));
  double x2 = x1 + 1.0 * (toy.Gd(0, x1) - x1);
  double x3 = x2 + 1.75 * (toy.Gd(1, 0.0));
  EXPECT_NEAR(d.xs[0], x1, 1e-6);
  EXPECT_NEAR(d.xs[1], x2, 1e-6);
  EXPECT_NEAR(d.xs[2], x3, 1e-6);
}

TEST(AsyncFedAvg, IdenticalWeightsAreOne) {
  AsyncFedAvgStrategy s(Parse("strategy: {rounds: 3}\n", false));
  ParamLayout layout;
  layout.Add("w", {1});
  ManualDriver d{s, {1.0, 2.5}, testing::ToyContext(layout)};
  d.Run(10);
  ASSERT_EQ(d.weights.size(), 3u);
  for (double w : d.weights) EXPECT_EQ(w, 1.0);
  EXPECT_EQ(s.rounds_done(), 3);
}

TEST(FedFix, RejectsBadValuesNamingTheKey) {
  auto check = [](const std::string& yaml, const std::string& key) {
    auto root = ConfigNode::Parse(yaml, "t.yaml").value();
    auto alg = MakeAlgorithm(root.Child("strategy"), root.Child("client"));
    ASSERT_FALSE(alg.ok()) << yaml;
    EXPECT_NE(alg.status().message().find(key), std::string::npos) << alg.status().message();
  };
  check("strategy: {name: fedfix, delta_t: 0}\n", "strategy.delta_t");
  check("strategy: {name: fedfix, delta_t: -1}\n", "strategy.delta_t");
  check("strategy: {name: fedfix, rounds: 0}\n", "strategy.rounds");
  check("strategy: {name: async_fedavg, weights: inverse}\n", "strategy.weights");
}

}  // namespace
}  // namespace shoal
