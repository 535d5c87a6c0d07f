// Client-side privacy transforms for client.pipeline (shared/PRIVACY.md §1.1).
//
//   - name: clip          clip_norm: C     delta <- delta * min(1, C / ||delta||)
//   - name: local_noise   clip_norm: C  noise_multiplier: z
//                         clip to C, then add N(0, (z C)^2 I) on the client
//                         (local DP: noise from RngStream(seed, round,
//                         client, kNoise), drawn through Backend::GaussianFill).
// Both record the pre-clip norm in update.metrics["update_norm"]. Put them
// before any compressor (the pipeline enforces it).
#pragma once

#include <memory>

#include "algorithms/transforms/transform.h"

namespace shoal::privacy {

Result<std::shared_ptr<const UpdateTransform>> MakeClipTransform(const ConfigNode& item);
Result<std::shared_ptr<const UpdateTransform>> MakeLocalNoiseTransform(const ConfigNode& item);

}  // namespace shoal::privacy
