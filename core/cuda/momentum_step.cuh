// PyTorch momentum SGD on device pointers (see Backend::MomentumStep).
#pragma once
#include <cstdint>
#include "core/status.h"
namespace shoal::cuda {
Status MomentumStep(float lr, float mu, float wd, bool nesterov, bool first, const float* g, float* b, float* p,
                    int64_t n);
}  // namespace shoal::cuda
