// The table-driven nearest-code quantizer of 8-bit Adam against the plain
// rule (NearestCodeReference: binary search, nearer neighbour, ties low):
// every float within 300 ulps of every rounding boundary, a strided sweep of
// all floats in [-4, 4], and the special values; plus the map's shape
// (bitsandbytes create_dynamic_map: 256 sorted codes, extremes, smallest code).
// The same checks for the vector quantizer of cpu_simd's 8-bit Adam kernel
// (simd::DynamicQuantize, estimate + threshold) on every compiled CPU target.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/backend_cpu_simd_kernels.h"
#include "core/dynamic_quant.h"

namespace shoal::dq {
namespace {

struct MapCase {
  const char* name;
  const CodeMap& (*map)();
  const FastQuantizer& (*quantizer)();
};

std::vector<MapCase> Maps() {
  return {{"signed", &SignedMap, &SignedQuantizer}, {"unsigned", &UnsignedMap, &UnsignedQuantizer}};
}

float Next(float x, int steps) {
  for (int i = 0; i < std::abs(steps); ++i)
    x = std::nextafter(x, steps > 0 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity());
  return x;
}

TEST(DynamicQuant, MapsMatchTheDynamicTree) {
  const CodeMap &s = SignedMap(), &u = UnsignedMap();
  for (int i = 0; i < 255; ++i) {
    EXPECT_LT(s[i], s[i + 1]);
    EXPECT_LT(u[i], u[i + 1]);
  }
  EXPECT_EQ(s[255], 1.0f);
  EXPECT_EQ(u[255], 1.0f);
  EXPECT_EQ(u[0], 0.0f);
  // Largest negative code: the last midpoint of linspace(0.1, 1, 65), mirrored.
  EXPECT_FLOAT_EQ(s[0], -(0.1f + 0.9f * 63.5f / 64.0f));
  // Smallest nonzero codes (OPTIMIZERS.md §3): 5.5e-7 signed, 3.25e-7 unsigned.
  EXPECT_FLOAT_EQ(u[1], 3.25e-7f);
  int zero = 0;
  while (s[zero] != 0.0f) ++zero;
  EXPECT_FLOAT_EQ(s[zero + 1], 5.5e-7f);
  EXPECT_FLOAT_EQ(s[zero - 1], -5.5e-7f);
}

TEST(DynamicQuant, FastEqualsNearestNearEveryBoundary) {
  for (const MapCase& mc : Maps()) {
    const CodeMap& code = mc.map();
    const FastQuantizer& q = mc.quantizer();
    int64_t checked = 0;
    for (int i = 0; i < 255; ++i) {
      const float mid = code[i] + (code[i + 1] - code[i]) / 2.0f;
      for (int d = -300; d <= 300; ++d, ++checked) {
        const float x = Next(mid, d);
        ASSERT_EQ(q(x), NearestCodeReference(code, x)) << mc.name << " x=" << x << " near boundary " << i;
      }
      // The codes themselves quantize to themselves.
      ASSERT_EQ(q(code[i]), i) << mc.name;
    }
    EXPECT_GT(checked, 150000);
  }
}

TEST(DynamicQuant, FastEqualsNearestOnAStridedSweep) {
  const uint32_t top = std::bit_cast<uint32_t>(4.0f);
  for (const MapCase& mc : Maps()) {
    const CodeMap& code = mc.map();
    const FastQuantizer& q = mc.quantizer();
    for (uint32_t bits = 0; bits <= top; bits += 1009) {
      for (float x : {std::bit_cast<float>(bits), -std::bit_cast<float>(bits)})
        ASSERT_EQ(q(x), NearestCodeReference(code, x)) << mc.name << " x=" << x;
    }
    const float inf = std::numeric_limits<float>::infinity();
    for (float x : {0.0f, -0.0f, 1e-45f, -1e-45f, 1.0f, -1.0f, 1.0000001f, 1e30f, -1e30f, inf, -inf})
      EXPECT_EQ(q(x), NearestCodeReference(code, x)) << mc.name << " x=" << x;
  }
}

// Quantize() = operator() on x * scale, plus the 8-bit Adam rule that a
// positive value never takes the `bump` code (the zero code of v's map).
TEST(DynamicQuant, BlockQuantizeMatchesScalarAndBumpsPositiveZeros) {
  const FastQuantizer& q = UnsignedQuantizer();
  const uint8_t zero = q(0.0f);
  std::vector<float> x = {0.0f, 1e-12f, 0.5f, 1.0f, 3e-7f, 1e-40f};
  std::vector<uint8_t> out(x.size());
  q.Quantize(x.data(), 1.0f, out.data(), static_cast<int64_t>(x.size()), zero);
  EXPECT_EQ(out[0], zero);      // exactly zero stays zero
  EXPECT_EQ(out[1], zero + 1);  // rounds to zero, but positive
  EXPECT_EQ(out[2], NearestCodeReference(UnsignedMap(), 0.5f));
  EXPECT_EQ(out[3], 255);
  EXPECT_EQ(out[5], zero + 1);  // denormal, still positive
  const FastQuantizer& s = SignedQuantizer();
  std::vector<float> y = {-0.7f, 0.3f, -2e-9f, 0.9f};
  s.Quantize(y.data(), 0.5f, out.data(), 4, -1);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out[i], NearestCodeReference(SignedMap(), y[i] * 0.5f)) << i;
}

// Every float within 300 ulps of every rounding boundary, every code, a
// strided sweep of [-4, 4] and the special values: the inputs of the vector
// quantizer's tests.
std::vector<float> HardInputs(const CodeMap& code) {
  std::vector<float> x;
  for (int i = 0; i < 255; ++i) {
    const float mid = code[i] + (code[i + 1] - code[i]) / 2.0f;
    for (int d = -300; d <= 300; ++d) x.push_back(Next(mid, d));
    // Relative offsets 2^-24 .. 2^-4: in and around the zone the vector
    // quantizer hands to the exact fallback (kMargin of a cell).
    for (int k = 4; k <= 24; ++k)
      for (float f : {1.0f, 1.5f})
        for (float sign : {-1.0f, 1.0f}) x.push_back(mid * (1.0f + sign * f * std::ldexp(1.0f, -k)));
    x.push_back(code[i]);
  }
  x.push_back(code[255]);
  for (uint32_t bits = 0; bits <= std::bit_cast<uint32_t>(4.0f); bits += 1009) {
    x.push_back(std::bit_cast<float>(bits));
    x.push_back(-std::bit_cast<float>(bits));
  }
  const float inf = std::numeric_limits<float>::infinity();
  for (float v : {0.0f, -0.0f, 1e-45f, -1e-45f, 1.0f, -1.0f, 1.0000001f, -1.0000001f, 1e30f, -1e30f, inf, -inf,
                  std::numeric_limits<float>::max(), -std::numeric_limits<float>::max()})
    x.push_back(v);
  return x;
}

// The compiled targets, and "best": the kernel's file also compiles AVX3_DL,
// which only the default dispatch reaches.
std::vector<std::string> Targets() {
  std::vector<std::string> t = simd::AvailableTargets();
  t.push_back("best");
  return t;
}

TEST(DynamicQuant, VectorQuantizerEqualsNearestOnEveryTarget) {
  for (const std::string& target : Targets()) {
    ASSERT_TRUE(simd::SelectTarget(target).ok());
    for (const MapCase& mc : Maps()) {
      const bool is_signed = std::string(mc.name) == "signed";
      const CodeMap& code = mc.map();
      const std::vector<float> x = HardInputs(code);
      std::vector<uint8_t> q(x.size() + 1, 0x5A);  // the extra byte guards the end
      simd::DynamicQuantize(is_signed, x.data(), 1.0f, -1, q.data(), x.size());
      ASSERT_EQ(q.back(), 0x5A) << target << " " << mc.name << ": wrote past the end";
      for (size_t i = 0; i < x.size(); ++i)
        ASSERT_EQ(q[i], NearestCodeReference(code, x[i])) << target << " " << mc.name << " x=" << x[i];
      EXPECT_GT(x.size(), 200000u);
    }
  }
  ASSERT_TRUE(simd::SelectTarget("best").ok());
}

// Scaling and the bump rule, against FastQuantizer::Quantize (itself checked
// against the nearest-code rule above), on a length that leaves a ragged tail.
TEST(DynamicQuant, VectorQuantizerScalesAndBumpsLikeTheScalarOne) {
  std::vector<float> x = {0.0f, 1e-12f, 0.5f, 1.0f, 3e-7f, 1e-40f, -0.7f, 0.3f, -2e-9f, 0.9f, 2e-7f};
  for (int i = 0; i < 40; ++i) x.push_back(std::ldexp(1.0f + 0.37f * static_cast<float>(i % 7), -i));
  for (const std::string& target : Targets()) {
    ASSERT_TRUE(simd::SelectTarget(target).ok());
    for (float scale : {1.0f, 0.5f, 3.0f, 1e-3f}) {
      for (const MapCase& mc : Maps()) {
        const bool is_signed = std::string(mc.name) == "signed";
        for (int32_t bump : {-1, static_cast<int32_t>(mc.quantizer()(0.0f))}) {
          std::vector<uint8_t> want(x.size()), got(x.size());
          for (size_t b = 0; b < x.size(); b += 256)
            mc.quantizer().Quantize(x.data() + b, scale, want.data() + b,
                                    static_cast<int64_t>(std::min<size_t>(256, x.size() - b)), bump);
          simd::DynamicQuantize(is_signed, x.data(), scale, bump, got.data(), x.size());
          EXPECT_EQ(got, want) << target << " " << mc.name << " scale=" << scale << " bump=" << bump;
        }
      }
    }
  }
  ASSERT_TRUE(simd::SelectTarget("best").ok());
}

}  // namespace
}  // namespace shoal::dq
