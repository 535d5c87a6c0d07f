#include "core/cuda/common.cuh"
#include "core/cuda/gemm.cuh"

#if SHOAL_HAVE_CUBLAS
#include "core/cuda/cublas_library.h"
#endif

namespace shoal::cuda {
namespace {
constexpr int kTile = 16;

// C = alpha op(A) op(B) + beta C, one kTile x kTile output tile per block.
__global__ void TiledGemmKernel(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                                const float* __restrict__ a, int64_t lda, const float* __restrict__ b, int64_t ldb,
                                float beta, float* __restrict__ c, int64_t ldc) {
  __shared__ float as[kTile][kTile], bs[kTile][kTile];
  const int64_t row = blockIdx.y * int64_t{kTile} + threadIdx.y, col = blockIdx.x * int64_t{kTile} + threadIdx.x;
  float acc = 0.0f;
  for (int64_t p0 = 0; p0 < k; p0 += kTile) {
    const int64_t pa = p0 + threadIdx.x, pb = p0 + threadIdx.y;
    as[threadIdx.y][threadIdx.x] = (row < m && pa < k) ? (ta ? a[pa * lda + row] : a[row * lda + pa]) : 0.0f;
    bs[threadIdx.y][threadIdx.x] = (col < n && pb < k) ? (tb ? b[col * ldb + pb] : b[pb * ldb + col]) : 0.0f;
    __syncthreads();
    for (int p = 0; p < kTile; ++p) acc += as[threadIdx.y][p] * bs[p][threadIdx.x];
    __syncthreads();
  }
  if (row < m && col < n) {
    float& out = c[row * ldc + col];
    out = (beta == 0.0f ? 0.0f : beta * out) + alpha * acc;
  }
}

}  // namespace

const char* GemmImplementation() {
  return SHOAL_HAVE_CUBLAS ? "cuBLAS (loaded at the first GEMM; tiled kernel if it cannot be)" : "tiled kernel";
}

Status Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
            const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return Status::Ok();
#if SHOAL_HAVE_CUBLAS
  // Without a handle (cuBLAS not installed, or failed to initialise; warned
  // once) fall through to the tiled kernel.
  if (cublasHandle_t h = ThreadCublasHandle()) {
    // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T. cuBLAS
    // wants leading dimensions >= 1 even when k == 0 leaves A and B unread.
    lda = std::max<int64_t>(lda, 1);
    ldb = std::max<int64_t>(ldb, 1);
    cublasStatus_t st =
        Cublas()->sgemm(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(n),
                        static_cast<int>(m), static_cast<int>(k), &alpha, b, static_cast<int>(ldb), a,
                        static_cast<int>(lda), &beta, c, static_cast<int>(ldc));
    if (st != CUBLAS_STATUS_SUCCESS)
      return Internal("cuda gemm: cublasSgemm failed with status " + std::to_string(st));
    return Status::Ok();
  }
#endif
  dim3 grid(static_cast<unsigned>((n + kTile - 1) / kTile), static_cast<unsigned>((m + kTile - 1) / kTile));
  TiledGemmKernel<<<grid, dim3(kTile, kTile)>>>(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  return LaunchStatus("gemm");
}
}  // namespace shoal::cuda
