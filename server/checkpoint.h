// Checkpoints of a training run: the global model and the strategy's round
// state in one file, written atomically (temp file, fsync, rename), so a
// crash leaves either the previous or the new checkpoint, never a torn one.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "algorithms/strategy.h"

namespace shoal::server {

// The checkpoint file inside `dir`.
std::string CheckpointPath(const std::string& dir);

// Writes `bytes` to `path` via `path.tmp` + fsync + rename.
Status WriteFileAtomic(const std::string& path, std::span<const uint8_t> bytes);
// Reads a whole file; NotFound when missing.
Result<std::vector<uint8_t>> ReadWholeFile(const std::string& path);

// Saves `strategy` (which must support SaveState) with the run seed.
Status SaveCheckpoint(const std::string& dir, const Strategy& strategy, uint64_t seed);
// Restores `strategy` from `dir`. NotFound when there is no checkpoint;
// FailedPrecondition when it belongs to another strategy or seed.
Status LoadCheckpoint(const std::string& dir, Strategy& strategy, uint64_t seed);

// Writes a model as raw little-endian float32 (the `final_model.bin` format
// shared with shoal-sim).
Status WriteModelFile(const std::string& path, std::span<const float> params);

}  // namespace shoal::server
