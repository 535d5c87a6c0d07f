// AllFinite: whether a vector holds no NaN and no ±Inf. The guard every
// update passes before it may reach a global model (simulator and server).
// Checks the exponent bits branch-free over blocks so the compiler vectorizes
// it (std::isfinite with an early exit per element does not), and stops at
// the first block with a non-finite value.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>

namespace shoal {

inline bool AllFinite(std::span<const float> v) {
  constexpr size_t kBlock = 4096;
  for (size_t i = 0; i < v.size(); i += kBlock) {
    const size_t end = std::min(v.size(), i + kBlock);
    uint32_t bad = 0;
    for (size_t j = i; j < end; ++j)
      bad |= static_cast<uint32_t>((std::bit_cast<uint32_t>(v[j]) & 0x7f800000u) == 0x7f800000u);
    if (bad) return false;
  }
  return true;
}

// The number of leading finite values of `v` (v.size() when all are):
// AllFinite's block scan, then the first non-finite value of the first bad block.
inline size_t FinitePrefix(std::span<const float> v) {
  constexpr size_t kBlock = 4096;
  for (size_t i = 0; i < v.size(); i += kBlock) {
    const size_t end = std::min(v.size(), i + kBlock);
    if (AllFinite(v.subspan(i, end - i))) continue;
    for (size_t j = i; j < end; ++j)
      if ((std::bit_cast<uint32_t>(v[j]) & 0x7f800000u) == 0x7f800000u) return j;
  }
  return v.size();
}

}  // namespace shoal
