// x *= a on device pointers.
#pragma once
#include <cstdint>
#include "core/status.h"
namespace shoal::cuda {
Status Scale(float a, float* x, int64_t n);
}  // namespace shoal::cuda
