#include "core/backend_rng.h"
#include "core/cuda/common.cuh"
#include "core/cuda/quantize_int8.cuh"

namespace shoal::cuda {
namespace {
// backend_rng::QuantizeNoise15, line for line.
__device__ uint32_t QuantizeNoise15(uint2 key, uint64_t pos) {
  const uint64_t word = backend_rng::QuantizeNoiseWordIndex(pos);
  const uint32_t seed = Philox(make_uint4(static_cast<uint32_t>(word >> 32), 0u, 0u, backend_rng::kQuantizeTag), key).x;
  const uint32_t h = backend_rng::Hash32(static_cast<uint32_t>(word) ^ seed);
  return (pos & 16) ? (h >> 17) : (h & 0x7FFFu);
}

// One CUDA block per quantisation block (grid-stride over blocks): max |x|
// (order-independent, so exact), then every value of the block with
// backend_rng::QuantizeValue's formula (--fmad=false keeps x * inv + u two
// roundings, as on the CPU).
__global__ void QuantizeKernel(const float* __restrict__ x, int64_t n, int64_t block, int64_t nblocks, uint2 key,
                               uint64_t offset, int8_t* __restrict__ q, float* __restrict__ scales) {
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
    mx = sh[0];
    __syncthreads();
    const float scale = mx / 127.0f, s15 = (127.0f / mx) * 32768.0f;
    if (threadIdx.x == 0) scales[b] = scale;
    for (int64_t i = lo + threadIdx.x; i < hi; i += blockDim.x) {
      if (scale == 0.0f) {
        q[i] = 0;
        continue;
      }
      float y = s15 <= 3.4028234e38f ? x[i] * s15 : (x[i] / scale) * 32768.0f;
      if (!(y > -4194304.0f && y < 4194304.0f)) y = y > 0 ? 4194303.0f : -4194303.0f;
      const int32_t v =
          (__float2int_rn(y) + static_cast<int32_t>(QuantizeNoise15(key, offset + static_cast<uint64_t>(i)))) >> 15;
      q[i] = static_cast<int8_t>(v < -127 ? -127 : v > 127 ? 127 : v);
    }
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
  QuantizeKernel<<<static_cast<unsigned>(std::min<int64_t>(nblocks, 65535)), kThreads>>>(
      x, n, block, nblocks, make_uint2(key[0], key[1]), offset, q, scales);
  return LaunchStatus("quantize_int8");
}

Status DequantizeInt8(const int8_t* q, const float* scales, int64_t block, float* x, int64_t n) {
  if (n == 0) return Status::Ok();
  DequantizeKernel<<<GridFor(n), kThreads>>>(q, scales, block, x, n);
  return LaunchStatus("dequantize_int8");
}
}  // namespace shoal::cuda
