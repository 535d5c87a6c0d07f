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

// Packs fields of 1..32 bits, least significant bit first, appending to
// `out`. Call Finish() before reading `out` (flushes the last partial byte,
// pad bits zero). Bits collect in a 64-bit accumulator that is flushed 32 bits
// at a time into `out`, grown geometrically (reserve with `expected_bits`).
class BitWriter {
 public:
  explicit BitWriter(std::vector<uint8_t>* out, uint64_t expected_bits = 0) : out_(out), end_(out->size()) {
    out_->resize(end_ + static_cast<size_t>((expected_bits + 7) / 8) + 8);
  }
  void Put(uint32_t value, int bits) {
    acc_ |= (uint64_t{value} & ((uint64_t{1} << bits) - 1)) << nacc_;
    nacc_ += bits;
    if (nacc_ >= 32) {
      if (end_ + 4 > out_->size()) out_->resize(2 * out_->size() + 16);
      const uint32_t lo = static_cast<uint32_t>(acc_);
      std::memcpy(out_->data() + end_, &lo, 4);  // little-endian hosts (wire.h)
      end_ += 4;
      acc_ >>= 32;
      nacc_ -= 32;
    }
  }
  // Appends value (>= 1) in Elias-gamma form: floor(log2 v) zeros, then v's
  // bits from the most significant.
  void PutEliasGamma(uint64_t value);
  void Finish() {
    out_->resize(end_);
    for (; nacc_ > 0; nacc_ -= 8, acc_ >>= 8) out_->push_back(static_cast<uint8_t>(acc_));
    acc_ = 0;
    nacc_ = 0;
    end_ = out_->size();
  }

 private:
  std::vector<uint8_t>* out_;
  size_t end_;  // bytes of *out_ written so far
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
    if (byte + 8 <= b_.size()) {
      std::memcpy(&w, b_.data() + byte, 8);
    } else {
      std::memcpy(&w, b_.data() + byte, b_.size() - byte);
    }
    *value = static_cast<uint32_t>((w >> (pos_ & 7)) & ((uint64_t{1} << bits) - 1));
    pos_ += static_cast<uint64_t>(bits);
    return Status::Ok();
  }
  Status GetEliasGamma(uint64_t* value, const char* what);
  // Pad bits after the last field must be zero (canonical encoding).
  Status ExpectZeroPadding(const char* what) const;
  uint64_t bits_left() const { return b_.size() * 8 - pos_; }

 private:
  Status Truncated(const char* what) const {
    return DataLoss(std::string("compressed payload: bit stream truncated while reading ") + what);
  }
  std::span<const uint8_t> b_;
  uint64_t pos_ = 0;
};

// `b` holds exactly ceil(used_bits / 8) bytes whose bits past used_bits are
// zero (the canonical padding), for decoders that index packed bits directly.
inline Status ExpectZeroPadBits(std::span<const uint8_t> b, uint64_t used_bits, const char* what) {
  if (b.size() != (used_bits + 7) / 8)
    return InvalidArgument(std::string("compressed payload: ") + what + " has " + std::to_string(b.size()) +
                           " bytes, expected " + std::to_string((used_bits + 7) / 8));
  if ((used_bits & 7) && (b.back() >> (used_bits & 7)))
    return InvalidArgument(std::string("compressed payload: nonzero pad bits after ") + what);
  return Status::Ok();
}

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
