// QSGD, TernGrad, scaled sign and 8-bit block quantization (COMPRESSION.md §4-7).
#include "tests/algorithms/transforms/compress_test_util.h"

namespace shoal::compress {
namespace {
using namespace testing;

TEST(Qsgd, UnitVectorIsExact) {
  std::vector<float> x(100, 0.0f);
  x[0] = 1.0f;
  EXPECT_EQ(RoundTrip(*MakeCodec("{name: qsgd}"), x, Ctx()), x);
}

TEST(Qsgd, UnbiasedAndVarianceWithinBound) {
  auto x = RandomVector(300, 6);
  const double B = 64, s = 4;
  const double omega = std::min(B / (s * s), std::sqrt(B) / s);
  auto c = MakeCodec("{name: qsgd, levels: 4, bucket: 64}");
  std::vector<double> errs;
  EXPECT_LE(UnbiasednessRatio(*c, x, omega, 4000, &errs), 1.0);
  double mean_err = 0;
  for (double e : errs) mean_err += e / static_cast<double>(errs.size());
  EXPECT_LE(mean_err, omega * SqNorm(x));
}

TEST(Qsgd, UsesFourBitsPerCoordinateAtSevenLevels) {
  ClientUpdate u;
  u.delta = RandomVector(1000, 7);
  auto q = MakeCodec("{name: qsgd}")->Encode(u, Ctx());
  auto dense = DenseCodec()->Encode(u, Ctx());
  // envelope: method, flags, varint d (2), round, varint payload_len (2); payload: 2 norms + 500 bytes.
  EXPECT_EQ(q->size(), dense->size() - 8 - 4000 + (1 + 1 + 2 + 1 + 2) + (8 + 500));
}

TEST(TernGrad, ConstantLayerIsExact) {
  std::vector<float> x(50, 0.75f);
  EXPECT_EQ(RoundTrip(*MakeCodec("{name: terngrad}"), x, Ctx()), x);
}

TEST(TernGrad, UnbiasedWithoutClipping) {
  auto x = RandomVector(200, 8);
  double linf = 0, l1 = 0;
  for (float v : x) linf = std::max(linf, double{std::fabs(v)}), l1 += std::fabs(v);
  // E||g~ - g||^2 = ||g||_inf ||g||_1 - ||g||^2.
  const double omega = linf * l1 / SqNorm(x) - 1;
  EXPECT_LE(UnbiasednessRatio(*MakeCodec("{name: terngrad, clip_sigma: 0}"), x, omega, 4000), 1.0);
}

TEST(ScaledSign, ContractionIdentityHolds) {
  auto c = MakeCodec("{name: sign}");
  for (uint64_t seed : {1, 2, 3}) {
    auto p = RandomVector(333, seed);
    double l1 = 0;
    for (float v : p) l1 += std::fabs(v);
    const double expect = SqNorm(p) - l1 * l1 / 333.0;  // ||p - C(p)||^2 = ||p||^2 - ||p||_1^2/n
    EXPECT_NEAR(SqDist(RoundTrip(*c, p, Ctx()), p), expect, 1e-6 * SqNorm(p));
  }
  std::vector<float> cst(40, -1.25f);
  EXPECT_EQ(RoundTrip(*c, cst, Ctx()), cst);
}

TEST(ScaledSign, ScalesPerTensorOfTheLayout) {
  ParamLayout layout;
  layout.Add("w", {2, 3});
  layout.Add("b", {2});
  std::vector<float> x = {1, -2, 3, -4, 5, -6, 10, 0};
  auto y = RoundTrip(*MakeCodec("{name: sign}"), x, Ctx(7, 3, 2, &layout));
  EXPECT_EQ(y, (std::vector<float>{3.5f, -3.5f, 3.5f, -3.5f, 3.5f, -3.5f, 5, 5}));
}

TEST(Int8, RepresentableValuesRoundTripExactly) {
  std::vector<float> x;
  const float a = 2.0f;
  for (int q = -127; q <= 127; ++q) x.push_back(a * static_cast<float>(q) / 127.0f);
  EXPECT_EQ(RoundTrip(*MakeCodec("{name: int8, block: 255, rounding: nearest}"), x, Ctx()), x);
}

TEST(Int8, NearestErrorWithinHalfStep) {
  auto x = RandomVector(1000, 9);
  auto y = RoundTrip(*MakeCodec("{name: int8, rounding: nearest}"), x, Ctx());
  for (size_t b0 = 0; b0 < x.size(); b0 += 256) {
    float a = 0;
    for (size_t i = b0; i < std::min(x.size(), b0 + 256); ++i) a = std::max(a, std::fabs(x[i]));
    for (size_t i = b0; i < std::min(x.size(), b0 + 256); ++i) EXPECT_LE(std::fabs(y[i] - x[i]), a / 254 * (1 + 1e-5f)) << i;
  }
}

TEST(Int8, StochasticRoundingIsUnbiased) {
  auto x = RandomVector(300, 10);
  // Per coordinate variance <= (a/127)^2/4; a <= ||x||_inf.
  double linf = 0;
  for (float v : x) linf = std::max(linf, double{std::fabs(v)});
  const double omega = 300 * std::pow(linf / 127, 2) / 4 / SqNorm(x);
  EXPECT_LE(UnbiasednessRatio(*MakeCodec("{name: int8}"), x, omega, 2000), 1.0);
}

}  // namespace
}  // namespace shoal::compress
