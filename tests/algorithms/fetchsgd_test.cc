// FetchSGD's count sketch and server step (COMPRESSION.md §2).
#include "algorithms/fetchsgd.h"

#include <gtest/gtest.h>

#include <set>

#include "core/rng.h"

namespace shoal {
namespace {

TEST(FetchSgd, RecoversHeavyHittersAndZeroesTheirBuckets) {
  const int64_t d = 10'000;
  std::vector<float> x(d);
  RngStream rng(3, 0, 0, RngPurpose::kSynthetic);
  for (float& v : x) v = static_cast<float>(0.1 * rng.NextGaussian());
  std::set<int64_t> spikes;
  while (spikes.size() < 10) spikes.insert(static_cast<int64_t>(rng.NextBelow(d)));
  for (int64_t i : spikes) x[i] = 100.0f;

  // COMPRESSION.md §2 suggests c = 200; with 10 spikes a coordinate then
  // shares a bucket with a spike in >= 3 of 5 rows with probability
  // C(5,3) 0.05^3 ~ 1.2e-3, and with equal signs 1/4 of that: ~3 false
  // heavy hitters of |est| ~ 100 among 10^4 coordinates. c = 1000 makes the
  // expected number 0.025.
  FetchSgdOptions o;
  o.rows = 5, o.cols = 1000, o.k = 10, o.momentum = 0.0;
  FetchSgdServer server(o, d, 42);
  std::vector<float> table(server.hash().table_size(), 0.0f);
  server.hash().Accumulate(x, table);
  std::vector<int64_t> idx;
  std::vector<float> val;
  server.Step(table, &idx, &val);
  EXPECT_EQ(std::set<int64_t>(idx.begin(), idx.end()), spikes);
  for (float v : val) EXPECT_NEAR(v, 100.0f, 5.0f);
  for (int64_t i : idx)
    for (int r = 0; r < o.rows; ++r) {
      size_t b = static_cast<size_t>(r * o.cols + server.hash().Bucket(r, i));
      EXPECT_EQ(server.error_table()[b], 0.0f);
      EXPECT_EQ(server.momentum_table()[b], 0.0f);
    }
}

TEST(FetchSgd, SketchIsLinearAndEstimatesASingleCoordinateExactly) {
  compress::CountSketchHash h(3, 50, 9);
  std::vector<float> a(1000, 0.0f), b(1000, 0.0f), ab(1000);
  RngStream rng(4, 0, 0, RngPurpose::kSynthetic);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(rng.NextGaussian()), b[i] = static_cast<float>(rng.NextGaussian());
  for (size_t i = 0; i < a.size(); ++i) ab[i] = a[i] + b[i];
  std::vector<float> ta(150, 0.0f), tb(150, 0.0f), tab(150, 0.0f);
  h.Accumulate(a, ta), h.Accumulate(b, tb), h.Accumulate(ab, tab);
  for (size_t j = 0; j < ta.size(); ++j) EXPECT_NEAR(ta[j] + tb[j], tab[j], 1e-4f);
  // One non-zero coordinate: every row holds it alone, the median is exact.
  std::vector<float> e(1000, 0.0f), t(150, 0.0f), est(1000);
  e[123] = -2.5f;
  h.Accumulate(e, t);
  h.Estimate(t, est);
  EXPECT_EQ(est[123], -2.5f);
}

}  // namespace
}  // namespace shoal
