#include "core/rng.h"

#include <cmath>

namespace shoal {
namespace {
constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;

inline void MulHiLo(uint32_t a, uint32_t b, uint32_t* hi, uint32_t* lo) {
  uint64_t p = uint64_t{a} * b;
  *hi = static_cast<uint32_t>(p >> 32);
  *lo = static_cast<uint32_t>(p);
}

inline std::array<uint32_t, 4> BlockAt(std::array<uint32_t, 2> key, uint64_t block) {
  return Philox4x32({static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), 0u, 0u}, key);
}

inline double U01(uint32_t w) { return (static_cast<double>(w) + 0.5) * (1.0 / 4294967296.0); }
}  // namespace

std::array<uint32_t, 4> Philox4x32(std::array<uint32_t, 4> c, std::array<uint32_t, 2> k) {
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, lo0, hi1, lo1;
    MulHiLo(kM0, c[0], &hi0, &lo0);
    MulHiLo(kM1, c[2], &hi1, &lo1);
    c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
    k[0] += kW0;
    k[1] += kW1;
  }
  return c;
}

uint64_t Mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

RngStream::RngStream(uint64_t seed, int64_t round, int64_t client, RngPurpose purpose) {
  uint64_t h = Mix64(seed);
  h = Mix64(h ^ static_cast<uint64_t>(round));
  h = Mix64(h ^ static_cast<uint64_t>(client));
  h = Mix64(h ^ static_cast<uint64_t>(purpose));
  key_ = {static_cast<uint32_t>(h), static_cast<uint32_t>(h >> 32)};
}

uint32_t RngStream::WordAt(uint64_t i) const { return BlockAt(key_, i / 4)[i % 4]; }

uint32_t RngStream::NextU32() { return WordAt(pos_++); }

uint64_t RngStream::NextU64() {
  uint64_t lo = NextU32();
  uint64_t hi = NextU32();
  return (hi << 32) | lo;
}

double RngStream::NextDouble() { return static_cast<double>(NextU64() >> 11) * (1.0 / 9007199254740992.0); }

float RngStream::NextFloat() { return static_cast<float>(NextU32() >> 8) * (1.0f / 16777216.0f); }

double RngStream::NextGaussian() {
  double u1 = U01(NextU32());
  double u2 = U01(NextU32());
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

uint64_t RngStream::NextBelow(uint64_t n) {
  // Lemire's nearly-divisionless method on 64-bit words.
  uint64_t x = NextU64();
  __uint128_t m = static_cast<__uint128_t>(x) * n;
  uint64_t l = static_cast<uint64_t>(m);
  if (l < n) {
    uint64_t t = (0 - n) % n;
    while (l < t) {
      x = NextU64();
      m = static_cast<__uint128_t>(x) * n;
      l = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

float GaussianAt(std::array<uint32_t, 2> key, uint64_t offset, uint64_t i) {
  uint64_t j = offset + i;
  auto w = BlockAt(key, j / 4);
  int pair = static_cast<int>((j % 4) / 2);
  double u1 = U01(w[2 * pair]);
  double u2 = U01(w[2 * pair + 1]);
  double r = std::sqrt(-2.0 * std::log(u1));
  double a = 2.0 * M_PI * u2;
  return static_cast<float>((j % 2 == 0) ? r * std::cos(a) : r * std::sin(a));
}

}  // namespace shoal
