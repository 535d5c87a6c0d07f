// Persistent tensors in ClientState, optionally compact (bfloat16), for
// procedures whose per-client state must stay small across thousands of
// clients (pFedMe and APFL personal models).
#pragma once

#include <span>
#include <string>

#include "algorithms/types.h"

namespace shoal {

// How a procedure keeps a persistent tensor in ClientState: float32, or
// bfloat16 (round to nearest even) at half the bytes, for runs with many
// thousands of clients where the tensor only feeds evaluation.
enum class StatePrecision { kF32, kBf16 };

// Stores `v` under `key` (replacing it). bf16 values are packed two per float
// slot of ClientState::tensors[key], with the length in scalars[key + ".bf16_n"],
// so ClientState::bytes() reports the compact size.
void PutStateTensor(ClientState& state, const std::string& key, std::span<const float> v, StatePrecision p);
// Copies the tensor under `key` into `out` and returns true; false when the
// state has no such tensor or its size differs from out.size().
bool GetStateTensor(const ClientState& state, const std::string& key, std::span<float> out);

}  // namespace shoal
