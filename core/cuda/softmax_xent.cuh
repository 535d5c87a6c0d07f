// Softmax cross-entropy on device pointers, one thread per row in double as
// cpu_ref does; per-row losses and hit flags go to device arrays that the
// caller sums in row order (deterministic). grad may be null.
#pragma once
#include <cstdint>
#include "core/status.h"
namespace shoal::cuda {
Status SoftmaxXent(const float* logits, const int32_t* labels, int64_t batch, int64_t classes, float* grad,
                   double* row_loss, int32_t* row_correct);
}  // namespace shoal::cuda
