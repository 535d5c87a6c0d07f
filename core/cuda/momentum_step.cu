#include "core/cuda/common.cuh"
#include "core/cuda/momentum_step.cuh"

namespace shoal::cuda {
namespace {
__global__ void MomentumStepKernel(float lr, float mu, float wd, bool nesterov, bool first,
                                   const float* __restrict__ g, float* __restrict__ b, float* __restrict__ p,
                                   int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const float d = g[i] + wd * p[i];
    const float bi = first ? d : mu * b[i] + d;
    b[i] = bi;
    p[i] -= lr * (nesterov ? d + mu * bi : bi);
  }
}
}  // namespace

Status MomentumStep(float lr, float mu, float wd, bool nesterov, bool first, const float* g, float* b, float* p,
                    int64_t n) {
  if (n == 0) return Status::Ok();
  MomentumStepKernel<<<GridFor(n), kThreads>>>(lr, mu, wd, nesterov, first, g, b, p, n);
  return LaunchStatus("momentum_step");
}
}  // namespace shoal::cuda
