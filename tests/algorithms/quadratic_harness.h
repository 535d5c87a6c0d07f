// Runs a registered algorithm end to end on the toy problem of
// shared/ALGORITHMS.md (f_i(w) = 0.5 a_i (w - b_i)^2, a = (1, 3), b = (2, -1),
// n = (1, 3)) through its real ClientProcedure: the procedure's local loop,
// hooks and state handling run unchanged; only the minibatch loss comes from
// TrainContext::objective (the exact quadratic, whatever the rows) and the
// model is a one-parameter test double. Updates go through the update
// pipeline's encode/decode like in the simulator, so extras travel too.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "algorithms/registry.h"
#include "core/config.h"
#include "core/model.h"
#include "tests/algorithms/toy_problem.h"

namespace shoal::testing {

// One scalar parameter "w"; the objective replaces its forward/backward.
class ScalarParam final : public Layer<float> {
 public:
  std::string kind() const override { return "scalar"; }
  std::vector<int> OutputShape(const std::vector<int>& in) const override { return in; }
  std::vector<std::pair<std::string, std::vector<int64_t>>> ParamShapes() const override { return {{"w", {1}}}; }
  void Forward(const Backend&, std::span<const float>, const float* in, float* out, int batch) override {
    std::copy(in, in + batch, out);
  }
  void Backward(const Backend&, std::span<const float>, const float*, const float*, const float*,
                std::span<float> dparams, float*, int) override {
    std::fill(dparams.begin(), dparams.end(), 0.0f);
  }
};

struct QuadraticRun {
  Algorithm algorithm;
  std::map<int, ClientState> states;
  std::vector<double> x;                      // global model after each round
  std::vector<std::map<int, double>> y;       // per round: client -> x + Delta_i as received
  std::vector<std::map<int, ClientUpdate>> updates;
  bool ok = true;
};

inline QuadraticRun RunQuadratic(const std::string& yaml, int rounds, double w0 = 0.0) {
  QuadraticRun run;
  auto root = ConfigNode::Parse(yaml, "t.yaml").value();
  auto alg = MakeAlgorithm(root.Child("strategy"), root.Child("client"));
  if (!alg.ok()) {
    ADD_FAILURE() << alg.status().ToString();
    run.ok = false;
    return run;
  }
  run.algorithm = std::move(alg).value();
  Strategy& s = *run.algorithm.strategy;
  const ClientProcedure& proc = *run.algorithm.procedure;
  std::vector<std::unique_ptr<Layer<float>>> layers;
  layers.push_back(std::make_unique<ScalarParam>());
  Model<float> model("quadratic", {1}, std::move(layers));
  StrategyContext sctx = ToyContext(model.layout());
  Toy toy;
  std::vector<std::vector<int64_t>> indices = {{0}, {0, 1, 2}};
  Dataset none;
  auto actions = s.Start(Scalar(w0), sctx);
  EXPECT_TRUE(actions.ok()) << actions.status().ToString();
  for (int r = 0; r < rounds && actions.ok(); ++r) {
    std::vector<Task> tasks = actions->dispatch;
    Actions last;
    run.y.emplace_back();
    run.updates.emplace_back();
    for (const Task& t : tasks) {
      TrainContext ctx;
      ctx.backend = sctx.backend;
      ctx.model = &model;
      ctx.data = &none;
      ctx.indices = indices[static_cast<size_t>(t.client)];
      const int i = t.client;
      ctx.objective = [&toy, i](std::span<const float> p, std::span<const int64_t>, std::span<float> g) {
        g[0] = static_cast<float>(toy.grad(i, p[0]));
        return 0.5 * toy.a[i] * (p[0] - toy.b[i]) * (p[0] - toy.b[i]);
      };
      ClientState& state = run.states[t.client];
      auto u = proc.Run(t, state, ctx);
      EXPECT_TRUE(u.ok()) << u.status().ToString();
      if (!u.ok()) return run;
      TransformContext tc{sctx.backend, sctx.layout, 0, t.round, t.client, t.task_id};
      auto bytes = run.algorithm.pipeline->Run(*u, state, tc);
      EXPECT_TRUE(bytes.ok());
      auto decoded = run.algorithm.pipeline->Decode(*bytes, 1, tc);
      EXPECT_TRUE(decoded.ok());
      run.y.back()[t.client] = (*t.model.params)[0] + decoded->delta[0];
      run.updates.back()[t.client] = *decoded;
      ClientResult res;
      res.task_id = t.task_id;
      res.round = t.round;
      res.client = t.client;
      res.model_version = t.model.version;
      res.update = std::move(decoded).value();
      auto a = s.OnResult(std::move(res), sctx);
      EXPECT_TRUE(a.ok()) << a.status().ToString();
      last.Merge(std::move(a).value());
    }
    EXPECT_TRUE(last.model_changed);
    run.x.push_back((*s.global_model().params)[0]);
    actions = std::move(last);
  }
  return run;
}

// The personalized model of `client` after the run (NaN when it has none).
inline double PersonalOf(const QuadraticRun& run, int client, double global) {
  float out = 0;
  std::vector<float> g = {static_cast<float>(global)};
  auto it = run.states.find(client);
  if (it == run.states.end() || !run.algorithm.procedure->PersonalModel(it->second, g, std::span<float>(&out, 1)))
    return std::nan("");
  return out;
}

// Succeeds when MakeAlgorithm rejects `yaml` with a message naming `key` and
// the file; use as EXPECT_TRUE(RejectedNaming(yaml, key)) so a failure points
// at the caller and says which yaml, key and message were involved.
inline ::testing::AssertionResult RejectedNaming(const std::string& yaml, const std::string& key) {
  auto root = ConfigNode::Parse(yaml, "bad.yaml");
  if (!root.ok())
    return ::testing::AssertionFailure() << "yaml does not parse: " << root.status().message() << "\nyaml:\n" << yaml;
  auto alg = MakeAlgorithm(root.value().Child("strategy"), root.value().Child("client"));
  if (alg.ok()) return ::testing::AssertionFailure() << "MakeAlgorithm accepted a bad config\nyaml:\n" << yaml;
  const std::string& msg = alg.status().message();
  if (msg.find(key) == std::string::npos)
    return ::testing::AssertionFailure() << "error does not name key '" << key << "': " << msg << "\nyaml:\n" << yaml;
  if (msg.find("bad.yaml") == std::string::npos)
    return ::testing::AssertionFailure() << "error does not name file 'bad.yaml': " << msg << "\nyaml:\n" << yaml;
  return ::testing::AssertionSuccess();
}

}  // namespace shoal::testing
