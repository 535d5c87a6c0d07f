// y += a * x on device pointers (also the aggregation op WeightedAccumulate).
#pragma once
#include <cstdint>
#include "core/status.h"
namespace shoal::cuda {
Status Axpy(float a, const float* x, float* y, int64_t n);
}  // namespace shoal::cuda
