#include "core/cuda/common.cuh"
#include "core/cuda/gaussian_fill.cuh"

namespace shoal::cuda {
namespace {
__global__ void GaussianFillKernel(uint2 key, uint64_t offset, float mean, float stddev, float* __restrict__ x,
                                   int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    x[i] = mean + stddev * GaussianAtDevice(key, offset + static_cast<uint64_t>(i));
}
}  // namespace

Status GaussianFill(std::array<uint32_t, 2> key, uint64_t offset, float mean, float stddev, float* x, int64_t n) {
  if (n == 0) return Status::Ok();
  GaussianFillKernel<<<GridFor(n), kThreads>>>(make_uint2(key[0], key[1]), offset, mean, stddev, x, n);
  return LaunchStatus("gaussian_fill");
}
}  // namespace shoal::cuda
