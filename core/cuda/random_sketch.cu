#include "core/backend_rng.h"
#include "core/cuda/common.cuh"
#include "core/cuda/random_sketch.cuh"

namespace shoal::cuda {
namespace {
__device__ __forceinline__ float Entry(uint2 key, bool gaussian, int64_t j, uint64_t i, uint64_t d) {
  if (gaussian) return GaussianAtDevice(key, static_cast<uint64_t>(j) * d + i);
  const uint64_t b = i / 128;
  const uint4 w = Philox(make_uint4(static_cast<uint32_t>(b), static_cast<uint32_t>(b >> 32),
                                    static_cast<uint32_t>(j), backend_rng::kRademacherTag),
                         key);
  return ((Word(w, static_cast<int>((i % 128) / 32)) >> (i % 32)) & 1u) ? -1.0f : 1.0f;
}

// Block (bx, j): partial of row j over a fixed grid-stride share of i.
__global__ void ApplyPartialKernel(uint2 key, bool gaussian, const float* __restrict__ x, int64_t n,
                                   double* __restrict__ partial) {
  __shared__ double sh[kThreads];
  const int64_t j = blockIdx.y;
  double acc = 0;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    acc += double(Entry(key, gaussian, j, static_cast<uint64_t>(i), static_cast<uint64_t>(n))) * double(x[i]);
  sh[threadIdx.x] = acc;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[j * gridDim.x + blockIdx.x] = sh[0];
}

__global__ void ApplyFinalKernel(const double* __restrict__ partial, int64_t rows, double inv, float* __restrict__ y) {
  for (int64_t j = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; j < rows; j += int64_t{gridDim.x} * blockDim.x) {
    double acc = 0;
    for (int b = 0; b < kSketchBlocks; ++b) acc += partial[j * kSketchBlocks + b];
    y[j] = static_cast<float>(acc * inv);
  }
}

__global__ void UnapplyKernel(uint2 key, bool gaussian, int64_t rows, double inv, const float* __restrict__ y,
                              float* __restrict__ x, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    double acc = 0;
    for (int64_t j = 0; j < rows; ++j)
      acc += double(Entry(key, gaussian, j, static_cast<uint64_t>(i), static_cast<uint64_t>(n))) * double(y[j]);
    x[i] = static_cast<float>(acc * inv);
  }
}
}  // namespace

Status RandomSketchApply(const RandomSketchSpec& s, const float* x, int64_t n, float* y, double* scratch) {
  const double inv = 1.0 / sqrt(static_cast<double>(s.rows));
  const uint2 key = make_uint2(s.key[0], s.key[1]);
  const bool gaussian = s.dist == SketchDist::kGaussian;
  if (s.rows > 65535) return InvalidArgument("random_sketch_apply: cuda supports at most 65535 rows");
  ApplyPartialKernel<<<dim3(kSketchBlocks, static_cast<unsigned>(s.rows)), kThreads>>>(key, gaussian, x, n, scratch);
  RETURN_IF_ERROR(LaunchStatus("random_sketch_apply"));
  ApplyFinalKernel<<<GridFor(s.rows), kThreads>>>(scratch, s.rows, inv, y);
  return LaunchStatus("random_sketch_apply");
}

Status RandomSketchUnapply(const RandomSketchSpec& s, const float* y, float* x, int64_t n) {
  if (n == 0) return Status::Ok();
  const double inv = 1.0 / sqrt(static_cast<double>(s.rows));
  UnapplyKernel<<<GridFor(n), kThreads>>>(make_uint2(s.key[0], s.key[1]), s.dist == SketchDist::kGaussian, s.rows,
                                          inv, y, x, n);
  return LaunchStatus("random_sketch_unapply");
}
}  // namespace shoal::cuda
