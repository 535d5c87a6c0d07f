#include "core/cuda/common.cuh"
#include "core/cuda/dot.cuh"

namespace shoal::cuda {
namespace {
__device__ void BlockTreeSum(double* sh) {
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
}

__global__ void DotPartialKernel(const float* __restrict__ x, const float* __restrict__ y, int64_t n,
                                 double* __restrict__ partial) {
  __shared__ double sh[kThreads];
  double acc = 0;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    acc += double(x[i]) * double(y ? y[i] : x[i]);
  sh[threadIdx.x] = acc;
  __syncthreads();
  BlockTreeSum(sh);
  if (threadIdx.x == 0) partial[blockIdx.x] = sh[0];
}

__global__ void DotFinalKernel(const double* __restrict__ partial, int count, double* __restrict__ out) {
  __shared__ double sh[kThreads];
  double acc = 0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partial[i];
  sh[threadIdx.x] = acc;
  __syncthreads();
  BlockTreeSum(sh);
  if (threadIdx.x == 0) *out = sh[0];
}
}  // namespace

Status Dot(const float* x, const float* y, int64_t n, double* scratch, double* out_host) {
  if (n == 0) {
    *out_host = 0;
    return Status::Ok();
  }
  DotPartialKernel<<<kDotBlocks, kThreads>>>(x, y, n, scratch);
  RETURN_IF_ERROR(LaunchStatus("dot"));
  DotFinalKernel<<<1, kThreads>>>(scratch, kDotBlocks, scratch + kDotBlocks);
  RETURN_IF_ERROR(LaunchStatus("dot"));
  return CudaStatus(cudaMemcpy(out_host, scratch + kDotBlocks, sizeof(double), cudaMemcpyDeviceToHost), "dot");
}
}  // namespace shoal::cuda
