// Dynamic (tree) quantization maps of 8-bit Adam and a fast nearest-code
// quantizer (Dettmers et al., ICLR 2022; bitsandbytes functional.py
// create_dynamic_map), shared/OPTIMIZERS.md §3.
//
// A map is 256 sorted codes in [-1, 1] (signed) or [0, 1] (unsigned). The
// quantizer returns the index of the nearest code to x, ties to the lower
// code (NearestCodeReference states the rule by binary search).
// FastQuantizer gives bit-identical results without a search: the float's
// sign, exponent and top kMantissaBits mantissa bits select a bucket; each
// bucket holds at most one rounding threshold (checked when the table is
// built). A bucket's entry packs its lowest code and the threshold's low
// mantissa bits (the rest of the threshold's bits are the bucket's own), so
// q = base + (low bits of x past the threshold): one table load, integer
// compares, no branch; a loop over a block vectorizes (one gather per entry).
// VectorQuantTables feed the gather-free SIMD quantizer of the cpu_simd
// backend (core/backend_cpu_simd_adam8bit.cc), bit-identical as well.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <vector>

namespace shoal::dq {

using CodeMap = std::array<float, 256>;

// The dynamic map with 7 exponent bits: for i = 0..6 the midpoints of
// linspace(0.1, 1, k_i + 1) times 10^(i-6), k_i = 2^i (signed, mirrored) or
// 2^(i+1) (unsigned), plus 0 and 1; sorted.
const CodeMap& SignedMap();
const CodeMap& UnsignedMap();

// Index of the nearest code to x (ties: the lower code); x below the first
// code gives 0, above the last 255. The specification of FastQuantizer.
uint8_t NearestCodeReference(const CodeMap& code, float x);

class FastQuantizer {
 public:
  static constexpr int kMantissaBits = 7;
  static constexpr int kLowBits = 23 - kMantissaBits;
  static constexpr int32_t kLowMask = (1 << kLowBits) - 1;
  static constexpr int kPackShift = kLowBits + 1;  // entry = (code << kPackShift) | threshold
  static constexpr int kMinExponent = 127 - 24;  // |x| < 2^-24 shares the lowest bucket
  static constexpr int kMagBuckets = (128 - kMinExponent) << kMantissaBits;  // |x| < 2; larger clamps

  explicit FastQuantizer(const CodeMap& code);

  uint8_t operator()(float x) const { return static_cast<uint8_t>(Code(table_.data(), x)); }
  // q[i] = (*this)(x[i] * scale) for i < n, vectorizable; entries
  // with x[i] > 0 whose code would be `bump` get bump + 1 (pass -1 for none).
  // REQUIRES: n <= 256.
  void Quantize(const float* __restrict x, float scale, uint8_t* __restrict q, int64_t n, int32_t bump) const {
    const int32_t* __restrict table = table_.data();
    int32_t c[256];  // two simple loops: GCC vectorizes each, not the fused one
    for (int64_t i = 0; i < n; ++i) c[i] = Code(table, x[i] * scale);
    for (int64_t i = 0; i < n; ++i) {
      // x > 0 on the bit pattern (+0, negatives and NaN excluded), integer selects only.
      const int32_t xb = std::bit_cast<int32_t>(x[i]);
      const int32_t up = (c[i] == bump ? 1 : 0) & (xb > 0 ? 1 : 0) & (xb <= 0x7f800000 ? 1 : 0);
      q[i] = static_cast<uint8_t>(c[i] + up);
    }
  }

 private:
  static int32_t Code(const int32_t* __restrict table, float x) {
    const int32_t bits = std::bit_cast<int32_t>(x);
    const int32_t sign = static_cast<int32_t>(static_cast<uint32_t>(bits) >> 31);
    int32_t mag = ((bits & 0x7fffffff) >> kLowBits) - (kMinExponent << kMantissaBits);
    mag = mag < 0 ? 0 : mag;
    mag = mag > kMagBuckets - 1 ? kMagBuckets - 1 : mag;
    // Low bits, flipped for negatives so that "larger" means "larger value" for both signs.
    const int32_t low = (bits & kLowMask) ^ (sign * kLowMask);
    const int32_t e = table[sign * kMagBuckets + mag];
    return (e >> kPackShift) + (low >= (e & ((1 << kPackShift) - 1)) ? 1 : 0);
  }

  // Per bucket: (lowest code << kPackShift) | threshold on the (flipped) low bits,
  // 1 << kLowBits when the whole bucket has one code.
  std::vector<int32_t> table_;
};

const FastQuantizer& SignedQuantizer();
const FastQuantizer& UnsignedQuantizer();

// Tables of the vector quantizer (no per-entry table of codes): on y = |x|
// (mirrored map) or y = max(x, 0), the segment s = #{k : y >= bound_hi[k]}
// over 8 bounds (segment 0: the zero code; 1 + i: decade i, whose codes are
// equally spaced; 8: the code 1) gives e = y slope[s] + offset[s], in which
// the nearest code's cell is [p, p + 1): p = trunc(min(e, hi[s])). Mirrored
// maps take max(254 - p, 0) for x < 0 (the negative codes mirror the
// positive ones; there is no -1 code). The answer is exact unless y is the
// one float bound_lo[k] < bound_hi[k] where the two signs' tie rules differ
// (a midpoint of two codes that is a float), or e is within kMargin of a
// cell edge (float error and the codes' rounding move true edges by < 1e-4
// of a cell): such vectors fall back to FastQuantizer (about 4e-4 of the
// entries: under 1% of 16-lane vectors). s comes from the binade of y
// instead of 8 compares: each binade [2^(b-127), 2^(b-126)), b the biased
// exponent clamped to [kMinExponent, kMinExponent + 31], holds at most one
// bound, so s = binade_seg[b & 31] + [y >= binade_hi[b & 31]]. Checked
// against NearestCodeReference by tests/core/dynamic_quant_test.cc (and once
// over every non-NaN float). NaN inputs are outside the contract.
struct VectorQuantTables {
  static constexpr int kMinExponent = 104;  // binade of 2^-23; smaller y share it
  static constexpr float kMargin = 2e-4f;   // of a cell
  std::array<float, 8> bound_lo{}, bound_hi{};
  std::array<float, 16> slope{}, offset{}, hi{};  // 9 segments used
  // The bound inside the binade (hi) and its tie float (bound_lo when it
  // differs from bound_hi), or NaN (no y reaches it); the segment at the binade's lower end.
  std::array<float, 32> binade_tie{}, binade_hi{};
  std::array<int32_t, 32> binade_seg{};
};

const VectorQuantTables& SignedVectorTables();
const VectorQuantTables& UnsignedVectorTables();

}  // namespace shoal::dq
