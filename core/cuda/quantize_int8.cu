#include "core/backend_rng.h"
#include "core/cuda/common.cuh"
#include "core/cuda/quantize_int8.cuh"

namespace shoal::cuda {
namespace {
// One CUDA block per quantisation block (grid-stride over blocks): max |x| / 127.
// max is order-independent, so this is exact.
__global__ void BlockScaleKernel(const float* __restrict__ x, int64_t n, int64_t block, int64_t nblocks,
                                 float* __restrict__ scales) {
  __shared__ float sh[kThreads];
  for (int64_t b = blockIdx.x; b < nblocks; b += gridDim.x) {
    const int64_t lo = b * block, hi = min(n, lo + block);
    float mx = 0.0f;
    for (int64_t i = lo + threadIdx.x; i < hi; i += blockDim.x) mx = fmaxf(mx, fabsf(x[i]));
    sh[threadIdx.x] = mx;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
      if (threadIdx.x < s) sh[threadIdx.x] = fmaxf(sh[threadIdx.x], sh[threadIdx.x + s]);
      __syncthreads();
    }
    if (threadIdx.x == 0) scales[b] = sh[0] / 127.0f;
    __syncthreads();
  }
}

__global__ void QuantizeKernel(const float* __restrict__ x, int64_t n, int64_t block, uint2 key, uint64_t offset,
                               const float* __restrict__ scales, int8_t* __restrict__ q) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const float scale = scales[i / block];
    if (scale == 0.0f) {
      q[i] = 0;
      continue;
    }
    const uint64_t pos = offset + static_cast<uint64_t>(i);
    const uint32_t seed = Philox(make_uint4(static_cast<uint32_t>(pos >> 32), 0u, 0u, backend_rng::kQuantizeTag), key).x;
    const float u = static_cast<float>(backend_rng::Hash32(static_cast<uint32_t>(pos) ^ seed) >> 8) *
                    (1.0f / 16777216.0f);
    const float v = floorf(x[i] / scale + u);
    q[i] = static_cast<int8_t>(fminf(fmaxf(v, -127.0f), 127.0f));
  }
}

__global__ void DequantizeKernel(const int8_t* __restrict__ q, const float* __restrict__ scales, int64_t block,
                                 float* __restrict__ x, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    x[i] = static_cast<float>(q[i]) * scales[i / block];
}
}  // namespace

Status QuantizeInt8(const float* x, int64_t n, int64_t block, std::array<uint32_t, 2> key, uint64_t offset,
                    int8_t* q, float* scales) {
  if (n == 0) return Status::Ok();
  const int64_t nblocks = (n + block - 1) / block;
  BlockScaleKernel<<<static_cast<unsigned>(std::min<int64_t>(nblocks, 65535)), kThreads>>>(x, n, block, nblocks,
                                                                                            scales);
  RETURN_IF_ERROR(LaunchStatus("quantize_int8"));
  QuantizeKernel<<<GridFor(n), kThreads>>>(x, n, block, make_uint2(key[0], key[1]), offset, scales, q);
  return LaunchStatus("quantize_int8");
}

Status DequantizeInt8(const int8_t* q, const float* scales, int64_t block, float* x, int64_t n) {
  if (n == 0) return Status::Ok();
  DequantizeKernel<<<GridFor(n), kThreads>>>(q, scales, block, x, n);
  return LaunchStatus("dequantize_int8");
}
}  // namespace shoal::cuda
