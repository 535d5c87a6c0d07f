// Little-endian byte writer/reader for update payloads. The reader checks
// every access against the buffer end, so hostile or truncated input is a
// clean error, never an out-of-bounds read.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "algorithms/types.h"
#include "core/status.h"

namespace shoal::wire {

inline constexpr uint32_t kMagic = 0x50554853;  // "SHUP"
inline constexpr uint16_t kVersion = 1;
// Method ids of the codecs (one byte on the wire). Keep in sync with each codec.
enum class Method : uint8_t { kDense = 0, kSparse = 1, kQuantized = 2, kSketch = 3, kLowRank = 4, kSign = 5 };

class Writer {
 public:
  template <typename T>
  void Put(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    size_t n = buf_.size();
    buf_.resize(n + sizeof(T));
    std::memcpy(buf_.data() + n, &v, sizeof(T));
  }
  void PutBytes(const void* p, size_t n) {
    size_t at = buf_.size();
    buf_.resize(at + n);
    if (n) std::memcpy(buf_.data() + at, p, n);
  }
  void PutFloats(std::span<const float> v) {
    Put<uint64_t>(v.size());
    PutBytes(v.data(), v.size() * sizeof(float));
  }
  void PutString(const std::string& s) {
    Put<uint16_t>(static_cast<uint16_t>(s.size()));
    PutBytes(s.data(), s.size());
  }
  // Unsigned LEB128.
  void PutVarint(uint64_t v) {
    while (v >= 0x80) {
      Put<uint8_t>(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    Put<uint8_t>(static_cast<uint8_t>(v));
  }
  std::vector<uint8_t>& bytes() { return buf_; }

 private:
  std::vector<uint8_t> buf_;
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}
  // A reader over the tail of a larger message that starts `base` bytes in:
  // error messages give positions in the whole message.
  Reader(std::span<const uint8_t> b, size_t base) : b_(b), base_(base) {}
  template <typename T>
  Status Get(T* v, const char* what) {
    if (b_.size() - pos_ < sizeof(T)) return Truncated(what);
    std::memcpy(v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::Ok();
  }
  // Reads a length-prefixed float array of at most `max` elements.
  Status GetFloats(std::vector<float>* v, uint64_t max, const char* what) {
    uint64_t n = 0;
    RETURN_IF_ERROR(Get(&n, what));
    if (n > max) return InvalidArgument(std::string(what) + ": length " + std::to_string(n) + " exceeds limit " + std::to_string(max));
    if ((b_.size() - pos_) / sizeof(float) < n) return Truncated(what);
    v->resize(n);
    if (n) std::memcpy(v->data(), b_.data() + pos_, n * sizeof(float));
    pos_ += n * sizeof(float);
    return Status::Ok();
  }
  // Like GetFloats, but leaves the floats in the input: `*offset` is where
  // they start (for decoding in place).
  Status SkipFloats(uint64_t* n, uint64_t max, size_t* offset, const char* what) {
    RETURN_IF_ERROR(Get(n, what));
    if (*n > max) return InvalidArgument(std::string(what) + ": length " + std::to_string(*n) + " exceeds limit " + std::to_string(max));
    if ((b_.size() - pos_) / sizeof(float) < *n) return Truncated(what);
    *offset = pos_;
    pos_ += *n * sizeof(float);
    return Status::Ok();
  }
  Status SkipBytes(size_t n, const char* what) {
    if (b_.size() - pos_ < n) return Truncated(what);
    pos_ += n;
    return Status::Ok();
  }
  Status GetString(std::string* s, const char* what) {
    uint16_t n = 0;
    RETURN_IF_ERROR(Get(&n, what));
    if (b_.size() - pos_ < n) return Truncated(what);
    s->assign(reinterpret_cast<const char*>(b_.data() + pos_), n);
    pos_ += n;
    return Status::Ok();
  }
  Status GetVarint(uint64_t* v, const char* what) {
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t byte = 0;
      RETURN_IF_ERROR(Get(&byte, what));
      x |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) {
        *v = x;
        return Status::Ok();
      }
    }
    return InvalidArgument(std::string(what) + ": varint longer than 10 bytes");
  }
  Status GetBytes(void* dst, size_t n, const char* what) {
    if (b_.size() - pos_ < n) return Truncated(what);
    if (n) std::memcpy(dst, b_.data() + pos_, n);
    pos_ += n;
    return Status::Ok();
  }
  size_t remaining() const { return b_.size() - pos_; }
  Status ExpectEnd() const {
    if (pos_ != b_.size())
      return InvalidArgument("update payload has " + std::to_string(b_.size() - pos_) + " trailing bytes");
    return Status::Ok();
  }

 private:
  Status Truncated(const char* what) const {
    return DataLoss(std::string("update payload truncated while reading ") + what + " at byte " +
                    std::to_string(base_ + pos_) + " of " + std::to_string(base_ + b_.size()));
  }
  std::span<const uint8_t> b_;
  size_t base_ = 0;
  size_t pos_ = 0;
};

// Common header of every codec: magic, version, method, then the update's
// scalar fields. Codec-specific payload follows; extras and metrics close it.
void WriteHeader(Writer& w, Method m, const ClientUpdate& u);
// Reads and checks the header; fills the scalar fields of `u`.
Status ReadHeader(Reader& r, Method expected, ClientUpdate* u);
// Extras (named float vectors) and metrics (named doubles) after the payload.
void WriteTrailer(Writer& w, const ClientUpdate& u);
Status ReadTrailer(Reader& r, int64_t expected_params, ClientUpdate* u);

}  // namespace shoal::wire
