#include "core/backend_rng.h"
#include "core/cuda/common.cuh"
#include "core/cuda/count_sketch.cuh"

namespace shoal::cuda {
namespace {
struct Slot {
  int64_t bucket;
  float sign;
};
__device__ __forceinline__ Slot SlotOf(uint2 key, int64_t row, uint64_t i, uint64_t cols) {
  const uint4 w = Philox(make_uint4(static_cast<uint32_t>(i), static_cast<uint32_t>(i >> 32),
                                    static_cast<uint32_t>(row), backend_rng::kCountSketchTag),
                         key);
  return {static_cast<int64_t>((uint64_t{w.x} * cols) >> 32), (w.y >> 31) ? -1.0f : 1.0f};
}

__global__ void ApplyKernel(uint2 key, int64_t rows, int64_t cols, const float* __restrict__ x, int64_t n,
                            float* __restrict__ table) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    for (int64_t j = 0; j < rows; ++j) {
      const Slot s = SlotOf(key, j, static_cast<uint64_t>(i), static_cast<uint64_t>(cols));
      atomicAdd(&table[j * cols + s.bucket], s.sign * x[i]);
    }
}

__global__ void UnapplyKernel(uint2 key, int64_t rows, int64_t cols, const float* __restrict__ table,
                              float* __restrict__ x, int64_t n) {
  float est[backend_rng::kMaxCountSketchRows];
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    for (int64_t j = 0; j < rows; ++j) {
      const Slot s = SlotOf(key, j, static_cast<uint64_t>(i), static_cast<uint64_t>(cols));
      // Insertion sort as we go: the median needs the sorted column.
      const float v = s.sign * table[j * cols + s.bucket];
      int64_t k = j;
      for (; k > 0 && est[k - 1] > v; --k) est[k] = est[k - 1];
      est[k] = v;
    }
    x[i] = (rows % 2 == 1) ? est[rows / 2] : (est[rows / 2 - 1] + est[rows / 2]) * 0.5f;
  }
}
}  // namespace

Status CountSketchApply(const CountSketchSpec& s, const float* x, int64_t n, float* table) {
  if (n == 0) return Status::Ok();
  ApplyKernel<<<GridFor(n), kThreads>>>(make_uint2(s.key[0], s.key[1]), s.rows, s.cols, x, n, table);
  return LaunchStatus("count_sketch_apply");
}

Status CountSketchUnapply(const CountSketchSpec& s, const float* table, float* x, int64_t n) {
  if (n == 0) return Status::Ok();
  UnapplyKernel<<<GridFor(n), kThreads>>>(make_uint2(s.key[0], s.key[1]), s.rows, s.cols, table, x, n);
  return LaunchStatus("count_sketch_unapply");
}
}  // namespace shoal::cuda
