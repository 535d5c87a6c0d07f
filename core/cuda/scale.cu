#include "core/cuda/common.cuh"
#include "core/cuda/scale.cuh"

namespace shoal::cuda {
namespace {
__global__ void ScaleKernel(float a, float* __restrict__ x, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    x[i] *= a;
}
}  // namespace

Status Scale(float a, float* x, int64_t n) {
  if (n == 0) return Status::Ok();
  ScaleKernel<<<GridFor(n), kThreads>>>(a, x, n);
  return LaunchStatus("scale");
}
}  // namespace shoal::cuda
