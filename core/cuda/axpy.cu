#include "core/cuda/axpy.cuh"
#include "core/cuda/common.cuh"

namespace shoal::cuda {
namespace {
__global__ void AxpyKernel(float a, const float* __restrict__ x, float* __restrict__ y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    y[i] += a * x[i];
}
}  // namespace

Status Axpy(float a, const float* x, float* y, int64_t n) {
  if (n == 0) return Status::Ok();
  AxpyKernel<<<GridFor(n), kThreads>>>(a, x, y, n);
  return LaunchStatus("axpy");
}
}  // namespace shoal::cuda
