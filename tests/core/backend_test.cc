// Backend ops against independent expectations: hand-computed values and the
// cpu_ref oracle (full conformance across all ops and sizes lives in
// backend_conformance).
#include "core/backend.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/rng.h"

namespace shoal {
namespace {

const Backend& Ref() { return *GetBackend("cpu_ref").value(); }
const Backend& Simd() { return *GetBackend("cpu_simd").value(); }

TEST(Backend, GemmHandExample) {
  // [1 2; 3 4] x [5 6; 7 8] = [19 22; 43 50]
  float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8};
  for (const Backend* be : {&Ref(), &Simd()}) {
    float c[4] = {1, 1, 1, 1};
    be->Gemm(false, false, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
    EXPECT_FLOAT_EQ(c[0], 19);
    EXPECT_FLOAT_EQ(c[1], 22);
    EXPECT_FLOAT_EQ(c[2], 43);
    EXPECT_FLOAT_EQ(c[3], 50);
    // A^T B with beta = 1 accumulates: A^T = [1 3; 2 4] -> [26 30; 38 44] + 1.
    float d[4] = {1, 1, 1, 1};
    be->Gemm(true, false, 2, 2, 2, 1.0f, a, 2, b, 2, 1.0f, d, 2);
    EXPECT_FLOAT_EQ(d[0], 27);
    EXPECT_FLOAT_EQ(d[3], 45);
  }
}

TEST(Backend, SimdGemmMatchesRefOnAwkwardShapesAllTransposes) {
  RngStream rng(1, -1, -1, RngPurpose::kInit);
  for (auto [m, n, k] : {std::tuple{1, 1, 1}, {7, 3, 5}, {33, 17, 65}, {64, 10, 200}}) {
    std::vector<float> a(m * k), b(k * n);
    for (auto& v : a) v = rng.NextFloat() - 0.5f;
    for (auto& v : b) v = rng.NextFloat() - 0.5f;
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        std::vector<float> c1(m * n, 0.5f), c2(m * n, 0.5f);
        int lda = ta ? m : k, ldb = tb ? k : n;
        Ref().Gemm(ta, tb, m, n, k, 0.7f, a.data(), lda, b.data(), ldb, 0.3f, c1.data(), n);
        Simd().Gemm(ta, tb, m, n, k, 0.7f, a.data(), lda, b.data(), ldb, 0.3f, c2.data(), n);
        for (int i = 0; i < m * n; ++i) EXPECT_NEAR(c1[i], c2[i], 1e-5f * (1 + std::abs(c1[i])));
      }
  }
}

TEST(Backend, SoftmaxXentHandValues) {
  // logits (0, 0) label 0: loss = log 2, grad = (0.5 - 1, 0.5) / batch.
  float z[] = {0, 0, 1, 3};
  int32_t y[] = {0, 1};
  float g[4];
  int64_t correct = 0;
  double loss = Ref().SoftmaxXent(z, y, 2, 2, g, &correct);
  double l2 = std::log(1 + std::exp(-2.0));  // second row: -log(e^3/(e^1+e^3))
  EXPECT_NEAR(loss, (std::log(2.0) + l2) / 2, 1e-7);
  EXPECT_NEAR(g[0], -0.25, 1e-7);
  EXPECT_NEAR(g[1], 0.25, 1e-7);
  EXPECT_EQ(correct, 2);  // row 0 ties resolve to the first class (label 0); row 1 argmax 1
}

TEST(Backend, ReductionsClipAndAxpy) {
  std::vector<float> x = {3, 4}, y = {1, 2};
  for (const Backend* be : {&Ref(), &Simd()}) {
    EXPECT_DOUBLE_EQ(be->Dot(x, y), 11.0);
    EXPECT_DOUBLE_EQ(be->SquaredNorm(x), 25.0);
    std::vector<float> z = x;
    EXPECT_DOUBLE_EQ(be->ClipByNorm(z, 2.5), 5.0);
    EXPECT_NEAR(std::sqrt(be->SquaredNorm(z)), 2.5, 1e-6);
    std::vector<float> w = y;
    be->Axpy(2.0f, x, w);
    EXPECT_FLOAT_EQ(w[0], 7);
    EXPECT_FLOAT_EQ(w[1], 10);
  }
}

TEST(Backend, Im2ColCol2ImAreAdjoint) {
  // <im2col(x), c> == <x, col2im(c)> for any x, c (col2im is the transpose).
  ConvGeom g{2, 5, 4, 3, 3, 1, 2};
  RngStream rng(3, -1, -1, RngPurpose::kInit);
  std::vector<double> img(2 * 5 * 4), col(g.col_rows() * g.col_cols()), back(img.size(), 0.0);
  for (auto& v : img) v = rng.NextDouble() - 0.5;
  std::vector<double> c(col.size());
  for (auto& v : c) v = rng.NextDouble() - 0.5;
  Ref().Im2Col(g, img.data(), col.data(), g.col_cols());
  Ref().Col2Im(g, c.data(), g.col_cols(), back.data());
  double lhs = 0, rhs = 0;
  for (size_t i = 0; i < col.size(); ++i) lhs += col[i] * c[i];
  for (size_t i = 0; i < img.size(); ++i) rhs += img[i] * back[i];
  EXPECT_NEAR(lhs, rhs, 1e-12);
}

TEST(Backend, UnknownNameIsAnError) {
  auto r = GetBackend("tpu");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cpu_ref"), std::string::npos);
}

}  // namespace
}  // namespace shoal
