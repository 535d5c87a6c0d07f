#include "core/cuda/adam_step.cuh"
#include "core/cuda/common.cuh"

namespace shoal::cuda {
namespace {
__global__ void AdamStepKernel(float beta1, float beta2, float eps, float step_size, float inv_sqrt_bc2,
                               float decay, float l2, const float* __restrict__ g, float* __restrict__ m,
                               float* __restrict__ v, float* __restrict__ p, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const float pi = p[i] * decay;
    const float gi = g[i] + l2 * pi;
    const float mi = beta1 * m[i] + (1.0f - beta1) * gi;
    const float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - step_size * mi / (sqrtf(vi) * inv_sqrt_bc2 + eps);
  }
}
}  // namespace

Status AdamStep(float beta1, float beta2, float eps, float step_size, float inv_sqrt_bc2, float decay, float l2,
                const float* g, float* m, float* v, float* p, int64_t n) {
  if (n == 0) return Status::Ok();
  AdamStepKernel<<<GridFor(n), kThreads>>>(beta1, beta2, eps, step_size, inv_sqrt_bc2, decay, l2, g, m, v, p, n);
  return LaunchStatus("adam_step");
}
}  // namespace shoal::cuda
