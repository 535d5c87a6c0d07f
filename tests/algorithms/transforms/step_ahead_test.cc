// Step-ahead error feedback (SA-PEF, arXiv 2601.20738) through the real
// FedAvg client procedure and top-k pipeline on a two-parameter quadratic
// f(w) = 0.5 ||w - b||^2 with one GD step (lr 0.1): hand-derived starts,
// residuals and the SA-PEF identity p = (y - x) + (1 - alpha) e.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "algorithms/registry.h"
#include "core/backend.h"
#include "core/config.h"
#include "core/model.h"

namespace shoal {
namespace {

class TwoParams final : public Layer<float> {
 public:
  std::string kind() const override { return "two"; }
  std::vector<int> OutputShape(const std::vector<int>& in) const override { return in; }
  std::vector<std::pair<std::string, std::vector<int64_t>>> ParamShapes() const override { return {{"w", {2}}}; }
  void Forward(const Backend&, std::span<const float>, const float* in, float* out, int batch) override {
    std::copy(in, in + batch, out);
  }
  void Backward(const Backend&, std::span<const float>, const float*, const float*, const float*,
                std::span<float> dparams, float*, int) override {
    std::fill(dparams.begin(), dparams.end(), 0.0f);
  }
};

constexpr double kB[2] = {1.0, -2.0};
constexpr double kLr = 0.1;

struct Step {
  std::vector<float> sent, residual;
};

class StepAhead : public ::testing::Test {
 protected:
  void Build(const std::string& topk) {
    auto root = ConfigNode::Parse("strategy: {name: fedavg, rounds: 5, clients_per_round: 1}\n"
                                  "client: {epochs: 1, batch_size: 8, optimizer: {name: sgd, lr: 0.1},\n"
                                  "         pipeline: [" + topk + "]}\n", "t.yaml").value();
    auto alg = MakeAlgorithm(root.Child("strategy"), root.Child("client"));
    ASSERT_TRUE(alg.ok()) << alg.status().ToString();
    alg_ = std::move(alg).value();
    std::vector<std::unique_ptr<Layer<float>>> layers;
    layers.push_back(std::make_unique<TwoParams>());
    model_ = std::make_unique<Model<float>>("two", std::vector<int>{1}, std::move(layers));
  }
  // One local round of the client from global model x; returns what the
  // server decodes and the residual left in the client state.
  Step Round(const std::vector<float>& x, int64_t round) {
    Task t;
    t.round = round;
    t.client = 0;
    t.model = ModelSnapshot{static_cast<uint64_t>(round), std::make_shared<const std::vector<float>>(x)};
    TrainContext ctx;
    ctx.backend = backend_;
    ctx.model = model_.get();
    ctx.data = &none_;
    ctx.indices = rows_;
    ctx.objective = [](std::span<const float> p, std::span<const int64_t>, std::span<float> g) {
      double f = 0;
      for (int j = 0; j < 2; ++j) {
        g[j] = static_cast<float>(p[j] - kB[j]);
        f += 0.5 * (p[j] - kB[j]) * (p[j] - kB[j]);
      }
      return f;
    };
    Step out;
    auto u = alg_.procedure->Run(t, state_, ctx);
    EXPECT_TRUE(u.ok()) << u.status().ToString();
    if (!u.ok()) return out;
    TransformContext tc{backend_, &model_->layout(), 0, round, 0, static_cast<uint64_t>(round)};
    auto bytes = alg_.pipeline->Run(*u, state_, tc);
    EXPECT_TRUE(bytes.ok());
    auto back = alg_.pipeline->Decode(*bytes, 2, tc);
    EXPECT_TRUE(back.ok());
    out.sent = back->delta;
    for (const auto& [key, e] : state_.tensors)
      if (key.find("residual") != std::string::npos || key == ClientState::kPreviewKey) out.residual = e;
    return out;
  }

  Algorithm alg_;
  std::unique_ptr<Model<float>> model_;
  ClientState state_;
  Dataset none_;
  std::vector<int64_t> rows_ = {0};
  const Backend* backend_ = GetBackend("cpu_ref").value();
};

TEST_F(StepAhead, FullPreviewStartsFromTheResidualHandValues) {
  Build("{name: topk, density: 0.5, step_ahead: 1}");
  const std::vector<float> x = {0, 0};
  // Round 1 (no residual yet): y = 0.1 b = (0.1, -0.2); top-1 keeps -0.2.
  Step s1 = Round(x, 0);
  EXPECT_EQ(s1.sent, (std::vector<float>{0.0f, -0.2f}));
  EXPECT_NEAR(s1.residual.at(0), 0.1, 1e-7);
  EXPECT_NEAR(s1.residual.at(1), 0.0, 1e-7);
  // Round 2 starts from s = x + e = (0.1, 0): y = s - 0.1 (s - b) = (0.19, -0.2);
  // p = y - x = (0.19, -0.2), top-1 keeps -0.2, e = (0.19, 0).
  Step s2 = Round(x, 1);
  EXPECT_NEAR(s2.sent.at(0), 0.0, 1e-7);
  EXPECT_NEAR(s2.sent.at(1), -0.2, 1e-6);
  EXPECT_NEAR(s2.residual.at(0), 0.19, 1e-6);
  EXPECT_NEAR(s2.residual.at(1), 0.0, 1e-7);
}

TEST_F(StepAhead, PlainErrorFeedbackKeepsTheGlobalStart) {
  Build("{name: topk, density: 0.5}");
  const std::vector<float> x = {0, 0};
  Round(x, 0);  // e = (0.1, 0)
  // Round 2 from x: y = (0.1, -0.2), p = (0.2, -0.2): tie goes to index 0.
  Step s2 = Round(x, 1);
  EXPECT_NEAR(s2.sent.at(0), 0.2, 1e-6);
  EXPECT_NEAR(s2.sent.at(1), 0.0, 1e-7);
  EXPECT_NEAR(s2.residual.at(1), -0.2, 1e-6);
}

TEST_F(StepAhead, SentPlusResidualIsDisplacementPlusUnpreviewedResidual) {
  for (double alpha : {0.25, 0.5, 1.0}) {
    state_ = ClientState{};
    Build("{name: topk, density: 0.5, step_ahead: " + std::to_string(alpha) + "}");
    std::vector<float> x = {0.3f, 0.7f};
    std::vector<float> e_old = {0, 0};
    for (int r = 0; r < 4; ++r) {
      Step s = Round(x, r);
      for (int j = 0; j < 2; ++j) {
        const double start = x[j] + alpha * e_old[j];
        const double y = start - kLr * (start - kB[j]);
        EXPECT_NEAR(s.sent.at(j) + s.residual.at(j), (y - x[j]) + (1 - alpha) * e_old[j], 1e-5)
            << "alpha " << alpha << " round " << r << " coord " << j;
      }
      e_old = s.residual;
      x[0] += 0.05f * static_cast<float>(r + 1);  // the server moved on
    }
  }
}

TEST(StepAheadOptions, RejectsOutOfRangeOrWithoutErrorFeedback) {
  for (const char* bad : {"{name: topk, step_ahead: 1.5}", "{name: topk, step_ahead: -0.1}",
                          "{name: topk, error_feedback: false, step_ahead: 0.5}"}) {
    auto root = ConfigNode::Parse(std::string("strategy: {name: fedavg}\nclient: {pipeline: [") + bad + "]}\n",
                                  "bad.yaml").value();
    auto alg = MakeAlgorithm(root.Child("strategy"), root.Child("client"));
    ASSERT_FALSE(alg.ok()) << bad;
    EXPECT_NE(alg.status().message().find("step_ahead"), std::string::npos) << alg.status().message();
  }
}

}  // namespace
}  // namespace shoal
