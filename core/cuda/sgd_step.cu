#include "core/cuda/common.cuh"
#include "core/cuda/sgd_step.cuh"

namespace shoal::cuda {
namespace {
__global__ void SgdStepKernel(float lr, const float* __restrict__ g, float* __restrict__ p, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    p[i] -= lr * g[i];
}
}  // namespace

Status SgdStep(float lr, const float* g, float* p, int64_t n) {
  if (n == 0) return Status::Ok();
  SgdStepKernel<<<GridFor(n), kThreads>>>(lr, g, p, n);
  return LaunchStatus("sgd_step");
}
}  // namespace shoal::cuda
