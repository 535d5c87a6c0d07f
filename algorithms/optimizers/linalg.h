// Small dense symmetric linear algebra for the matrix preconditioners
// (Shampoo, SOAP). Row-major n x n float matrices in std::vector; the work is
// done in double with Eigen (kept out of this header). Not hot-loop code: it
// runs every precondition_frequency steps on per-layer factors.
#pragma once

#include <cstdint>
#include <vector>

namespace shoal {

// out = (A + eps I)^(-1/root) for symmetric PSD A (negative eigenvalues from
// round-off are clamped to 0), via A = Q diag(s) Q^T.
void SymmetricInverseRoot(const std::vector<float>& a, int64_t n, double eps, double root, std::vector<float>& out);
// q = eigenvectors of symmetric A as columns, by descending eigenvalue.
void SymmetricEigenvectorsDescending(const std::vector<float>& a, int64_t n, std::vector<float>& q);
// One power-iteration step of SOAP's eigenbasis refresh: sorts the columns of
// Q by descending diag(Q^T A Q) (writing the permutation into `order`), then
// Q = qr(A Q[:, order]).Q.
void RefreshEigenbasis(const std::vector<float>& a, int64_t n, std::vector<float>& q, std::vector<int64_t>& order);
// Gram matrix of the row-major m x n matrix G: out = keep out + add G G^T
// (left, m x m) or keep out + add G^T G (right, n x n).
void AccumulateGram(const float* g, int64_t m, int64_t n, bool left, float keep, float add, std::vector<float>& out);
// out[m x n] = L^T X R when to_basis (projection onto the bases L, R), else
// L X R^T (back from them; for symmetric L, R simply L X R). An empty L or R
// stands for the identity. L: m x m, R: n x n, row-major.
void TwoSidedProduct(const std::vector<float>& l, const float* x, const std::vector<float>& r, int64_t m, int64_t n,
                     bool to_basis, float* out);

}  // namespace shoal

namespace shoal {

// One diagonal block of a tensor viewed as a matrix [shape[0], size / shape[0]]
// (conv kernels [out, in kh kw], as in the Shampoo/SOAP reference code):
// element (i, j) of the block is flat[offset + i * stride + j].
struct MatrixBlock {
  int64_t offset = 0, stride = 0, rows = 1, cols = 0;
};
// Splits each side of the matrix view into runs of at most block_size (the
// last run shorter; block_size 0 = no split), row blocks outer. 1-D tensors:
// one block of 1 x size.
std::vector<MatrixBlock> PartitionMatrix(int64_t offset, const std::vector<int64_t>& shape, int64_t size,
                                         int64_t block_size);
// out (rows x cols, row-major) = the block of flat; and back.
void GatherBlock(const float* flat, const MatrixBlock& b, float* out);
void ScatterBlock(const float* in, const MatrixBlock& b, float* flat);

}  // namespace shoal
