// Fixed-order dot product / squared norm in double on device pointers: a
// fixed grid of kDotBlocks partial sums, each a fixed tree, combined by one
// block in a fixed tree, so the result is the same on every run.
#pragma once
#include <cstdint>
#include "core/status.h"
namespace shoal::cuda {
inline constexpr int kDotBlocks = 512;
// *out_host = sum x[i] * y[i] (y == nullptr: x[i]^2). scratch: device, kDotBlocks + 1 doubles.
Status Dot(const float* x, const float* y, int64_t n, double* scratch, double* out_host);
}  // namespace shoal::cuda
