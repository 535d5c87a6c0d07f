#include "core/dynamic_quant.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace shoal::dq {
namespace {

CodeMap DynamicMap(bool is_signed) {
  std::vector<float> data;
  for (int i = 0; i < 7; ++i) {
    const int k = is_signed ? (1 << i) : (1 << (i + 1));
    const double scale = std::pow(10.0, i - 6);
    for (int j = 0; j < k; ++j) {
      double lo = 0.1 + 0.9 * j / k, hi = 0.1 + 0.9 * (j + 1) / k;
      data.push_back(static_cast<float>(scale * (lo + hi) / 2.0));
      if (is_signed) data.push_back(static_cast<float>(-scale * (lo + hi) / 2.0));
    }
  }
  data.push_back(0.0f);
  data.push_back(1.0f);
  std::sort(data.begin(), data.end());
  CodeMap map{};
  std::copy(data.begin(), data.end(), map.begin());
  return map;
}

float FromBits(uint32_t b) { return std::bit_cast<float>(b); }

// The smallest float y > 0 with pred(y), for a predicate monotone in y.
template <class Pred>
float FirstPositive(Pred pred) {
  uint32_t a = 0, z = 0x7f800000u;  // +0 .. +inf
  while (a < z) {
    const uint32_t mid = a + (z - a) / 2;
    if (pred(FromBits(mid))) z = mid; else a = mid + 1;
  }
  return FromBits(z);
}

VectorQuantTables BuildVectorTables(const CodeMap& code, bool mirrored) {
  VectorQuantTables t;
  const int zero = mirrored ? 127 : 0;  // index of the code 0
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Segment 0: the zero code; 1 + i: decade i; 8: the code 1 (slope > 0 so that y = inf gives inf, not NaN).
  t.slope[0] = 0.0f, t.offset[0] = static_cast<float>(zero) + 0.5f, t.hi[0] = static_cast<float>(zero);
  t.slope[8] = 1e-30f, t.offset[8] = 255.5f, t.hi[8] = 255.0f;
  int base = zero + 1;
  std::array<int, 8> first{};  // the first (magnitude) code of segment k + 1
  for (int i = 0; i < 7; ++i) {
    const int k = mirrored ? 1 << i : 1 << (i + 1);
    const double scale = std::pow(10.0, i - 6);
    t.slope[i + 1] = static_cast<float>(k / (0.9 * scale));
    t.offset[i + 1] = static_cast<float>(base - 0.1 * k / 0.9);
    t.hi[i + 1] = static_cast<float>(base + k - 1);
    first[static_cast<size_t>(i)] = base;
    base += k;
  }
  first[7] = 255;
  if (base != 255) {
    std::fprintf(stderr, "dynamic_quant: the map has %d codes below 1; expected 255\n", base);
    std::abort();
  }
  for (size_t b = 0; b < 8; ++b) {
    const int c = first[b];
    const float pos = FirstPositive([&](float y) { return NearestCodeReference(code, y) >= c; });
    float neg = pos;  // negative x: ties go to the larger magnitude (no -1 code: the code 1 has no mirror)
    if (mirrored && c < 255) neg = FirstPositive([&](float y) { return NearestCodeReference(code, -y) <= 254 - c; });
    t.bound_lo[b] = std::min(pos, neg), t.bound_hi[b] = std::max(pos, neg);
    if (t.bound_lo[b] != t.bound_hi[b] && std::nextafter(t.bound_lo[b], 2.0f) != t.bound_hi[b]) {
      std::fprintf(stderr, "dynamic_quant: the tie rules differ on more than one float at bound %zu\n", b);
      std::abort();
    }
  }
  auto binade = [](float y) {
    return std::clamp(static_cast<int>(std::bit_cast<uint32_t>(y) >> 23), VectorQuantTables::kMinExponent,
                      VectorQuantTables::kMinExponent + 31);
  };
  for (size_t k = 0; k < 8; ++k) {
    // Both ends of a bound in one binade, strictly above its lower end (the binade's tables hold it).
    if (binade(t.bound_lo[k]) != binade(t.bound_hi[k]) || (std::bit_cast<uint32_t>(t.bound_hi[k]) & 0x7fffff) == 0) {
      std::fprintf(stderr, "dynamic_quant: bound %zu straddles a binade edge\n", k);
      std::abort();
    }
  }
  for (int e = VectorQuantTables::kMinExponent; e < VectorQuantTables::kMinExponent + 32; ++e) {
    const size_t slot = static_cast<size_t>(e & 31);
    const bool lowest = e == VectorQuantTables::kMinExponent, highest = e == VectorQuantTables::kMinExponent + 31;
    const float lo = lowest ? 0.0f : FromBits(static_cast<uint32_t>(e) << 23);
    const float hi = highest ? std::numeric_limits<float>::infinity() : FromBits(static_cast<uint32_t>(e + 1) << 23);
    int below = 0, inside = 0;
    t.binade_tie[slot] = t.binade_hi[slot] = nan;  // y >= NaN and y == NaN are false, even for y = inf
    for (size_t k = 0; k < 8; ++k) {
      if (t.bound_hi[k] <= lo) ++below;
      if (t.bound_hi[k] > lo && t.bound_hi[k] < hi) {
        ++inside, t.binade_hi[slot] = t.bound_hi[k];
        if (t.bound_lo[k] != t.bound_hi[k]) t.binade_tie[slot] = t.bound_lo[k];
      }
    }
    if (inside > 1) {
      std::fprintf(stderr, "dynamic_quant: binade %d holds %d segment bounds; expected at most 1\n", e, inside);
      std::abort();
    }
    t.binade_seg[slot] = below;
  }
  return t;
}

}  // namespace

const CodeMap& SignedMap() {
  static const CodeMap m = DynamicMap(true);
  return m;
}
const CodeMap& UnsignedMap() {
  static const CodeMap m = DynamicMap(false);
  return m;
}

uint8_t NearestCodeReference(const CodeMap& code, float x) {
  // i = the last code <= x (0 when x is below every code), then the nearer neighbour.
  int i = static_cast<int>(std::upper_bound(code.begin(), code.end(), x) - code.begin()) - 1;
  i = std::max(i, 0);
  if (i < 255 && code[i + 1] - x < x - code[i]) ++i;
  return static_cast<uint8_t>(i);
}

FastQuantizer::FastQuantizer(const CodeMap& code) : table_(2 * kMagBuckets) {
  for (int sign = 0; sign < 2; ++sign) {
    for (int b = 0; b < kMagBuckets; ++b) {
      // The bucket's magnitudes, bit patterns [lo, hi] (the end buckets take the clamped tails).
      uint32_t lo = static_cast<uint32_t>(b + (kMinExponent << kMantissaBits)) << kLowBits;
      uint32_t hi = lo + kLowMask;
      const bool clamped = b == 0 || b == kMagBuckets - 1;
      if (b == 0) lo = 0;
      if (b == kMagBuckets - 1) hi = 0x7f7fffffu;  // largest finite
      auto value = [&](uint32_t mag) { return sign ? -FromBits(mag) : FromBits(mag); };
      // Codes at the bucket's lowest and highest values.
      const int q_low = NearestCodeReference(code, value(sign ? hi : lo));
      const int q_high = NearestCodeReference(code, value(sign ? lo : hi));
      // A threshold must be unique in its bucket, and not in a clamped tail
      // (whose values do not share the bucket's high bits).
      if (q_high - q_low > (clamped ? 0 : 1)) {
        std::fprintf(stderr, "dynamic_quant: bucket %d holds %d thresholds; raise kMantissaBits\n", b, q_high - q_low);
        std::abort();
      }
      int32_t threshold = kLowMask + 1;  // never reached
      if (q_high != q_low) {
        // Rounding is monotone in x: bisect the magnitudes for the boundary.
        uint32_t a = lo, z = hi;
        if (sign == 0) {  // the first magnitude rounding to q_high
          while (a < z) {
            uint32_t mid = a + (z - a) / 2;
            if (NearestCodeReference(code, value(mid)) == q_high) z = mid; else a = mid + 1;
          }
          threshold = static_cast<int32_t>(z & kLowMask);
        } else {  // larger magnitude = smaller value: the last magnitude still rounding to q_high
          while (a < z) {
            uint32_t mid = a + (z - a + 1) / 2;
            if (NearestCodeReference(code, value(mid)) == q_high) a = mid; else z = mid - 1;
          }
          threshold = static_cast<int32_t>(a & kLowMask) ^ kLowMask;
        }
      }
      table_[static_cast<size_t>(sign * kMagBuckets + b)] = (q_low << kPackShift) | threshold;
    }
  }
}

const FastQuantizer& SignedQuantizer() {
  static const FastQuantizer q(SignedMap());
  return q;
}
const FastQuantizer& UnsignedQuantizer() {
  static const FastQuantizer q(UnsignedMap());
  return q;
}

const VectorQuantTables& SignedVectorTables() {
  static const VectorQuantTables t = BuildVectorTables(SignedMap(), true);
  return t;
}
const VectorQuantTables& UnsignedVectorTables() {
  static const VectorQuantTables t = BuildVectorTables(UnsignedMap(), false);
  return t;
}

}  // namespace shoal::dq
