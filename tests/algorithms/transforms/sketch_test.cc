// Random sketching (Song-Wang-Yu-Zhang, ICML 2023; COMPRESSION.md §1) and PowerSGD (§8).
#include <sys/resource.h>

#include <chrono>

#include "algorithms/transforms/sketch.h"
#include "tests/algorithms/transforms/compress_test_util.h"

namespace shoal::compress {
namespace {
using namespace testing;

TEST(Fwht, MatchesTheHadamardMatrix) {
  // H_ij = (-1)^popcount(i & j).
  std::vector<float> x = RandomVector(16, 11), z = x;
  Fwht(z);
  for (int i = 0; i < 16; ++i) {
    double ref = 0;
    for (int j = 0; j < 16; ++j) ref += (__builtin_popcount(i & j) % 2 ? -1.0 : 1.0) * x[j];
    EXPECT_NEAR(z[i], ref, 1e-5);
  }
}

TEST(Sketch, SrhtWithFullRowsRecoversExactly) {
  auto x = RandomVector(1024, 12);
  auto y = RoundTrip(*MakeCodec("{name: sketch, family: srht, rows: 1024}"), x, Ctx());
  float linf = 0;
  for (float v : x) linf = std::max(linf, std::fabs(v));
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], x[i], 1e-5f * linf) << i;
}

TEST(Sketch, GaussianOracleIsUnbiased) {
  auto x = RandomVector(32, 13);
  // E||R^T R x - x||^2 = (d + 1)/b ||x||^2 for Gaussian R with N(0, 1/b) entries.
  EXPECT_LE(UnbiasednessRatio(*MakeCodec("{name: sketch, family: gaussian, rows: 8}"), x, 33.0 / 8, 2000), 1.0);
}

TEST(Sketch, SrhtUnbiasedWithPredictedVariance) {
  auto x = RandomVector(256, 14);
  const double omega = (256.0 - 16) / 16;
  std::vector<double> errs;
  EXPECT_LE(UnbiasednessRatio(*MakeCodec("{name: sketch, family: srht, rows: 16}"), x, omega, 10000, &errs), 1.0);
  double mean_err = 0;
  for (double e : errs) mean_err += e / static_cast<double>(errs.size());
  EXPECT_NEAR(mean_err / (omega * SqNorm(x)), 1.0, 0.1);
}

TEST(Sketch, CountSketchUnbiasedWithPredictedVariance) {
  auto x = RandomVector(200, 15);
  const double omega = (200.0 - 1) / 20;
  std::vector<double> errs;
  EXPECT_LE(UnbiasednessRatio(*MakeCodec("{name: sketch, family: countsketch, rows: 20}"), x, omega, 10000, &errs), 1.0);
  double mean_err = 0;
  for (double e : errs) mean_err += e / static_cast<double>(errs.size());
  EXPECT_NEAR(mean_err / (omega * SqNorm(x)), 1.0, 0.1);
}

TEST(Sketch, SameRoundSameMatrixForAllClients) {
  // The server aggregates sketches of one round: R must not depend on the client.
  auto x = RandomVector(100, 16);
  auto c = MakeCodec("{name: sketch, family: countsketch, rows: 10}");
  EXPECT_EQ(RoundTrip(*c, x, Ctx(7, 3, 1)), RoundTrip(*c, x, Ctx(7, 3, 9)));
  EXPECT_NE(RoundTrip(*c, x, Ctx(7, 3, 1)), RoundTrip(*c, x, Ctx(7, 4, 1)));
}

TEST(Sketch, HugeDimensionNeverMaterializesTheMatrix) {
  // A dense 1e4 x 1e7 matrix would be 400 GB; both families must run in
  // O(d) memory: the peak RSS grows by well under 1 GB.
  const int64_t d = 10'000'000;
  std::vector<float> x(static_cast<size_t>(d), 0.0f);
  for (int64_t i = 0; i < d; i += 997) x[static_cast<size_t>(i)] = 1.0f;
  for (const char* family : {"srht", "countsketch"}) {
    auto c = MakeCodec(std::string("{name: sketch, family: ") + family + ", rows: 10000}");
    ClientUpdate u;
    u.delta = x;
    auto bytes = c->Encode(u, Ctx());
    ASSERT_TRUE(bytes.ok()) << family;
    EXPECT_LT(bytes->size(), 40'200u) << family;  // 4b payload plus the envelope
    auto back = c->Decode(*bytes, d, Ctx());
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->delta.size(), x.size());
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  EXPECT_LT(ru.ru_maxrss, 1'000'000) << "peak RSS in KiB";
}

TEST(Sketch, DpNoiseIsAddedInSketchSpace) {
  auto x = RandomVector(256, 17);
  auto plain = MakeCodec("{name: sketch, rows: 256}");
  auto noisy = MakeCodec("{name: sketch, rows: 256, noise_std: 0.5}");
  // At b = d' the desketch is orthogonal: the noise keeps its energy, d' sigma^2.
  double e = SqDist(RoundTrip(*noisy, x, Ctx()), RoundTrip(*plain, x, Ctx()));
  EXPECT_NEAR(e / (256 * 0.25), 1.0, 0.3);
}

ParamLayout MatrixLayout(int64_t n, int64_t m) {
  ParamLayout l;
  l.Add("w", {n, m});
  l.Add("b", {n});
  return l;
}

TEST(PowerSgd, RankOneMatrixIsExact) {
  const int64_t n = 30, m = 20;
  ParamLayout layout = MatrixLayout(n, m);
  auto u = RandomVector(n, 18), v = RandomVector(m, 19);
  ClientUpdate up;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) up.delta.push_back(u[i] * v[j]);
  for (int64_t i = 0; i < n; ++i) up.delta.push_back(static_cast<float>(i));
  const std::vector<float> x = up.delta;
  auto t = MakeTransform("{name: powersgd, rank: 1}");
  ClientState state;
  TransformContext ctx = Ctx(7, 3, 2, &layout);
  ASSERT_TRUE(t->Apply(up, state, ctx).ok());
  EXPECT_EQ(up.delta.size(), static_cast<size_t>(n + m + n));  // P, Q and the bias
  auto bytes = t->codec()->Encode(up, ctx);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto back = t->codec()->Decode(*bytes, layout.total_size(), ctx);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(back->delta[i], x[i], 1e-4f * (1 + std::fabs(x[i]))) << i;
}

TEST(PowerSgd, WarmStartConvergesToBestRankRApproximation) {
  // M = sum_j sigma_j a_j b_j^T with orthonormal a, b (coordinate vectors):
  // repeated steps on a fixed M (no error feedback) converge to Eckart-Young.
  const int64_t n = 12, m = 10;
  ParamLayout layout = MatrixLayout(n, m);
  const double sigma[] = {5, 3, 1, 0.5};
  std::vector<float> x(static_cast<size_t>(n * m + n), 0.0f);
  for (int j = 0; j < 4; ++j) x[static_cast<size_t>(j * m + (j * 3) % m)] = static_cast<float>(sigma[j]);
  auto t = MakeTransform("{name: powersgd, rank: 2, error_feedback: false}");
  ClientState state;
  TransformContext ctx = Ctx(7, 3, 2, &layout);
  double err = 0;
  for (int step = 0; step < 30; ++step) {
    ClientUpdate up;
    up.delta = x;
    ASSERT_TRUE(t->Apply(up, state, ctx).ok());
    auto back = t->codec()->Decode(*t->codec()->Encode(up, ctx), layout.total_size(), ctx);
    ASSERT_TRUE(back.ok());
    err = SqDist(back->delta, x);
  }
  EXPECT_NEAR(err, 1.0 + 0.25, 1e-3);
}

}  // namespace
}  // namespace shoal::compress
