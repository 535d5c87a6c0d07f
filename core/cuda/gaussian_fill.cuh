// x[i] = mean + stddev * GaussianAt(key, offset, i) on a device pointer.
#pragma once
#include <array>
#include <cstdint>
#include "core/status.h"
namespace shoal::cuda {
Status GaussianFill(std::array<uint32_t, 2> key, uint64_t offset, float mean, float stddev, float* x, int64_t n);
}  // namespace shoal::cuda
