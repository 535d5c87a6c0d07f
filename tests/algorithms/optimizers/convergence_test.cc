// Convergence on an ill-conditioned quadratic, state persistence, schedules,
// validation and 8-bit state size.
#include <gtest/gtest.h>

#include <cmath>

#include "algorithms/optimizers/schedule.h"
#include "core/model.h"
#include "tests/algorithms/optimizers/optimizer_test_util.h"

namespace shoal::testing {
namespace {

// f(w) = 0.5 sum_i a_i w_i^2 over a [4 x 5] matrix and a [5] vector, with
// curvatures a_i log-spaced in [1, 100] (condition number 100).
class Quadratic final : public StepContext {
 public:
  Quadratic() {
    layout.Add("w", {4, 5});
    layout.Add("b", {5});
    const size_t n = static_cast<size_t>(layout.total_size());
    for (size_t i = 0; i < n; ++i) a.push_back(static_cast<float>(std::pow(100.0, double(i) / double(n - 1))));
  }
  double Loss(std::span<const float> w) const {
    double f = 0;
    for (size_t i = 0; i < a.size(); ++i) f += 0.5 * a[i] * w[i] * w[i];
    return f;
  }
  void Grad(std::span<const float> w, std::span<float> g) const {
    for (size_t i = 0; i < a.size(); ++i) g[i] = a[i] * w[i];
  }
  double loss() const override { return loss_; }
  void HessianVector(std::span<const float>, std::span<const float> v, std::span<float> hv) override {
    for (size_t i = 0; i < a.size(); ++i) hv[i] = a[i] * v[i];
  }
  // Emulates the Gauss-Newton-Bartlett estimator: E[g_hat^2] = diag(H).
  void SampledLabelGrad(std::span<const float>, std::span<float> g) override {
    for (size_t i = 0; i < a.size(); ++i) g[i] = std::sqrt(a[i]) * ((rng_.NextU32() & 1u) ? 1.0f : -1.0f);
  }
  RngStream& rng() override { return rng_; }

  // Runs `steps` steps from w = 1 and returns f_final / f_0.
  double Run(Optimizer& opt, float lr, int steps) {
    std::vector<float> w(a.size(), 1.0f), g(a.size());
    const double f0 = Loss(w);
    for (int s = 0; s < steps; ++s) {
      loss_ = Loss(w);
      Grad(w, g);
      opt.StepWith(w, g, lr, *this);
    }
    return Loss(w) / f0;
  }

  ParamLayout layout;
  std::vector<float> a;

 private:
  double loss_ = 0;
  RngStream rng_{3, 0, 0, RngPurpose::kOptimizer};
};

struct Conv {
  std::string name;
  HParams overrides;
  float lr;
};

class Convergence : public ::testing::TestWithParam<Conv> {};

// Every optimizer reduces the loss of the ill-conditioned quadratic by at
// least 100x in 500 steps (plain gradient descent at its best fixed step
// 2/(1+100) needs ~230 steps for that).
TEST_P(Convergence, IllConditionedQuadratic) {
  const Conv& c = GetParam();
  Quadratic q;
  HParams h = c.overrides;
  h["lr"] = c.lr;  // the configured lr (AdaBound scales its bounds by lr / configured lr)
  auto opt = MakeOptimizer(c.name, h, q.layout, *GetBackend("cpu_ref").value());
  ASSERT_TRUE(opt.ok()) << opt.status().ToString();
  const double ratio = q.Run(**opt, c.lr, 500);
  EXPECT_TRUE(std::isfinite(ratio));
  EXPECT_LT(ratio, 1e-2) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    All, Convergence,
    ::testing::Values(Conv{"sgd", {}, 0.019f}, Conv{"momentum", {}, 0.01f}, Conv{"nesterov", {}, 0.01f},
                      Conv{"adam", {}, 0.05f}, Conv{"adamw", {}, 0.05f}, Conv{"amsgrad", {}, 0.05f},
                      Conv{"nadam", {}, 0.05f}, Conv{"radam", {}, 0.05f}, Conv{"adabelief", {}, 0.05f},
                      Conv{"diffgrad", {}, 0.05f}, Conv{"adabound", {{"final_lr", 0.01}}, 0.05f}, Conv{"adamp", {}, 0.05f},
                      Conv{"lion", {}, 0.01f}, Conv{"adafactor", {}, 1.0f}, Conv{"ademamix", {}, 0.02f},
                      Conv{"grams", {}, 0.05f}, Conv{"adagrad", {}, 0.5f}, Conv{"rmsprop", {}, 0.01f},
                      Conv{"adadelta", {}, 10.0f}, Conv{"adamax", {}, 0.05f}, Conv{"adam8bit", {}, 0.05f},
                      Conv{"adahessian", {}, 0.3f}, Conv{"sophia", {{"bs", 1}, {"rho", 1}}, 0.05f},
                      Conv{"sophia", {{"bs", 1}, {"rho", 1}, {"estimator", 1}}, 0.05f},
                      Conv{"shampoo", {{"precondition_frequency", 1}}, 0.3f}, Conv{"soap", {}, 0.05f}, Conv{"dog", {}, 1.0f},
                      Conv{"sps", {}, 1.0f}, Conv{"adam", {{"cautious", 1}}, 0.05f},
                      Conv{"lion", {{"cautious", 2}}, 0.01f}),
    [](const auto& info) { return info.param.name + std::to_string(info.index); });

// Saving after 5 steps and loading into a fresh instance continues exactly
// like an uninterrupted run (bitwise), for every registered optimizer.
TEST(OptimizerState, SaveLoadResumesExactly) {
  for (const auto& info : ListOptimizers()) {
    Quadratic q, q2;
    const Backend& be = *GetBackend("cpu_ref").value();
    HParams h;
    if (info.name == "shampoo" || info.name == "soap") h["precondition_frequency"] = 3;
    if (info.name == "sophia") h["update_period"] = 2;
    auto a = MakeOptimizer(info.name, h, q.layout, be).value();
    std::vector<float> w(q.a.size(), 1.0f), g(w.size());
    auto step = [&](Optimizer& o, Quadratic& ctx, std::vector<float>& x) {
      ctx.Grad(x, g);
      o.StepWith(x, g, 0.01f, ctx);
    };
    for (int s = 0; s < 5; ++s) step(*a, q, w);
    ClientState st;
    a->SaveState(st);
    std::vector<float> w2 = w;
    auto b = MakeOptimizer(info.name, h, q.layout, be).value();
    b->LoadState(st);
    EXPECT_EQ(a->state_bytes(), b->state_bytes()) << info.name;
    // Both contexts draw the same probes from here on.
    q2 = Quadratic();
    q = Quadratic();
    for (int s = 0; s < 5; ++s) step(*a, q, w), step(*b, q2, w2);
    for (size_t i = 0; i < w.size(); ++i) ASSERT_EQ(w[i], w2[i]) << info.name << " [" << i << "]";
  }
}

TEST(OptimizerState, BytesPerParameter) {
  auto mlp = Model<float>::Create("mlp", {1, 28, 28}, 10).value();
  const double n = static_cast<double>(mlp->num_params());
  const Backend& be = *GetBackend("cpu_ref").value();
  auto bytes = [&](const std::string& name) {
    return static_cast<double>(MakeOptimizer(name, {}, mlp->layout(), be).value()->state_bytes()) / n;
  };
  EXPECT_EQ(bytes("sgd"), 0.0);
  EXPECT_NEAR(bytes("momentum"), 4.0, 1e-3);
  EXPECT_NEAR(bytes("adam"), 8.0, 1e-3);
  EXPECT_NEAR(bytes("amsgrad"), 12.0, 1e-3);
  // min_8bit_size 1024 (scenarios/optimizers_8bit.yaml) quantizes the 200x10 output layer too.
  const double b8 = static_cast<double>(
                        MakeOptimizer("adam8bit", {{"min_8bit_size", 1024}}, mlp->layout(), be).value()->state_bytes()) /
                    n;
  EXPECT_LE(b8, 2.1);
  EXPECT_GE(b8, 2.0);  // two one-byte codes per parameter, plus absmax per block and fp32 biases
  // bitsandbytes' default 4096 keeps it (2000 entries) and the biases in fp32:
  // 784x200 and 200x200 quantized (2 B each + two fp32 absmax per block of
  // 256: 613 + 157 blocks), 2410 fp32 entries (8 B), the step counter: 2.1035 B/param.
  EXPECT_EQ(MakeOptimizer("adam8bit", {}, mlp->layout(), be).value()->state_bytes(),
            196800 * 2 + (613 + 157) * 2 * 4 + 2410 * 8 + 4);
  EXPECT_LT(bytes("adafactor"), 0.1);  // factored rows + columns only
}

// 8-bit moments track fp32 Adam closely on a tensor that is quantized.
TEST(Adam8bit, TracksAdamOnQuantizedTensor) {
  ParamLayout layout = OneTensor({64, 128});  // 8192 >= 4096: quantized
  const Backend& be = *GetBackend("cpu_ref").value();
  auto a8 = MakeOptimizer("adam8bit", {}, layout, be).value();
  auto a32 = MakeOptimizer("adam", {}, layout, be).value();
  RngStream rng(1, 0, 0, RngPurpose::kSynthetic);
  std::vector<float> p8(8192), p32, g(8192);
  for (float& x : p8) x = static_cast<float>(rng.NextGaussian());
  p32 = p8;
  const std::vector<float> start = p8;
  for (int s = 0; s < 20; ++s) {
    for (size_t i = 0; i < g.size(); ++i) g[i] = 0.1f * p32[i] + 0.05f * static_cast<float>(rng.NextGaussian());
    a8->Step(p8, g, 1e-2f);
    a32->Step(p32, g, 1e-2f);
  }
  double moved = 0, diff = 0;
  for (size_t i = 0; i < p8.size(); ++i)
    moved += std::pow(p32[i] - start[i], 2.0), diff += std::pow(p8[i] - p32[i], 2.0);
  EXPECT_LT(std::sqrt(diff / moved), 0.05);  // within 5% of the distance travelled
}

TEST(Schedule, ValuesBeforeEachStep) {
  LrSchedule s;
  s.kind = LrSchedule::Kind::kStep;
  s.step_size = 2, s.gamma = 0.5;
  EXPECT_DOUBLE_EQ(s.LrAt(1.0, 0), 1.0);
  EXPECT_DOUBLE_EQ(s.LrAt(1.0, 3), 0.5);
  EXPECT_DOUBLE_EQ(s.LrAt(1.0, 4), 0.25);
  s.kind = LrSchedule::Kind::kCosine;
  s.t_max = 10, s.eta_min = 0.1;
  EXPECT_DOUBLE_EQ(s.LrAt(1.0, 0), 1.0);
  EXPECT_NEAR(s.LrAt(1.0, 5), 0.55, 1e-12);
  EXPECT_NEAR(s.LrAt(1.0, 10), 0.1, 1e-12);
  EXPECT_NEAR(s.LrAt(1.0, 20), 0.1, 1e-12);
  s.kind = LrSchedule::Kind::kSgdr;  // cycles of 4, 8, 16, ...
  s.t_0 = 4, s.t_mult = 2, s.eta_min = 0;
  EXPECT_DOUBLE_EQ(s.LrAt(1.0, 4), 1.0);  // restart
  EXPECT_NEAR(s.LrAt(1.0, 2), 0.5, 1e-12);
  EXPECT_NEAR(s.LrAt(1.0, 8), 0.5, 1e-12);  // middle of the 8-step cycle
  EXPECT_DOUBLE_EQ(s.LrAt(1.0, 12), 1.0);
  s.kind = LrSchedule::Kind::kConstant;
  s.warmup_steps = 4;
  EXPECT_DOUBLE_EQ(s.LrAt(2.0, 0), 0.5);
  EXPECT_DOUBLE_EQ(s.LrAt(2.0, 3), 2.0);
  EXPECT_DOUBLE_EQ(s.LrAt(2.0, 9), 2.0);
}

TEST(Schedule, AppliedPerStepAndPersistedWithState) {
  auto root = ConfigNode::Parse("opt: {name: sgd, lr: 1.0, schedule: {name: step, step_size: 1, gamma: 0.5}}\n",
                                "t.yaml").value();
  auto spec = ParseOptimizer(root.Child("opt"));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  ParamLayout layout = OneTensor({1});
  const Backend& be = *GetBackend("cpu_ref").value();
  auto opt = spec->create(layout, be);
  std::vector<float> p = {0.0f}, g = {1.0f};
  opt->Step(p, g, 1.0f);  // lr 1
  opt->Step(p, g, 1.0f);  // lr 0.5
  EXPECT_FLOAT_EQ(p[0], -1.5f);
  ClientState st;
  opt->SaveState(st);
  auto resumed = spec->create(layout, be);
  resumed->LoadState(st);
  resumed->Step(p, g, 1.0f);  // lr 0.25: the counter continued
  EXPECT_FLOAT_EQ(p[0], -1.75f);
}

Status ParseError(const std::string& yaml) {
  auto root = ConfigNode::Parse(yaml, "t.yaml").value();
  auto spec = ParseOptimizer(root.Child("opt"));
  return spec.ok() ? Status() : spec.status();
}

TEST(Validation, RejectsUnknownNamesAndBadValuesWithClearErrors) {
  Status s = ParseError("opt: {name: adamm}\n");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("unknown optimizer 'adamm'"), std::string::npos) << s.message();
  for (const auto& info : ListOptimizers()) EXPECT_NE(s.message().find(info.name), std::string::npos) << info.name;
  for (const char* bad : {"opt: {name: adam, lr: -1}\n", "opt: {name: adam, beta1: 1.0}\n",
                          "opt: {name: adamw, beta2: -0.1}\n", "opt: {name: adam, eps: 0}\n",
                          "opt: {name: sgd, momentum: 1.5}\n", "opt: {name: lion, weight_decay: -1}\n",
                          "opt: {name: sophia, rho: 0}\n", "opt: {name: adam8bit, block_size: 300}\n",
                          "opt: {name: adam, cautious: 3}\n", "opt: {name: adam, schedule: {name: linear}}\n"}) {
    Status e = ParseError(bad);
    EXPECT_FALSE(e.ok()) << bad;
    EXPECT_NE(e.message().find("t.yaml:1"), std::string::npos) << e.message();
  }
  Status e = ParseError("opt: {name: adam, beta1: 1.0}\n");
  EXPECT_NE(e.message().find("opt.beta1"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("[0, 1)"), std::string::npos) << e.message();
  EXPECT_TRUE(ParseError("opt: {name: adam, lr: 0.01, beta1: 0.8}\n").ok());
}

TEST(Validation, EachOptimizerHasItsOwnDefaultLrAndExplicitLrWins) {
  auto lr_of = [](const std::string& yaml) {
    return ParseOptimizer(ConfigNode::Parse(yaml, "t.yaml").value().Child("opt")).value().lr;
  };
  EXPECT_DOUBLE_EQ(lr_of("opt: {name: adam}\n"), 1e-3);
  EXPECT_DOUBLE_EQ(lr_of("opt: {name: lion}\n"), 1e-4);
  EXPECT_DOUBLE_EQ(lr_of("opt: {name: sgd}\n"), 0.05);
  EXPECT_DOUBLE_EQ(lr_of("opt: {name: adam, lr: 0.05}\n"), 0.05);
  for (const auto& info : ListOptimizers()) {
    ASSERT_FALSE(info.defaults.empty());
    EXPECT_EQ(info.defaults.front().first, "lr") << info.name;
  }
}

}  // namespace
}  // namespace shoal::testing
