// Top-k options from Deep Gradient Compression (sparsify.cc): per-tensor
// selection and sparsity warm-up, checked against hand-derived selections and
// counts, plus the error-feedback invariant with both enabled.
#include <cmath>

#include "tests/algorithms/transforms/compress_test_util.h"

namespace shoal::compress {
namespace {
using namespace testing;

// Two tensors: "a" (6 values, offset 0) and "b" (2x2, offset 6).
ParamLayout TwoTensors() {
  ParamLayout l;
  l.Add("a", {6});
  l.Add("b", {2, 2});
  return l;
}

int64_t NonZeros(const std::vector<float>& v) {
  int64_t n = 0;
  for (float x : v) n += x != 0.0f;
  return n;
}

TEST(TopKPerTensor, KeepsTheLargestOfEveryTensor) {
  const ParamLayout layout = TwoTensors();
  // density 0.25: k_a = ceil(1.5) = 2, k_b = ceil(1.0) = 1. A global top-3
  // would take 10, -9, 8 (all in "a") and nothing of "b".
  const std::vector<float> x = {10, -9, 8, 1, 0, 2, 0.5f, -0.7f, 0.1f, 0.6f};
  auto per = MakeCodec("{name: topk, density: 0.25, per_tensor: true}");
  EXPECT_EQ(RoundTrip(*per, x, Ctx(7, 3, 2, &layout)), (std::vector<float>{10, -9, 0, 0, 0, 0, 0, -0.7f, 0, 0}));
  auto global = MakeCodec("{name: topk, density: 0.3}");  // k = 3
  EXPECT_EQ(RoundTrip(*global, x, Ctx(7, 3, 2, &layout)), (std::vector<float>{10, -9, 8, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(TopKPerTensor, ContractsEveryTensor) {
  ParamLayout layout;
  layout.Add("w1", {30, 20});
  layout.Add("b1", {30});
  layout.Add("w2", {3, 30});
  layout.Add("b2", {3});
  std::vector<float> x = RandomVector(layout.total_size(), 11);
  for (int64_t i = 600; i < 630; ++i) x[i] *= 100.0f;  // a dominant tensor would starve the rest globally
  auto c = MakeCodec("{name: topk, density: 0.05, per_tensor: true}");
  std::vector<float> y = RoundTrip(*c, x, Ctx(7, 3, 2, &layout));
  for (const TensorSpec& t : layout.tensors()) {
    std::vector<float> xs(x.begin() + t.offset, x.begin() + t.offset + t.size);
    std::vector<float> ys(y.begin() + t.offset, y.begin() + t.offset + t.size);
    const int64_t k = KeepCount(0.05, t.size);
    EXPECT_EQ(NonZeros(ys), k) << t.name;
    EXPECT_LE(SqDist(ys, xs), (1.0 - static_cast<double>(k) / t.size) * SqNorm(xs) * (1 + 1e-9)) << t.name;
  }
}

TEST(TopKPerTensor, NeedsTheLayoutAndRejectsWrongPerTensorCounts) {
  const ParamLayout layout = TwoTensors();
  const std::vector<float> x = {10, -9, 8, 1, 0, 2, 0.5f, -0.7f, 0.1f, 0.6f};
  auto per = MakeCodec("{name: topk, density: 0.25, per_tensor: true}");
  ClientUpdate u;
  u.delta = x;
  auto no_layout = per->Encode(u, Ctx());
  ASSERT_FALSE(no_layout.ok());
  EXPECT_NE(no_layout.status().message().find("ParamLayout"), std::string::npos);
  // A global top-3 payload has the right total k = 3 but puts all three
  // indices in "a"; the per-tensor decoder must refuse it.
  auto global = MakeCodec("{name: topk, density: 0.3}");
  auto bytes = global->Encode(u, Ctx(7, 3, 2, &layout));
  ASSERT_TRUE(bytes.ok());
  auto back = per->Decode(*bytes, 10, Ctx(7, 3, 2, &layout));
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.status().message().find("per_tensor"), std::string::npos) << back.status().ToString();
}

TEST(TopKWarmup, DensityFollowsTheGeometricSchedule) {
  // d = 999, rho0 = 0.25, density 0.01, R = 4: rho_t = 0.25 * 0.04^(t/4)
  //   t=0: 0.25 -> 249.75 -> 250;  t=1: 0.111803 -> 111.69 -> 112;
  //   t=2: 0.05 -> 49.95 -> 50;    t=3: 0.0223607 -> 22.34 -> 23;
  //   t>=4: 0.01 -> 9.99 -> 10.
  const int64_t d = 999;
  std::vector<float> x(d);
  for (int64_t i = 0; i < d; ++i) x[i] = static_cast<float>(i + 1) * (i % 2 ? -1.0f : 1.0f);
  auto c = MakeCodec("{name: topk, density: 0.01, warmup_rounds: 4, warmup_density: 0.25}");
  const int64_t want[] = {250, 112, 50, 23, 10, 10};
  for (int64_t round = 0; round < 6; ++round) {
    std::vector<float> y = RoundTrip(*c, x, Ctx(7, round, 2));
    EXPECT_EQ(NonZeros(y), want[round]) << "round " << round;
    // The kept ones are the largest magnitudes: d - k + 1 .. d.
    for (int64_t i = d - want[round]; i < d; ++i) EXPECT_EQ(y[i], x[i]) << "round " << round << " index " << i;
  }
}

TEST(TopKWarmup, StartDensityMustExceedTheTarget) {
  auto root = ConfigNode::Parse("client: {pipeline: [{name: topk, density: 0.1, warmup_rounds: 3, warmup_density: 0.05}]}",
                                "t.yaml").value();
  auto p = ParsePipeline(root.Child("client"));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("warmup_density"), std::string::npos) << p.status().ToString();
}

TEST(TopKOptions, ErrorFeedbackInvariantHoldsWithPerTensorAndWarmup) {
  ParamLayout layout;
  layout.Add("w", {20, 20});
  layout.Add("b", {20});
  layout.Add("out", {80});
  const int64_t d = layout.total_size();
  auto t = MakeTransform("{name: topk, density: 0.02, per_tensor: true, warmup_rounds: 5, warmup_density: 0.5}");
  EXPECT_LE(ErrorFeedbackDefect(*t, d, 12, 300, &layout), 1e-5);
}

}  // namespace
}  // namespace shoal::compress
