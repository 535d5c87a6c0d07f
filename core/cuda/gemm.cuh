// Row-major float GEMM on device pointers (definition: Backend::Gemm):
// cuBLAS when the toolkit has it (SHOAL_HAVE_CUBLAS) and the library loads at
// run time (cublas_library.h), else a shared-memory tiled kernel (with a
// one-time warning when cuBLAS was expected). beta == 0 ignores C's old
// contents (BLAS semantics).
#pragma once
#include <cstdint>
#include "core/status.h"
namespace shoal::cuda {
Status Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
            const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
// Which GEMM the build uses: cuBLAS (loaded on first use) or the tiled kernel.
const char* GemmImplementation();
}  // namespace shoal::cuda
