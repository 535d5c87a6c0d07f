// Minibatch streams for procedures that run their own local loops (pFedMe,
// APFL, FedSpeed) in the same batch order as RunLocalTraining.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/rng.h"

namespace shoal {

// Endless minibatches over a client's indices, in the same order as
// RunLocalTraining: reshuffled at the start of every epoch with
// RngStream(seed, round, client, kShuffle); the last batch of an epoch may be
// partial. Not thread-safe; one per task.
class MinibatchStream {
 public:
  // REQUIRES: batch_size >= 1. `indices` must outlive the stream.
  MinibatchStream(std::span<const int64_t> indices, int batch_size, uint64_t seed, int64_t round, int client);
  // The next batch (empty only when the client has no data). Valid until the next call.
  std::span<const int64_t> Next();
  // Batches handed out so far.
  int64_t batches() const { return batches_; }

 private:
  std::vector<int64_t> order_;
  size_t batch_, pos_ = 0;
  RngStream rng_;
  int64_t batches_ = 0;
};

}  // namespace shoal
