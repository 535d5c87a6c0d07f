// Top-k, rand-k and error feedback (COMPRESSION.md §3).
#include <algorithm>
#include <numeric>

#include "tests/algorithms/transforms/compress_test_util.h"

namespace shoal::compress {
namespace {
using namespace testing;

TEST(TopK, KeepsExactlyTheLargestOfAShuffledRamp) {
  const int64_t d = 1000;
  std::vector<float> x(d);
  std::iota(x.begin(), x.end(), 1.0f);
  RngStream r(5, 0, 0, RngPurpose::kSynthetic);
  r.Shuffle(std::span<float>(x));
  for (size_t i = 0; i < x.size(); i += 2) x[i] = -x[i];
  auto c = MakeCodec("{name: topk, density: 0.1}");
  std::vector<float> y = RoundTrip(*c, x, Ctx());
  for (int64_t i = 0; i < d; ++i) {
    bool large = std::fabs(x[i]) > 900.0f;  // the 100 largest magnitudes are 901..1000
    EXPECT_EQ(y[i], large ? x[i] : 0.0f) << i;
  }
}

TEST(TopK, TiesKeepTheLowerIndex) {
  std::vector<float> x = {1, -3, 3, 2, 3, -3, 0, 1};
  auto c = MakeCodec("{name: topk, density: 0.25}");  // k = 2
  std::vector<float> y = RoundTrip(*c, x, Ctx());
  EXPECT_EQ(y, (std::vector<float>{0, -3, 3, 0, 0, 0, 0, 0}));
}

TEST(TopK, SatisfiesContractionBound) {
  std::vector<std::vector<float>> cases = {RandomVector(777, 1), std::vector<float>(300, 2.5f)};
  std::vector<float> sparse(500, 0.0f);
  sparse[3] = 5, sparse[100] = -7, sparse[499] = 1e-3f;
  cases.push_back(sparse);
  std::vector<float> heavy = RandomVector(1000, 2);  // adversarial: one huge, many tiny
  heavy[17] = 1e6f;
  cases.push_back(heavy);
  for (double density : {0.01, 0.1, 0.5}) {
    auto c = MakeCodec("{name: topk, density: " + std::to_string(density) + "}");
    for (const auto& x : cases) {
      const double d = static_cast<double>(x.size());
      const double k = static_cast<double>(KeepCount(density, static_cast<int64_t>(x.size())));
      EXPECT_LE(SqDist(RoundTrip(*c, x, Ctx()), x), (1.0 - k / d) * SqNorm(x) * (1 + 1e-9)) << density;
    }
  }
}

TEST(TopK, FullDensityIsIdentityAndBitmapIsUsedWhenSmaller) {
  auto x = RandomVector(100, 3);
  auto c = MakeCodec("{name: topk, density: 1.0}");
  EXPECT_EQ(RoundTrip(*c, x, Ctx()), x);
  ClientUpdate u;
  u.delta = x;
  auto bytes = c->Encode(u, Ctx());
  ASSERT_TRUE(bytes.ok());
  // k = d = 100: gaps would take 100 bytes, the bitmap 13.
  auto dense = DenseCodec()->Encode(u, Ctx());
  EXPECT_EQ(bytes->size(), dense->size() - 8 - 400 + (1 + 1 + 1 + 1 + 2) + (1 + 13 + 400));
}

TEST(ErrorFeedback, SentPlusResidualEqualsSumOfUpdates) {
  auto t = MakeTransform("{name: topk, density: 0.02, error_feedback: true}");
  EXPECT_LE(ErrorFeedbackDefect(*t, 500, 20, 100), 1e-5);
}

TEST(RandK, ScaledIsUnbiased) {
  auto x = RandomVector(200, 4);
  auto c = MakeCodec("{name: randk, density: 0.1}");
  EXPECT_LE(UnbiasednessRatio(*c, x, 200.0 / 20 - 1, 4000), 1.0);
}

TEST(RandK, UnscaledFullDensityIsIdentity) {
  auto x = RandomVector(64, 5);
  EXPECT_EQ(RoundTrip(*MakeCodec("{name: randk, density: 1.0, error_feedback: true, scaled: false}"), x, Ctx()), x);
}

TEST(RandK, ScaledWithErrorFeedbackIsRejected) {
  auto root = ConfigNode::Parse("client: {pipeline: [{name: randk, error_feedback: true, scaled: true}]}", "t.yaml").value();
  auto p = ParsePipeline(root.Child("client"));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("scaled"), std::string::npos);
}

TEST(Pipeline, CompressorMustBeLast) {
  auto root = ConfigNode::Parse("client: {pipeline: [{name: topk}, {name: qsgd}]}", "t.yaml").value();
  auto p = ParsePipeline(root.Child("client"));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("last entry"), std::string::npos) << p.status().ToString();
}

}  // namespace
}  // namespace shoal::compress
