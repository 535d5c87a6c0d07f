// Device-side helpers shared by the CUDA op files: error conversion, launch
// geometry, and the counter-based generator (Philox4x32-10, identical to
// core/rng.cc and core/backend_rng.h, so device draws match the CPU bit for
// bit). Included only by .cu files.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace shoal::cuda {

inline constexpr int kThreads = 256;

// Grid for a grid-stride loop over n items (capped; the loop covers the rest).
inline unsigned GridFor(int64_t n) {
  return static_cast<unsigned>(std::clamp<int64_t>((n + kThreads - 1) / kThreads, 1, 8192));
}

inline Status CudaStatus(cudaError_t e, const char* op) {
  if (e == cudaSuccess) return Status::Ok();
  return Internal(std::string("cuda ") + op + ": " + cudaGetErrorName(e) + ": " + cudaGetErrorString(e));
}
// Status of the kernel launch that just happened.
inline Status LaunchStatus(const char* op) { return CudaStatus(cudaGetLastError(), op); }

// Philox4x32-10 block function (Salmon et al. SC'11).
__device__ __forceinline__ uint4 Philox(uint4 c, uint2 k) {
#pragma unroll
  for (int r = 0; r < 10; ++r) {
    const uint32_t hi0 = __umulhi(0xD2511F53u, c.x), lo0 = 0xD2511F53u * c.x;
    const uint32_t hi1 = __umulhi(0xCD9E8D57u, c.z), lo1 = 0xCD9E8D57u * c.z;
    c = make_uint4(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    k.x += 0x9E3779B9u;
    k.y += 0xBB67AE85u;
  }
  return c;
}

__device__ __forceinline__ uint32_t Word(uint4 w, int i) { return i == 0 ? w.x : i == 1 ? w.y : i == 2 ? w.z : w.w; }

// Block `b` of the plain stream (counter words 2 and 3 zero): RngStream/GaussianAt.
__device__ __forceinline__ uint4 StreamBlock(uint2 key, uint64_t b) {
  return Philox(make_uint4(static_cast<uint32_t>(b), static_cast<uint32_t>(b >> 32), 0u, 0u), key);
}

// GaussianAt(key, offset, i) of core/rng.cc, element for element.
__device__ __forceinline__ float GaussianAtDevice(uint2 key, uint64_t j) {
  const uint4 w = StreamBlock(key, j / 4);
  const int pair = static_cast<int>((j % 4) / 2);
  const double u1 = (static_cast<double>(Word(w, 2 * pair)) + 0.5) * (1.0 / 4294967296.0);
  const double u2 = (static_cast<double>(Word(w, 2 * pair + 1)) + 0.5) * (1.0 / 4294967296.0);
  const double r = sqrt(-2.0 * log(u1));
  const double a = 2.0 * 3.14159265358979323846 * u2;
  return static_cast<float>((j % 2 == 0) ? r * cos(a) : r * sin(a));
}

}  // namespace shoal::cuda
