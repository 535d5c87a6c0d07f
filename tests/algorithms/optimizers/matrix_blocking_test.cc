// Shampoo and SOAP on block-diagonal partitions and reshaped conv kernels:
// a blocked run equals independent runs on each block (the block-diagonal
// preconditioner has no coupling across blocks, and grafting is per block);
// a conv kernel (out, in, kh, kw) is preconditioned as [out, in kh kw]
// (factor sizes, and the same steps as that 2-D tensor); Shampoo's diagonal
// fallback for sides over max_preconditioner_dim against a hand computation.
#include <gtest/gtest.h>

#include <cmath>
#include <iomanip>
#include <sstream>
#include <vector>

#include "algorithms/optimizers/linalg.h"
#include "algorithms/optimizers/optimizer.h"
#include "core/rng.h"

namespace shoal {
namespace {

std::vector<float> Gaussian(size_t n, uint64_t seed, float scale) {
  RngStream rng(seed, 0, 0, RngPurpose::kSynthetic);
  std::vector<float> x(n);
  for (float& v : x) v = scale * static_cast<float>(rng.NextGaussian());
  return x;
}

std::unique_ptr<Optimizer> Make(const std::string& name, const HParams& h, const ParamLayout& layout) {
  auto opt = MakeOptimizer(name, h, layout, *GetBackend("cpu_ref").value());
  EXPECT_TRUE(opt.ok()) << opt.status().ToString();
  return std::move(opt).value();
}

ParamLayout Tensor(std::vector<int64_t> shape) {
  ParamLayout l;
  l.Add("w", std::move(shape));
  return l;
}

// Runs `steps` steps of `name` on a rows x cols matrix with block_size `bs`,
// and the same steps on each block as its own tensor (block_size 0); the
// parameters must agree entry for entry (|blocked - independent| <=
// 1e-6 max(1, |independent|)). Fails on the first mismatch, naming the block,
// entry, both values and the tolerance; call through EXPECT_TRUE.
::testing::AssertionResult BlockedEqualsIndependent(const std::string& name, HParams h, int64_t rows, int64_t cols,
                                                    int64_t bs, int steps) {
  const size_t n = static_cast<size_t>(rows * cols);
  std::vector<float> p = Gaussian(n, 1, 1.0f);
  std::vector<std::vector<float>> grads;
  for (int s = 0; s < steps; ++s) grads.push_back(Gaussian(n, 10 + s, 0.3f));
  h["block_size"] = static_cast<double>(bs);
  auto blocked = MakeOptimizer(name, h, Tensor({rows, cols}), *GetBackend("cpu_ref").value());
  if (!blocked.ok()) return ::testing::AssertionFailure() << name << " (blocked): " << blocked.status().ToString();
  std::vector<float> pb = p;
  for (const auto& g : grads) blocked.value()->Step(pb, g, 0.1f);

  h["block_size"] = 0;
  const auto blocks = PartitionMatrix(0, {rows, cols}, rows * cols, bs);
  if (blocks.size() <= 1u)
    return ::testing::AssertionFailure() << name << ": " << rows << "x" << cols << " with block_size " << bs
                                         << " gives " << blocks.size() << " block(s); the test needs more than 1";
  for (const MatrixBlock& b : blocks) {
    auto single = MakeOptimizer(name, h, Tensor({b.rows, b.cols}), *GetBackend("cpu_ref").value());
    if (!single.ok()) return ::testing::AssertionFailure() << name << " (single): " << single.status().ToString();
    std::vector<float> q(static_cast<size_t>(b.rows * b.cols)), gq(q.size()), want(q.size());
    GatherBlock(p.data(), b, q.data());
    for (const auto& g : grads) {
      GatherBlock(g.data(), b, gq.data());
      single.value()->Step(q, gq, 0.1f);
    }
    GatherBlock(pb.data(), b, want.data());
    for (size_t i = 0; i < q.size(); ++i) {
      const float tol = 1e-6f * std::max(1.0f, std::fabs(q[i]));
      const double diff = std::fabs(static_cast<double>(want[i]) - static_cast<double>(q[i]));
      if (!(diff <= tol))
        return ::testing::AssertionFailure() << name << " block at " << b.offset << " (" << b.rows << "x" << b.cols
                                             << ") entry " << i << ": blocked " << want[i] << ", independent " << q[i]
                                             << ", |diff| " << diff << " > tolerance " << tol;
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(MatrixBlocking, PartitionSplitsEachSide) {
  auto b = PartitionMatrix(10, {2500, 3}, 7500, 1024);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].rows, 1024);
  EXPECT_EQ(b[2].rows, 2500 - 2048);
  EXPECT_EQ(b[2].offset, 10 + 2048 * 3);
  EXPECT_EQ(b[1].stride, 3);
  // Conv kernel (8, 300, 2, 2) = [8, 1200]: columns split 1024 + 176.
  auto c = PartitionMatrix(0, {8, 300, 2, 2}, 9600, 1024);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].cols, 1024);
  EXPECT_EQ(c[1].cols, 176);
  EXPECT_EQ(c[1].offset, 1024);
  EXPECT_EQ(c[1].stride, 1200);
  EXPECT_EQ(PartitionMatrix(0, {8, 300, 2, 2}, 9600, 0).size(), 1u);
}

TEST(MatrixBlocking, ShampooBlockedEqualsIndependentBlocks) {
  EXPECT_TRUE(BlockedEqualsIndependent("shampoo", {{"precondition_frequency", 1}}, 5, 7, 3, 3));
  EXPECT_TRUE(BlockedEqualsIndependent("shampoo", {{"precondition_frequency", 2}, {"grafting", 1}}, 5, 7, 3, 4));
  EXPECT_TRUE(
      BlockedEqualsIndependent("shampoo", {{"precondition_frequency", 1}, {"grafting", 2}, {"beta1", 0}}, 7, 4, 2, 3));
}

TEST(MatrixBlocking, SoapBlockedEqualsIndependentBlocks) {
  EXPECT_TRUE(BlockedEqualsIndependent("soap", {{"precondition_frequency", 2}}, 5, 7, 3, 5));
  EXPECT_TRUE(BlockedEqualsIndependent("soap", {{"precondition_frequency", 1}, {"weight_decay", 0}}, 6, 4, 4, 3));
}

// A conv kernel runs exactly as the [out, in kh kw] matrix (bit-identical
// parameters), with factors of that shape. Every check runs; the failure
// message lists each one that failed. Call through EXPECT_TRUE.
::testing::AssertionResult ConvRunsAsMatrix(const std::string& name, const HParams& h, const char* left,
                                            const char* right) {
  const ParamLayout conv = Tensor({4, 2, 3, 3}), mat = Tensor({4, 18});
  auto a = MakeOptimizer(name, h, conv, *GetBackend("cpu_ref").value());
  auto b = MakeOptimizer(name, h, mat, *GetBackend("cpu_ref").value());
  if (!a.ok() || !b.ok())
    return ::testing::AssertionFailure() << name << ": " << (a.ok() ? b.status() : a.status()).ToString();
  std::vector<float> pa = Gaussian(72, 2, 1.0f), pb = pa;
  for (int s = 0; s < 4; ++s) {
    const std::vector<float> g = Gaussian(72, 20 + s, 0.3f);
    a.value()->Step(pa, g, 0.05f);
    b.value()->Step(pb, g, 0.05f);
  }
  std::ostringstream bad;
  bad << std::setprecision(9);  // enough digits to tell floats apart
  size_t differ = 0;
  for (size_t i = 0; i < pa.size(); ++i)
    if (pa[i] != pb[i] && differ++ == 0)
      bad << "\n  conv != matrix: first at entry " << i << ": conv " << pa[i] << ", matrix " << pb[i];
  if (differ) bad << " (" << differ << " of " << pa.size() << " entries differ)";
  ClientState st;
  a.value()->SaveState(st);
  if (!st.tensors.count(left) || !st.tensors.count(right)) {
    bad << "\n  state lacks factor " << (st.tensors.count(left) ? right : left);
  } else {
    if (st.tensors[left].size() != 4u * 4u)
      bad << "\n  left factor " << left << " has " << st.tensors[left].size() << " entries, want out x out = 16";
    if (st.tensors[right].size() != 18u * 18u)
      bad << "\n  right factor " << right << " has " << st.tensors[right].size()
          << " entries, want (in kh kw)^2 = 324";
  }
  if (bad.str().empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << name << ":" << bad.str();
}

TEST(MatrixBlocking, ConvKernelUsesReshapedFactors) {
  EXPECT_TRUE(ConvRunsAsMatrix("shampoo", {{"precondition_frequency", 1}}, "opt.L0", "opt.R0"));
  EXPECT_TRUE(ConvRunsAsMatrix("soap", {{"precondition_frequency", 2}}, "opt.GGL0", "opt.GGR0"));
}

// Sides over max_preconditioner_dim: diagonal factors l_i = sum_j G_ij^2,
// r_j = sum_i G_ij^2 (sums: factor_beta 1), D_ij = G_ij (l_i+eps)^(-1/4) (r_j+eps)^(-1/4).
TEST(MatrixBlocking, ShampooDiagonalFallbackByHand) {
  for (const auto& [rows, cols, max_dim] : {std::tuple{3, 4, 2}, std::tuple{1, 4, 3}}) {
    // 1 x 4 with max 3: the left side (1) keeps its full 1 x 1 factor, the right goes diagonal.
    auto opt = Make("shampoo", {{"beta1", 0}, {"precondition_frequency", 1}, {"max_preconditioner_dim", max_dim}},
                    Tensor({rows, cols}));
    const size_t n = static_cast<size_t>(rows * cols);
    std::vector<float> p = Gaussian(n, 3, 1.0f);
    std::vector<double> want(p.begin(), p.end()), l(static_cast<size_t>(rows)), r(static_cast<size_t>(cols));
    for (int s = 0; s < 2; ++s) {
      const std::vector<float> g = Gaussian(n, 30 + s, 0.5f);
      for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j) {
          const double x = double{g[i * cols + j]} * g[i * cols + j];
          l[i] += x, r[j] += x;
        }
      for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j)
          want[i * cols + j] -= 0.1 * g[i * cols + j] * std::pow(l[i] + 1e-12, -0.25) * std::pow(r[j] + 1e-12, -0.25);
      opt->Step(p, g, 0.1f);
      for (size_t k = 0; k < n; ++k) EXPECT_NEAR(p[k], want[k], 2e-6) << rows << "x" << cols << " step " << s << " [" << k << "]";
    }
  }
}

}  // namespace
}  // namespace shoal
