// Counter-based draws that define the random ops of the Backend (quantisation
// noise, count-sketch hashes, Rademacher projections). Each is a pure function
// of (key, counter) over Philox4x32-10 (core/rng.h), so every backend -- and
// the CUDA kernels, which re-implement these lines on the device -- produce
// the same bits. Changing anything here changes every sketch and quantised
// update: treat it as a wire format.
#pragma once

#include <array>
#include <cstdint>

#include "core/rng.h"

namespace shoal::backend_rng {

// Domain tags in the third counter word keep the op families' streams apart
// from each other and from RngStream/GaussianAt (which use 0 there).
inline constexpr uint32_t kCountSketchTag = 0x43534b54u;  // "CSKT"
inline constexpr uint32_t kRademacherTag = 0x52414445u;   // "RADE"
inline constexpr uint32_t kQuantizeTag = 0x51494e54u;     // "QINT"
// Largest row count CountSketchUnapply accepts (median over a stack array).
inline constexpr int64_t kMaxCountSketchRows = 64;

// Word i of the stream under `key` (same as RngStream::WordAt).
inline uint32_t WordAt(std::array<uint32_t, 2> key, uint64_t i) {
  uint64_t b = i / 4;
  return Philox4x32({static_cast<uint32_t>(b), static_cast<uint32_t>(b >> 32), 0u, 0u}, key)[i % 4];
}

// Uniform in [0, 1) with 24 bits, exactly representable as float.
inline float UniformFromWord(uint32_t w) { return static_cast<float>(w >> 8) * (1.0f / 16777216.0f); }

// lowbias32 (C. Wellons' hash-prospector): a 32-bit bijection with low bias.
inline constexpr uint32_t Hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

// Rounding noise of stochastic quantisation. QuantizeNoiseWord(key, w) is
// hash word w: one Philox word per 2^32 words (the segment seed) and a 32-bit
// hash per word. A full Philox block per value would make quantisation
// compute-bound; rounding noise only needs well-mixed, position-addressable
// bits.
inline uint32_t QuantizeSegmentSeed(std::array<uint32_t, 2> key, uint32_t segment) {
  return Philox4x32({segment, 0u, 0u, kQuantizeTag}, key)[0];
}
inline uint32_t QuantizeNoiseWord(std::array<uint32_t, 2> key, uint64_t w) {
  return Hash32(static_cast<uint32_t>(w) ^ QuantizeSegmentSeed(key, static_cast<uint32_t>(w >> 32)));
}
// Each hash word gives two 15-bit noise values. Position `pos` takes the low
// (bits 0-14) or high (bits 17-31) part, by (pos >> 4) & 1, of word
// (pos >> 5) * 16 + (pos & 15): the 32 positions of an aligned group use both
// halves of 16 consecutive words, so one 16-lane hash vector serves 32 values.
inline constexpr uint64_t QuantizeNoiseWordIndex(uint64_t pos) { return ((pos >> 5) << 4) | (pos & 15); }
inline uint32_t QuantizeNoise15(std::array<uint32_t, 2> key, uint64_t pos) {
  const uint32_t w = QuantizeNoiseWord(key, QuantizeNoiseWordIndex(pos));
  return (pos & 16) ? (w >> 17) : (w & 0x7FFFu);
}
// One stochastically rounded value, in 1/2^15 fixed point (every backend uses
// exactly this formula):
//   y = x * s15, s15 = (127 / max|x|) * 2^15   (or (x / scale) * 2^15 when s15
//       overflows to infinity, i.e. max|x| < 2^22 / FLT_MAX)
//   Y = y rounded to the nearest integer (ties to even); |Y| < 2^22
//   q = clamp(floor((Y + k) / 2^15), -127, 127), k = QuantizeNoise15 in [0, 2^15)
// So E[q] = Y / 2^15 up to the noise grid: the rounding is unbiased to 2^-15
// of a quantisation step (plus Y's own round-to-nearest). The fixed point lets
// vector kernels convert with one magic-number add instead of floor + convert,
// and a multiply replaces the divide: quantisation stays memory-bound.
// REQUIRES x finite (non-finite inputs give unspecified, but defined, values).
inline int8_t QuantizeValue(float x, float s15, float scale, uint32_t k15) {
  float y = s15 <= 3.4028234e38f ? x * s15 : (x / scale) * 32768.0f;
  if (!(y > -4194304.0f && y < 4194304.0f)) y = y > 0 ? 4194303.0f : -4194303.0f;  // NaN: any defined value
  const int32_t v = (static_cast<int32_t>(__builtin_nearbyintf(y)) + static_cast<int32_t>(k15)) >> 15;
  return static_cast<int8_t>(v < -127 ? -127 : v > 127 ? 127 : v);
}

// Bucket in [0, cols) and sign (+1/-1) of coordinate i in count-sketch row j.
struct SketchSlot {
  int64_t bucket;
  float sign;
};
inline SketchSlot CountSketchSlot(std::array<uint32_t, 2> key, int64_t row, uint64_t i, int64_t cols) {
  auto w = Philox4x32({static_cast<uint32_t>(i), static_cast<uint32_t>(i >> 32),
                       static_cast<uint32_t>(row), kCountSketchTag}, key);
  int64_t bucket = static_cast<int64_t>((uint64_t{w[0]} * static_cast<uint64_t>(cols)) >> 32);
  return {bucket, (w[1] >> 31) ? -1.0f : 1.0f};
}

// The 128 Rademacher signs of row j, coordinates [128 b, 128 b + 128): bit
// (i % 32) of word (i % 128) / 32 set means -1.
inline std::array<uint32_t, 4> RademacherBits(std::array<uint32_t, 2> key, int64_t row, uint64_t block) {
  return Philox4x32({static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
                     static_cast<uint32_t>(row), kRademacherTag}, key);
}

}  // namespace shoal::backend_rng
