// Bit-level wire helpers for the compression codecs (shared/COMPRESSION.md §0):
// LSB-first bit packing with zero pad bits, strict minimal ULEB128 varints,
// the sparse index coding (varint gaps or a bitmap) and a position-addressable
// random word source. Readers check every access and return clean errors.
#pragma once

#include <algorithm>
#include <array>
#include <cstring>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "algorithms/transforms/wire.h"
#include "core/rng.h"
#include "core/status.h"

namespace shoal::compress {

// Packs fields of 1..32 bits, least significant bit first. Call Finish()
// before reading `out` (flushes the last partial byte, pad bits zero).
class BitWriter {
 public:
  explicit BitWriter(std::vector<uint8_t>* out) : out_(out) {}
  void Put(uint32_t value, int bits) {
    acc_ |= (uint64_t{value} & ((uint64_t{1} << bits) - 1)) << nacc_;
    nacc_ += bits;
    while (nacc_ >= 8) {
      out_->push_back(static_cast<uint8_t>(acc_));
      acc_ >>= 8;
      nacc_ -= 8;
    }
  }
  // Appends value (>= 1) in Elias-gamma form.
  void PutEliasGamma(uint64_t value);
  void Finish() {
    if (nacc_ > 0) out_->push_back(static_cast<uint8_t>(acc_));
    acc_ = 0;
    nacc_ = 0;
  }

 private:
  std::vector<uint8_t>* out_;
  uint64_t acc_ = 0;
  int nacc_ = 0;
};

// Reads what BitWriter wrote from a span of exactly ceil(nbits/8) bytes.
class BitReader {
 public:
  explicit BitReader(std::span<const uint8_t> b) : b_(b) {}
  Status Get(int bits, uint32_t* value, const char* what) {
    if (static_cast<uint64_t>(bits) > b_.size() * 8 - pos_) return Truncated(what);
    const size_t byte = static_cast<size_t>(pos_ >> 3);
    uint64_t w = 0;  // little-endian load of up to 8 bytes
    std::memcpy(&w, b_.data() + byte, std::min<size_t>(8, b_.size() - byte));
    *value = static_cast<uint32_t>((w >> (pos_ & 7)) & ((uint64_t{1} << bits) - 1));
    pos_ += static_cast<uint64_t>(bits);
    return Status::Ok();
  }
  Status GetEliasGamma(uint64_t* value, const char* what);
  // Pad bits after the last field must be zero (canonical encoding).
  Status ExpectZeroPadding(const char* what) const;

 private:
  Status Truncated(const char* what) const {
    return DataLoss(std::string("compressed payload: bit stream truncated while reading ") + what);
  }
  std::span<const uint8_t> b_;
  uint64_t pos_ = 0;
};

// Strict ULEB128: rejects non-minimal encodings and more than 10 bytes.
Status GetStrictVarint(wire::Reader& r, uint64_t* v, const char* what);

// Sparse index coding (§0): `idx` strictly increasing, all < d. Writes varint
// first index then varint (gap - 1), or a bitmap of ceil(d/8) bytes when that
// is smaller (then sets *bitmap). Reading checks order, range and count.
void PutIndices(wire::Writer& w, std::span<const int64_t> idx, int64_t d, bool* bitmap);
Status GetIndices(wire::Reader& r, int64_t k, int64_t d, bool bitmap, std::vector<int64_t>* idx);
// Bytes PutIndices would write.
int64_t IndexBytes(std::span<const int64_t> idx, int64_t d, bool* bitmap);

// Rejects NaN/Inf (and negative values when `nonnegative`) read from the wire.
Status CheckFloat(float v, bool nonnegative, const char* what);
// Reads n f32 values (finite) into out.
Status GetFloats(wire::Reader& r, std::span<float> out, const char* what);
void PutFloats(wire::Writer& w, std::span<const float> v);

// Random 32-bit word i of a Philox stream, caching one block so sequential
// access costs one Philox call per four words.
class WordSource {
 public:
  explicit WordSource(std::array<uint32_t, 2> key) : key_(key) {}
  uint32_t At(uint64_t i) {
    uint64_t blk = i >> 2;
    if (blk != block_) {
      words_ = Philox4x32({static_cast<uint32_t>(blk), static_cast<uint32_t>(blk >> 32), 0u, 0u}, key_);
      block_ = blk;
    }
    return words_[i & 3];
  }
  // Uniform in [0, 1) from word i (24 bits).
  float UniformAt(uint64_t i) { return static_cast<float>(At(i) >> 8) * (1.0f / 16777216.0f); }

 private:
  std::array<uint32_t, 2> key_;
  uint64_t block_ = ~uint64_t{0};
  std::array<uint32_t, 4> words_{};
};

}  // namespace shoal::compress
