#include "algorithms/minibatch.h"

#include <algorithm>

namespace shoal {

MinibatchStream::MinibatchStream(std::span<const int64_t> indices, int batch_size, uint64_t seed, int64_t round,
                                 int client)
    : order_(indices.begin(), indices.end()),
      batch_(static_cast<size_t>(std::max(batch_size, 1))),
      pos_(order_.size()),  // the first Next() starts (and shuffles) an epoch
      rng_(seed, round, client, RngPurpose::kShuffle) {}

std::span<const int64_t> MinibatchStream::Next() {
  if (order_.empty()) return {};
  if (pos_ >= order_.size()) {
    rng_.Shuffle(std::span<int64_t>(order_));
    pos_ = 0;
  }
  size_t m = std::min(batch_, order_.size() - pos_);
  std::span<const int64_t> b(order_.data() + pos_, m);
  pos_ += m;
  ++batches_;
  return b;
}

}  // namespace shoal
