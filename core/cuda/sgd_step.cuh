// p -= lr * g on device pointers.
#pragma once
#include <cstdint>
#include "core/status.h"
namespace shoal::cuda {
Status SgdStep(float lr, const float* g, float* p, int64_t n);
}  // namespace shoal::cuda
