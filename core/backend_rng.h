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

// Rounding noise of stochastic quantisation at stream position `pos`: one
// Philox word per 2^32 positions (the segment seed) and a 32-bit hash per
// position. A full Philox block per value would make quantisation compute-
// bound; rounding noise only needs well-mixed, position-addressable bits.
inline uint32_t QuantizeSegmentSeed(std::array<uint32_t, 2> key, uint32_t segment) {
  return Philox4x32({segment, 0u, 0u, kQuantizeTag}, key)[0];
}
inline uint32_t QuantizeNoiseWord(std::array<uint32_t, 2> key, uint64_t pos) {
  return Hash32(static_cast<uint32_t>(pos) ^ QuantizeSegmentSeed(key, static_cast<uint32_t>(pos >> 32)));
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
