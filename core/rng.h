// Counter-based random numbers (Philox4x32-10, Salmon et al. SC'11).
//
// Every random stream in Shoal is keyed by (seed, round, client, purpose), so a
// client's draws never depend on which thread ran it or on what other clients
// drew: parallel runs are bit-identical to serial ones. Within a stream, value
// i is a pure function of (key, i): fills can be split across threads or
// devices and still match element for element.
//
// RngStream is a cheap value type; copy it to fork. Not thread-safe per object.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace shoal {

// What a stream is used for; part of the key so uses never collide.
enum class RngPurpose : uint32_t {
  kInit = 1,         // model initialisation
  kSelect = 2,       // client selection per round
  kShuffle = 3,      // local data shuffling
  kPartition = 4,    // data partitioning
  kNoise = 5,        // DP noise
  kCompress = 6,     // stochastic rounding, random-k, sketch seeds
  kDevice = 7,       // device profiles, availability, dropouts
  kSynthetic = 8,    // synthetic data generation
  kAttack = 9,       // attack initialisation
  kOptimizer = 10,   // Hutchinson probes, etc.
  kSplit = 11,       // per-client train/test split
};

// Philox4x32-10 block function: 128-bit counter + 64-bit key -> 128 random bits.
std::array<uint32_t, 4> Philox4x32(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

// 64-bit mixing (SplitMix64 finaliser); used to derive stream keys.
uint64_t Mix64(uint64_t x);

class RngStream {
 public:
  RngStream() = default;
  // round/client may be -1 for "none" (e.g. server-side streams).
  RngStream(uint64_t seed, int64_t round, int64_t client, RngPurpose purpose);

  // Raw 32-bit word at absolute position i of this stream (pure function).
  uint32_t WordAt(uint64_t i) const;
  // Sequential draws (advance an internal position).
  uint32_t NextU32();
  uint64_t NextU64();
  double NextDouble();            // uniform in [0, 1), 53 bits
  float NextFloat();              // uniform in [0, 1), 24 bits
  double NextGaussian();          // standard normal, Box-Muller on two sequential doubles
  uint64_t NextBelow(uint64_t n); // uniform in [0, n), unbiased (Lemire); REQUIRES n > 0
  // Fisher-Yates shuffle.
  template <typename T>
  void Shuffle(std::span<T> v) {
    for (size_t i = v.size(); i > 1; --i) {
      size_t j = static_cast<size_t>(NextBelow(i));
      std::swap(v[i - 1], v[j]);
    }
  }
  uint64_t position() const { return pos_; }
  void set_position(uint64_t p) { pos_ = p; }
  std::array<uint32_t, 2> key() const { return key_; }
  uint64_t key64() const { return (uint64_t{key_[1]} << 32) | key_[0]; }

 private:
  std::array<uint32_t, 2> key_{0, 0};
  uint64_t pos_ = 0;  // in 32-bit words
};

// Position-addressable Gaussian values: element i of the standard-normal
// sequence of `key` (Box-Muller over Philox block i/2's four words, giving
// two normals per pair of uniforms). Used by backends' Gaussian fill so that
// every backend produces the same stream.
float GaussianAt(std::array<uint32_t, 2> key, uint64_t offset, uint64_t i);

}  // namespace shoal
