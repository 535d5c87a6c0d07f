// First and second steps of every optimizer against the reference values of
// shared/OPTIMIZERS.md §8 (independent float64 implementations, most checked
// against torch 1.13 or the official code): p0 = [0.5, -1, 2],
// g1 = [0.1, -0.2, 0.3], g2 = [-0.05, 0.4, 0.1], g3 = [0.01, 0.01, -0.01], lr 0.1.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/algorithms/optimizers/optimizer_test_util.h"

namespace shoal::testing {
namespace {

const std::vector<float> kP0 = {0.5f, -1.0f, 2.0f};
const std::vector<std::vector<float>> kGrads = {{0.1f, -0.2f, 0.3f}, {-0.05f, 0.4f, 0.1f}, {0.01f, 0.01f, -0.01f}};
constexpr double kTol = 2e-6;  // float32 arithmetic against float64 references

struct Case {
  std::string label, name;
  HParams overrides;
  std::vector<double> step1, step2;
  std::vector<double> step3 = {};  // optional
  float lr = 0.1f;
};

std::vector<Case> Cases() {
  return {
      {"SGD", "sgd", {}, {0.49, -0.98, 1.97}, {0.495, -1.02, 1.96}},
      {"Momentum", "momentum", {}, {0.49, -0.98, 1.97}, {0.486, -1.002, 1.933}},
      {"Nesterov", "nesterov", {}, {0.481, -0.962, 1.943}, {0.4824, -1.0218, 1.8997}},
      {"Adam", "adam", {}, {0.40000001, -0.9, 1.9}, {0.37336631, -0.93661036, 1.8128936},
       {0.3471643, -0.96633211, 1.7476148}},
      {"AdamL2", "adam", {{"weight_decay", 0.01}}, {0.40000001, -0.9, 1.9}, {0.36850349, -0.93387199, 1.8112514}},
      {"AdamW", "adamw", {}, {0.39950001, -0.899, 1.898}, {0.37246681, -0.93471136, 1.8089956}},
      {"AmsgradPyTorch", "amsgrad", {}, {0.40000001, -0.9, 1.9}, {0.37336631, -0.93661036, 1.8128936},
       {0.3471643, -0.96632468, 1.7476148}},
      {"AmsgradReddi", "amsgrad", {{"form", 1}}, {0.18377323, -0.68377273, 1.6837726},
       {0.070591187, -0.83935167, 1.3136063}, {-0.059114575, -0.98644449, 0.99046135}},
      {"AmsgradMaxVhat", "amsgrad", {{"form", 2}}, {0.40000001, -0.9, 1.9}, {0.37894738, -0.93661036, 1.8350877},
       {0.36197321, -0.96087807, 1.7953583}},
      {"AdabeliefDefault", "adabelief", {}, {0.49, -0.98, 1.97}, {0.48789474, -0.99157895, 1.9505263}},
      {"AdabeliefPlain", "adabelief", {{"rectify", 0}}, {0.38888889, -0.88888889, 1.8888889},
       {0.36051881, -0.92799499, 1.789535}},
      {"DiffgradV2", "diffgrad", {}, {0.44750225, -0.94501669, 1.9425558}, {0.43318854, -0.96865438, 1.8946618}},
      {"Adabound", "adabound", {}, {0.40000032, -0.90000016, 1.9000001}, {0.37336669, -0.93661048, 1.8128938}},
      {"Lion", "lion", {}, {0.4, -0.9, 1.9}, {0.5, -1, 1.8}},
      {"Ademamix", "ademamix", {}, {0.39998001, -0.89998001, 1.89998}, {0.37333366, -0.93660301, 1.8128378}},
      {"Grams", "grams", {}, {0.40000001, -0.9, 1.9}, {0.42663371, -0.93661036, 1.8128936}},
      {"CautiousAdamwMean", "adamw", {{"weight_decay", 0}, {"cautious", 1}}, {0.40000001, -0.9, 1.9},
       {0.40000001, -0.95491553, 1.7693404}},
      {"CautiousAdamwCount", "adamw", {{"weight_decay", 0}, {"cautious", 2}}, {0.42500001, -0.925, 1.925},
       {0.42500001, -0.96161036, 1.8378936}},
      {"Adafactor1D", "adafactor", {}, {0.48677124, -0.98677124, 1.9867712}, {0.49546084, -1.0026633, 1.9805239}},
      {"Dog", "dog", {}, {0.49999912, -0.99999824, 1.9999974}, {0.49999941, -1.0000006, 1.9999968}},
      {"Adagrad", "adagrad", {}, {0.4, -0.9, 1.9}, {0.44472136, -0.98944272, 1.8683772}},
      {"Rmsprop", "rmsprop", {}, {-0.499999, -4.9999975e-07, 1.0000003}, {-0.050986148, -0.89532326, 0.68233997}},
      {"Adadelta", "adadelta", {}, {0.49968393, -0.99968381, 1.9996838}, {0.4998923, -1.0000878, 1.9995356}},
      {"Adamax", "adamax", {}, {0.40000001, -0.9, 1.9}, {0.37892631, -0.92894737, 1.8350227}},
      {"Radam", "radam", {}, {0.49, -0.98, 1.97}, {0.48789474, -0.99157895, 1.9505263}},
      {"Nadam", "nadam", {}, {0.39435483, -0.89435483, 1.8943548}, {0.4354658, -0.98501057, 1.8553116}},
      // Tensors below min_8bit_size keep fp32 moments: exactly Adam.
      {"Adam8bitSmallTensor", "adam8bit", {}, {0.40000001, -0.9, 1.9}, {0.37336631, -0.93661036, 1.8128936}},
  };
}

class ReferenceSteps : public ::testing::TestWithParam<Case> {};

TEST_P(ReferenceSteps, MatchesSpecTable) {
  const Case& c = GetParam();
  ParamLayout layout = OneTensor({3});
  auto opt = MakeOptimizer(c.name, c.overrides, layout, *GetBackend("cpu_ref").value());
  ASSERT_TRUE(opt.ok()) << opt.status().ToString();
  size_t n = c.step3.empty() ? 2 : 3;
  auto ps = RunSteps(**opt, kP0, {kGrads.begin(), kGrads.begin() + n}, c.lr);
  ExpectNear(ps[0], c.step1, kTol, c.label + " step 1");
  ExpectNear(ps[1], c.step2, kTol, c.label + " step 2");
  if (n == 3) ExpectNear(ps[2], c.step3, kTol, c.label + " step 3");
}

INSTANTIATE_TEST_SUITE_P(Spec, ReferenceSteps, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.label; });

// The fused Adam/AdamW paths give the same steps on every backend.
TEST(ReferenceSteps, AdamSameOnSimdBackend) {
  ParamLayout layout = OneTensor({3});
  auto opt = MakeOptimizer("adamw", {}, layout, *GetBackend("cpu_simd").value());
  ASSERT_TRUE(opt.ok());
  auto ps = RunSteps(**opt, kP0, {kGrads[0], kGrads[1]}, 0.1f);
  ExpectNear(ps[1], {0.37246681, -0.93471136, 1.8089956}, kTol, "adamw simd");
}

TEST(ReferenceSteps, SophiaBeforeFirstEstimateIsSignMomentum) {
  ParamLayout layout = OneTensor({3});
  auto opt = MakeOptimizer("sophia", {}, layout, *GetBackend("cpu_ref").value());
  ASSERT_TRUE(opt.ok());
  ScriptedContext ctx;  // default update_period 10: no estimate within two steps
  auto ps = RunSteps(**opt, kP0, {kGrads[0], kGrads[1]}, 0.1f, &ctx);
  ExpectNear(ps[0], {0.395, -0.89, 1.88}, kTol, "sophia step 1");
  ExpectNear(ps[1], {0.29105, -0.9811, 1.7612}, kTol, "sophia step 2");
}

TEST(ReferenceSteps, SophiaGnbWithGivenEstimates) {
  ParamLayout layout = OneTensor({3});
  auto opt = MakeOptimizer("sophia", {{"update_period", 1}}, layout, *GetBackend("cpu_ref").value());
  ASSERT_TRUE(opt.ok());
  ScriptedContext ctx;  // h_hat = g_hat^2, so script g_hat = sqrt(h_hat)
  for (const auto& h : {std::vector<double>{1, 2, 0.5}, {1.2, 1.8, 0.6}, {1.1, 1.9, 0.55}}) {
    std::vector<float> g;
    for (double x : h) g.push_back(static_cast<float>(std::sqrt(x)));
    ctx.sampled.push_back(g);
  }
  auto ps = RunSteps(**opt, kP0, {kGrads[0], kGrads[1]}, 0.1f, &ctx);
  ExpectNear(ps[0], {0.395, -0.89, 1.88}, kTol, "sophia step 1");
  ExpectNear(ps[1], {0.39097053, -0.88127688, 1.8598687}, kTol, "sophia step 2");
}

TEST(ReferenceSteps, AdahessianWithGivenDiagonal) {
  ParamLayout layout = OneTensor({3});
  auto opt = MakeOptimizer("adahessian", {}, layout, *GetBackend("cpu_ref").value());
  ASSERT_TRUE(opt.ok());
  ScriptedContext ctx;  // D = |H z|: script H z = D
  ctx.hv = {{1, 2, 0.5}, {1.2f, 1.8f, 0.6f}};
  auto ps = RunSteps(**opt, kP0, {kGrads[0], kGrads[1]}, 0.1f, &ctx);
  ExpectNear(ps[0], {0.490001, -0.9900005, 1.940012}, kTol, "adahessian step 1");
  ExpectNear(ps[1], {0.48809524, -0.9960861, 1.9047587}, kTol, "adahessian step 2");
}

TEST(ReferenceSteps, SpsMaxWithGivenLosses) {
  ParamLayout layout = OneTensor({3});
  auto opt = MakeOptimizer("sps", {}, layout, *GetBackend("cpu_ref").value());
  ASSERT_TRUE(opt.ok());
  ScriptedContext ctx;
  ctx.losses = {1.0, 0.8};
  auto ps = RunSteps(**opt, kP0, {kGrads[0], kGrads[1]}, 1.0f, &ctx);  // lr is the cap gamma_b = 1
  ExpectNear(ps[0], {0.4, -0.8, 1.7}, kTol, "sps step 1");
  ExpectNear(ps[1], {0.45, -1.2, 1.6}, kTol, "sps step 2");
}

// Matrix examples of §8.
const std::vector<float> kW0 = {0.5f, -1, 2, 1.5f, 0.3f, -0.7f};
const std::vector<std::vector<float>> kG = {{0.1f, -0.2f, 0.3f, 0.4f, 0, -0.1f}, {-0.05f, 0.4f, 0.1f, 0.2f, -0.3f, 0.05f}};

TEST(ReferenceSteps, AdafactorFactored) {
  ParamLayout layout = OneTensor({2, 3});
  auto opt = MakeOptimizer("adafactor", {}, layout, *GetBackend("cpu_ref").value());
  ASSERT_TRUE(opt.ok());
  auto ps = RunSteps(**opt, kW0, kG, 0.1f);
  ExpectNear(ps[0], {0.49589187, -0.98306173, 1.9839309, 1.4850877, 0.3, -0.69513919}, kTol, "W1");
  ExpectNear(ps[1], {0.49846223, -0.99902293, 1.9767609, 1.4744588, 0.31237547, -0.69884539}, kTol, "W2");
}

TEST(ReferenceSteps, SoapInitialisesThenSteps) {
  ParamLayout layout = OneTensor({2, 3});
  auto opt = MakeOptimizer("soap", {{"weight_decay", 0}}, layout, *GetBackend("cpu_ref").value());
  ASSERT_TRUE(opt.ok());
  auto ps = RunSteps(**opt, kW0, kG, 0.1f);
  EXPECT_EQ(ps[0], kW0) << "call 1 only initialises";
  ExpectNear(ps[1], {0.55375264, -1.1001617, 2.0209112, 1.3995623, 0.4871538, -0.73907291}, 1e-5, "call 2");
}

const std::vector<float> kS0 = {0.5f, -1, 2, 1.5f};
const std::vector<std::vector<float>> kSG = {{0.1f, -0.2f, 0.3f, 0.4f}, {-0.05f, 0.4f, 0.1f, 0.2f}};

// The spec's Shampoo example preconditions the raw gradient (beta1 = 0).
TEST(ReferenceSteps, ShampooNoGrafting) {
  ParamLayout layout = OneTensor({2, 2});
  auto opt = MakeOptimizer("shampoo", {{"beta1", 0}, {"precondition_frequency", 1}}, layout, *GetBackend("cpu_ref").value());
  ASSERT_TRUE(opt.ok());
  auto ps = RunSteps(**opt, kS0, kSG, 0.1f);
  ExpectNear(ps[0], {0.42928932, -0.92928932, 1.9292893, 1.4292893}, 1e-5, "W1");
  ExpectNear(ps[1], {0.45397442, -1.0059968, 1.9090829, 1.3986536}, 1e-5, "W2");
}

TEST(ReferenceSteps, ShampooGraftedOnAdagrad) {
  ParamLayout layout = OneTensor({2, 2});
  auto opt = MakeOptimizer("shampoo", {{"beta1", 0}, {"grafting", 1}, {"precondition_frequency", 1}}, layout, *GetBackend("cpu_ref").value());
  ASSERT_TRUE(opt.ok());
  auto ps = RunSteps(**opt, kS0, kSG, 0.1f);
  ExpectNear(ps[0], {0.4, -0.9, 1.9, 1.4}, 1e-5, "W1");
  ExpectNear(ps[1], {0.43178642, -0.99877449, 1.8739807, 1.3605511}, 1e-5, "W2");
}

}  // namespace
}  // namespace shoal::testing
