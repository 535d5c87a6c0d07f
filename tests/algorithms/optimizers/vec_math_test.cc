// The branch-free helpers of the fused optimizer loops (vec_math.h): exp on
// x <= 0 against std::exp (diffGrad's friction sigmoid uses it), sign(0) = 0,
// and the fixed-order lane sums against a plain double sum.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "algorithms/optimizers/vec_math.h"

namespace shoal::vec {
namespace {

TEST(VecMath, ExpNonPositiveWithinFourUlps) {
  double worst = 0;
  for (int i = 0; i <= 2000000; ++i) {
    const float x = -87.0f * static_cast<float>(i) / 2000000.0f;
    const double want = std::exp(static_cast<double>(x));
    const double got = ExpNonPositive(x);
    // ulp of the float result near `want`
    const double ulp = std::nextafter(static_cast<float>(want), 1e30f) - static_cast<float>(want);
    worst = std::max(worst, std::fabs(got - want) / ulp);
  }
  EXPECT_LE(worst, 4.0);
  EXPECT_EQ(ExpNonPositive(0.0f), 1.0f);
  EXPECT_EQ(ExpNonPositive(-0.0f), 1.0f);
  // Clamped below -87: tiny but positive, so 1 / (1 + exp) stays finite.
  EXPECT_GT(ExpNonPositive(-1000.0f), 0.0f);
  EXPECT_LT(ExpNonPositive(-1000.0f), 2e-38f);
  EXPECT_EQ(1.0f / (1.0f + ExpNonPositive(-std::numeric_limits<float>::infinity())), 1.0f);
}

TEST(VecMath, SignAndLaneSums) {
  EXPECT_EQ(Sign(2.5f), 1.0f);
  EXPECT_EQ(Sign(-1e-30f), -1.0f);
  EXPECT_EQ(Sign(0.0f), 0.0f);
  EXPECT_EQ(Sign(-0.0f), 0.0f);
  LaneSum s;
  double plain = 0;
  for (int i = 0; i < 1000; ++i) {
    s.lane[i % kLanes] += 0.001 * i;
    plain += 0.001 * i;
  }
  EXPECT_NEAR(s.Total(), plain, 1e-12);
}

}  // namespace
}  // namespace shoal::vec
