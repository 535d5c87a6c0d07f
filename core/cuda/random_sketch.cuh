// Dense random projection y = R x and x = R^T y on device pointers, R
// generated on the fly (definition: Backend::RandomSketchApply/Unapply).
// Apply reduces each row over a fixed grid in a fixed tree (deterministic;
// equal to cpu_ref up to rounding); Unapply sums over rows in cpu_ref's order.
#pragma once
#include <cstdint>
#include "core/backend.h"
namespace shoal::cuda {
inline constexpr int kSketchBlocks = 128;
// scratch: device, rows * kSketchBlocks doubles.
Status RandomSketchApply(const RandomSketchSpec& s, const float* x, int64_t n, float* y, double* scratch);
Status RandomSketchUnapply(const RandomSketchSpec& s, const float* y, float* x, int64_t n);
}  // namespace shoal::cuda
