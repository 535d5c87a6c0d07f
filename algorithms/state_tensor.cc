#include "algorithms/state_tensor.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace shoal {
namespace {

uint16_t ToBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) return static_cast<uint16_t>((u >> 16) | 0x40);  // NaN stays NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even
  return static_cast<uint16_t>(u >> 16);
}

float FromBf16(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

std::string LengthKey(const std::string& key) { return key + ".bf16_n"; }

}  // namespace

void PutStateTensor(ClientState& state, const std::string& key, std::span<const float> v, StatePrecision p) {
  std::vector<float>& slot = state.tensors[key];
  if (p == StatePrecision::kF32) {
    slot.assign(v.begin(), v.end());
    state.scalars.erase(LengthKey(key));
    return;
  }
  std::vector<uint16_t> half((v.size() + 1) / 2 * 2, 0);
  for (size_t i = 0; i < v.size(); ++i) half[i] = ToBf16(v[i]);
  slot.resize(half.size() / 2);
  slot.shrink_to_fit();
  std::memcpy(slot.data(), half.data(), half.size() * sizeof(uint16_t));
  state.scalars[LengthKey(key)] = static_cast<double>(v.size());
}

bool GetStateTensor(const ClientState& state, const std::string& key, std::span<float> out) {
  auto it = state.tensors.find(key);
  if (it == state.tensors.end()) return false;
  auto n = state.scalars.find(LengthKey(key));
  if (n == state.scalars.end()) {
    if (it->second.size() != out.size()) return false;
    std::copy(it->second.begin(), it->second.end(), out.begin());
    return true;
  }
  if (static_cast<size_t>(n->second) != out.size()) return false;
  const auto* bytes = reinterpret_cast<const unsigned char*>(it->second.data());
  for (size_t i = 0; i < out.size(); ++i) {
    uint16_t h;
    std::memcpy(&h, bytes + 2 * i, sizeof(h));
    out[i] = FromBf16(h);
  }
  return true;
}

}  // namespace shoal
