#include "algorithms/optimizers/optimizer.h"

namespace shoal {

int64_t Optimizer::state_bytes() const {
  StateRefs refs = const_cast<Optimizer*>(this)->State();
  int64_t bytes = 0;
  for (const auto& [name, buf] : refs.tensors) bytes += static_cast<int64_t>(buf->size() * sizeof(float));
  // Scalars (step counters, running sums) are counted as the fp32 words they would take.
  bytes += static_cast<int64_t>(refs.scalars.size() * sizeof(float));
  return bytes;
}

void Optimizer::SaveState(ClientState& state) const {
  StateRefs refs = const_cast<Optimizer*>(this)->State();
  for (const auto& [name, buf] : refs.tensors) state.tensors["opt." + name] = *buf;
  for (const auto& [name, x] : refs.scalars) state.scalars["opt." + name] = *x;
}

void Optimizer::LoadState(const ClientState& state) {
  StateRefs refs = State();
  for (const auto& [name, buf] : refs.tensors) {
    auto it = state.tensors.find("opt." + name);
    if (it != state.tensors.end() && it->second.size() == buf->size()) *buf = it->second;
  }
  for (const auto& [name, x] : refs.scalars) {
    auto it = state.scalars.find("opt." + name);
    if (it != state.scalars.end()) *x = it->second;
  }
}

}  // namespace shoal
