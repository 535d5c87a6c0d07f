// AllFinite and FinitePrefix (core/finite.h), the guard between an update
// and a global model: checked against std::isfinite element by element, with
// non-finite values placed at every position of a vector that spans several
// of their blocks.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/finite.h"

namespace shoal {
namespace {

bool Reference(const std::vector<float>& v) {
  for (float x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

TEST(AllFinite, AgreesWithIsfiniteAtEveryPosition) {
  const float kBad[] = {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
                        std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                        std::numeric_limits<float>::signaling_NaN()};
  // Finite extremes must pass: largest, smallest normal, subnormal, zeros.
  std::vector<float> v(9000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 7) - 3.0f;
  v[1] = std::numeric_limits<float>::max();
  v[2] = -std::numeric_limits<float>::max();
  v[3] = std::numeric_limits<float>::min();
  v[4] = std::numeric_limits<float>::denorm_min();
  v[5] = -0.0f;
  ASSERT_TRUE(Reference(v));
  EXPECT_TRUE(AllFinite(v));
  EXPECT_TRUE(AllFinite(std::vector<float>{}));
  for (float bad : kBad)
    for (size_t at = 0; at < v.size(); at += (at < 4200 && at > 4000) ? 1 : 97) {
      std::vector<float> w = v;
      w[at] = bad;
      ASSERT_EQ(AllFinite(w), Reference(w)) << "at " << at;
      ASSERT_FALSE(AllFinite(w)) << "at " << at;
    }
  std::vector<float> last = v;
  last.back() = kBad[0];
  EXPECT_FALSE(AllFinite(last));
}

size_t ReferencePrefix(const std::vector<float>& v) {
  size_t n = 0;
  while (n < v.size() && std::isfinite(v[n])) ++n;
  return n;
}

TEST(FinitePrefix, IsTheIndexOfTheFirstNonFiniteValue) {
  std::vector<float> v(9000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 5) * 1e30f - 2e30f;
  EXPECT_EQ(FinitePrefix(v), v.size());
  EXPECT_EQ(FinitePrefix(std::vector<float>{}), 0u);
  const float kNaN = std::numeric_limits<float>::quiet_NaN(), kInf = std::numeric_limits<float>::infinity();
  for (size_t at = 0; at < v.size(); at += (at > 4090 && at < 4100) ? 1 : 89) {
    std::vector<float> w = v;
    w[at] = (at % 2) ? kNaN : -kInf;
    // A second bad value further on must not move the answer.
    if (at + 5000 < w.size()) w[at + 5000] = kInf;
    ASSERT_EQ(FinitePrefix(w), ReferencePrefix(w)) << "at " << at;
    ASSERT_EQ(FinitePrefix(w), at);
    // A span starting past the bad value sees only what follows it.
    ASSERT_EQ(FinitePrefix(std::span<const float>(w).subspan(at + 1)),
              ReferencePrefix(std::vector<float>(w.begin() + static_cast<long>(at) + 1, w.end())));
  }
}

}  // namespace
}  // namespace shoal
