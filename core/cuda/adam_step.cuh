// Fused Adam/AdamW step on device pointers. The host computes the per-step
// constants exactly as cpu_ref does (step_size = lr / bc1, inv_sqrt_bc2 =
// 1 / sqrt(bc2), decay = 1 - lr wd or 1, l2 = wd or 0).
#pragma once
#include <cstdint>
#include "core/status.h"
namespace shoal::cuda {
Status AdamStep(float beta1, float beta2, float eps, float step_size, float inv_sqrt_bc2, float decay, float l2,
                const float* g, float* m, float* v, float* p, int64_t n);
}  // namespace shoal::cuda
