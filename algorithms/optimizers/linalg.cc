#include "algorithms/optimizers/linalg.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <numeric>

namespace shoal {
namespace {

using MatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

MatD ToDouble(const std::vector<float>& a, int64_t n) {
  MatD m(n, n);
  for (int64_t i = 0; i < n * n; ++i) m.data()[i] = a[static_cast<size_t>(i)];
  return m;
}

void FromDouble(const MatD& m, std::vector<float>& out) {
  out.resize(static_cast<size_t>(m.size()));
  for (int64_t i = 0; i < m.size(); ++i) out[static_cast<size_t>(i)] = static_cast<float>(m.data()[i]);
}

}  // namespace

void SymmetricInverseRoot(const std::vector<float>& a, int64_t n, double eps, double root, std::vector<float>& out) {
  Eigen::SelfAdjointEigenSolver<MatD> es(ToDouble(a, n));
  Eigen::VectorXd s = es.eigenvalues();
  for (int64_t i = 0; i < n; ++i) s[i] = std::pow(std::max(s[i], 0.0) + eps, -1.0 / root);
  FromDouble(es.eigenvectors() * s.asDiagonal() * es.eigenvectors().transpose(), out);
}

void SymmetricEigenvectorsDescending(const std::vector<float>& a, int64_t n, std::vector<float>& q) {
  Eigen::SelfAdjointEigenSolver<MatD> es(ToDouble(a, n));  // ascending eigenvalues
  FromDouble(es.eigenvectors().rowwise().reverse(), q);
}

void RefreshEigenbasis(const std::vector<float>& a, int64_t n, std::vector<float>& q, std::vector<int64_t>& order) {
  MatD A = ToDouble(a, n), Q = ToDouble(q, n);
  Eigen::VectorXd est = (Q.transpose() * A * Q).diagonal();
  order.resize(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) { return est[i] > est[j]; });
  MatD sorted(n, n);
  for (int64_t c = 0; c < n; ++c) sorted.col(c) = Q.col(order[static_cast<size_t>(c)]);
  Eigen::HouseholderQR<MatD> qr(A * sorted);
  MatD fresh = qr.householderQ() * MatD::Identity(n, n);
  FromDouble(fresh, q);
}

void AccumulateGram(const float* g, int64_t m, int64_t n, bool left, float keep, float add, std::vector<float>& out) {
  using MatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const MatF> G(g, m, n);
  const int64_t k = left ? m : n;
  Eigen::Map<MatF> O(out.data(), k, k);
  if (left) O = keep * O + add * (G * G.transpose());
  else O = keep * O + add * (G.transpose() * G);
}

void TwoSidedProduct(const std::vector<float>& l, const float* x, const std::vector<float>& r, int64_t m, int64_t n,
                     bool to_basis, float* out) {
  using MatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const MatF> X(x, m, n);
  Eigen::Map<MatF> Y(out, m, n);
  const bool has_l = !l.empty(), has_r = !r.empty();
  MatF t = X;
  if (has_l) {
    Eigen::Map<const MatF> L(l.data(), m, m);
    t = to_basis ? MatF(L.transpose() * t) : MatF(L * t);
  }
  if (has_r) {
    Eigen::Map<const MatF> R(r.data(), n, n);
    t = to_basis ? MatF(t * R) : MatF(t * R.transpose());
  }
  Y = t;
}

}  // namespace shoal

namespace shoal {

std::vector<MatrixBlock> PartitionMatrix(int64_t offset, const std::vector<int64_t>& shape, int64_t size,
                                         int64_t block_size) {
  const int64_t rows = shape.size() >= 2 ? shape[0] : 1, cols = size / rows;
  const int64_t br = block_size > 0 ? block_size : rows, bc = block_size > 0 ? block_size : cols;
  std::vector<MatrixBlock> out;
  for (int64_t r = 0; r < rows; r += br)
    for (int64_t c = 0; c < cols; c += bc)
      out.push_back({offset + r * cols + c, cols, std::min(br, rows - r), std::min(bc, cols - c)});
  return out;
}

void GatherBlock(const float* flat, const MatrixBlock& b, float* out) {
  for (int64_t i = 0; i < b.rows; ++i)
    std::copy(flat + b.offset + i * b.stride, flat + b.offset + i * b.stride + b.cols, out + i * b.cols);
}

void ScatterBlock(const float* in, const MatrixBlock& b, float* flat) {
  for (int64_t i = 0; i < b.rows; ++i)
    std::copy(in + i * b.cols, in + (i + 1) * b.cols, flat + b.offset + i * b.stride);
}

}  // namespace shoal
