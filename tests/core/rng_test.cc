#include "core/rng.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

namespace shoal {
namespace {

// Known-answer tests from the Random123 distribution (kat_vectors, philox4x32_10).
TEST(Philox, MatchesRandom123KnownAnswers) {
  auto r0 = Philox4x32({0, 0, 0, 0}, {0, 0});
  EXPECT_EQ(r0[0], 0x6627e8d5u);
  EXPECT_EQ(r0[1], 0xe169c58du);
  EXPECT_EQ(r0[2], 0xbc57ac4cu);
  EXPECT_EQ(r0[3], 0x9b00dbd8u);
  auto r1 = Philox4x32({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu});
  EXPECT_EQ(r1[0], 0x408f276du);
  EXPECT_EQ(r1[1], 0x41c83b0eu);
  EXPECT_EQ(r1[2], 0xa20bc7c6u);
  EXPECT_EQ(r1[3], 0x6d5451fdu);
  auto r2 = Philox4x32({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u});
  EXPECT_EQ(r2[0], 0xd16cfe09u);
  EXPECT_EQ(r2[1], 0x94fdccebu);
  EXPECT_EQ(r2[2], 0x5001e420u);
  EXPECT_EQ(r2[3], 0x24126ea1u);
}

TEST(RngStream, StreamsAreKeyedAndReproducible) {
  RngStream a(7, 3, 11, RngPurpose::kShuffle), b(7, 3, 11, RngPurpose::kShuffle);
  RngStream c(7, 3, 12, RngPurpose::kShuffle), d(7, 3, 11, RngPurpose::kNoise);
  for (int i = 0; i < 100; ++i) {
    uint32_t x = a.NextU32();
    EXPECT_EQ(x, b.NextU32());
  }
  EXPECT_NE(RngStream(7, 3, 11, RngPurpose::kShuffle).NextU64(), c.NextU64());
  EXPECT_NE(RngStream(7, 3, 11, RngPurpose::kShuffle).NextU64(), d.NextU64());
}

TEST(RngStream, WordAtIsRandomAccess) {
  RngStream s(1, 2, 3, RngPurpose::kInit);
  RngStream t = s;
  for (uint64_t i = 0; i < 37; ++i) EXPECT_EQ(t.NextU32(), s.WordAt(i));
}

TEST(RngStream, UniformAndGaussianMoments) {
  RngStream s(42, -1, -1, RngPurpose::kNoise);
  const int n = 200000;
  double su = 0, sg = 0, sg2 = 0;
  for (int i = 0; i < n; ++i) su += s.NextDouble();
  for (int i = 0; i < n; ++i) {
    double g = s.NextGaussian();
    sg += g, sg2 += g * g;
  }
  // 5-sigma bounds: uniform mean sd = sqrt(1/12/n); gaussian mean sd = 1/sqrt(n), var sd = sqrt(2/n).
  EXPECT_NEAR(su / n, 0.5, 5 * std::sqrt(1.0 / 12 / n));
  EXPECT_NEAR(sg / n, 0.0, 5 / std::sqrt(double(n)));
  EXPECT_NEAR(sg2 / n, 1.0, 5 * std::sqrt(2.0 / n));
}

TEST(RngStream, NextBelowIsUnbiasedAndShuffleIsPermutation) {
  RngStream s(5, 0, 0, RngPurpose::kSelect);
  std::vector<int> counts(6);
  const int n = 60000;
  for (int i = 0; i < n; ++i) ++counts[s.NextBelow(6)];
  for (int c : counts) EXPECT_NEAR(c, n / 6.0, 5 * std::sqrt(n * (1.0 / 6) * (5.0 / 6)));
  std::vector<int> v(100);
  for (int i = 0; i < 100; ++i) v[i] = i;
  s.Shuffle(std::span<int>(v));
  EXPECT_EQ(std::set<int>(v.begin(), v.end()).size(), 100u);
  bool moved = false;
  for (int i = 0; i < 100; ++i) moved |= (v[i] != i);
  EXPECT_TRUE(moved);
}

TEST(GaussianAt, PositionAddressableAndStandardNormal) {
  std::array<uint32_t, 2> key{123, 456};
  // Offsets compose: element i at offset o equals element o+i at offset 0.
  for (uint64_t i = 0; i < 16; ++i) EXPECT_EQ(GaussianAt(key, 5, i), GaussianAt(key, 0, 5 + i));
  double s = 0, s2 = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    double g = GaussianAt(key, 0, static_cast<uint64_t>(i));
    s += g, s2 += g * g;
  }
  EXPECT_NEAR(s / n, 0.0, 5 / std::sqrt(double(n)));
  EXPECT_NEAR(s2 / n, 1.0, 5 * std::sqrt(2.0 / n));
}

}  // namespace
}  // namespace shoal
