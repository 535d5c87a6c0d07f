#include "algorithms/optimizers/dynamic_quant.h"

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

}  // namespace shoal::dq
