// Backend conformance for the dense ops (GEMM, im2col/col2im, softmax
// cross-entropy) on awkward shapes: empty, 1x1, odd primes, padded leading
// dimensions, every transpose, beta = 0 over a NaN-filled C (which must be
// ignored, BLAS semantics), kernels larger than the image, strides > kernel.
#include <limits>

#include "tests/core/backend_conformance.h"

namespace shoal::conformance {
namespace {

struct GemmShape {
  int64_t m, n, k, pad;  // pad: extra leading-dimension slack on every matrix
};

TEST(SHOAL_CONFORMANCE_SUITE, GemmMatchesRefOnAwkwardShapes) {
  const GemmShape shapes[] = {{0, 0, 0, 0}, {1, 1, 1, 0},    {7, 3, 5, 2},   {33, 17, 65, 0},
                              {64, 10, 200, 3}, {1, 1023, 7, 0}, {129, 1, 257, 1}, {5, 4, 0, 0}};
  ForEachBackend([&](const Candidate& c) {
    if (!c.be->Supports(Op::kGemm, DType::kF32)) GTEST_SKIP();
    for (const auto& sh : shapes)
      for (int t = 0; t < 4; ++t)
        for (auto [alpha, beta] : {std::pair{1.0f, 0.0f}, {0.7f, 0.3f}, {-1.0f, 1.0f}}) {
          const bool ta = t & 1, tb = t & 2;
          const int64_t lda = (ta ? sh.m : sh.k) + sh.pad, ldb = (tb ? sh.k : sh.n) + sh.pad, ldc = sh.n + sh.pad;
          auto a = RandomVec((ta ? sh.k : sh.m) * lda, 51), b = RandomVec((tb ? sh.n : sh.k) * ldb, 52);
          auto c0 = RandomVec(sh.m * ldc, 53);
          if (beta == 0.0f) std::fill(c0.begin(), c0.end(), std::numeric_limits<float>::quiet_NaN());
          Guarded<float> want(c0), got(c0);
          Ref().Gemm(ta, tb, sh.m, sh.n, sh.k, alpha, a.data(), lda, b.data(), ldb, beta, want.data(), ldc);
          c.be->Gemm(ta, tb, sh.m, sh.n, sh.k, alpha, a.data(), lda, b.data(), ldb, beta, got.data(), ldc);
          // Compare only the m x n window; padding columns must be untouched.
          const std::string what = "gemm " + std::to_string(sh.m) + "x" + std::to_string(sh.n) + "x" +
                                   std::to_string(sh.k) + " ta=" + std::to_string(ta) + " tb=" + std::to_string(tb);
          EXPECT_TRUE(got.GuardsIntact()) << what;
          double num = 0, den = 0;
          for (int64_t i = 0; i < sh.m; ++i)
            for (int64_t j = 0; j < ldc; ++j) {
              float g = got.data()[i * ldc + j], w = want.data()[i * ldc + j];
              if (j >= sh.n) {
                EXPECT_TRUE(std::memcmp(&g, &c0[i * ldc + j], sizeof(float)) == 0) << what << ": wrote padding";
                continue;
              }
              ASSERT_FALSE(std::isnan(g)) << what << ": NaN leaked from C with beta = 0";
              num += double(g - w) * double(g - w);
              den += double(w) * double(w);
            }
          EXPECT_LE(num / std::max(den, 1e-300), 1e-10) << what;
        }
  });
}

const ConvGeom kGeoms[] = {
    {1, 28, 28, 5, 5, 2, 1},  // LeNet conv1
    {6, 14, 14, 5, 5, 0, 1},  // LeNet conv2
    {3, 7, 5, 3, 3, 1, 2},    {2, 6, 7, 2, 3, 2, 3}, {1, 1, 1, 1, 1, 0, 1},
    {1, 3, 3, 5, 5, 1, 1},    // kernel larger than the image
    {2, 9, 4, 1, 1, 0, 4},    // stride larger than the kernel
};

// im2col and col2im of every geometry in kGeoms, bit for bit against cpu_ref.
// Every geometry runs; the failure message lists each mismatch (see Close).
template <typename T>
::testing::AssertionResult ConvMatchesRef(const Candidate& c) {
  std::string failures;
  for (const ConvGeom& g : kGeoms) {
    const std::string what = "conv c=" + std::to_string(g.channels) + " " + std::to_string(g.height) + "x" +
                             std::to_string(g.width) + " k=" + std::to_string(g.kernel_h) + "x" +
                             std::to_string(g.kernel_w) + " pad=" + std::to_string(g.pad) +
                             " stride=" + std::to_string(g.stride);
    const int64_t img_n = int64_t{g.channels} * g.height * g.width;
    const int64_t ldc = g.col_cols() + 3;  // a batch laid out side by side
    auto imgf = RandomVec(img_n, 61);
    std::vector<T> img(imgf.begin(), imgf.end());
    std::vector<T> col0(g.col_rows() * ldc, T(-3));
    Guarded<T> want(col0), got(col0);
    Ref().Im2Col(g, img.data(), want.data(), ldc);
    c.be->Im2Col(g, img.data(), got.data(), ldc);
    // Includes the untouched gap columns.
    if (auto r = Close(got, want, 0, "im2col " + what); !r) failures += std::string("\n  ") + r.message();
    auto colf = RandomVec(g.col_rows() * ldc, 62);
    std::vector<T> col(colf.begin(), colf.end());
    Guarded<T> iw(img), ig(img);
    Ref().Col2Im(g, col.data(), ldc, iw.data());
    c.be->Col2Im(g, col.data(), ldc, ig.data());
    if (auto r = Close(ig, iw, 0, "col2im " + what); !r) failures += std::string("\n  ") + r.message();
  }
  if (failures.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << (sizeof(T) == 4 ? "float" : "double") << ":" << failures;
}

TEST(SHOAL_CONFORMANCE_SUITE, Im2ColCol2ImMatchRefExactly) {
  ForEachBackend([](const Candidate& c) {
    EXPECT_TRUE(ConvMatchesRef<float>(c));
    if (c.be->Supports(Op::kIm2Col, DType::kF64)) {
      EXPECT_TRUE(ConvMatchesRef<double>(c));
    }
  });
}

TEST(SHOAL_CONFORMANCE_SUITE, SoftmaxXentMatchesRef) {
  ForEachBackend([](const Candidate& c) {
    for (auto [batch, classes] : {std::pair<int64_t, int64_t>{0, 10}, {1, 1}, {7, 10}, {1023, 10}, {32, 1023}}) {
      auto logits = RandomVec(batch * classes, 71, 6.0f);
      std::vector<int32_t> labels(batch);
      RngStream rng(72, -1, -1, RngPurpose::kInit);
      for (auto& l : labels) l = static_cast<int32_t>(rng.NextBelow(classes));
      Guarded<float> gw(batch * classes), gg(batch * classes);
      int64_t cw = -1, cg = -1;
      double lw = Ref().SoftmaxXent(logits.data(), labels.data(), batch, classes, gw.data(), &cw);
      double lg = c.be->SoftmaxXent(logits.data(), labels.data(), batch, classes, gg.data(), &cg);
      const std::string what = "softmax_xent " + std::to_string(batch) + "x" + std::to_string(classes);
      EXPECT_NEAR(lg, lw, 1e-9 * (1 + std::abs(lw))) << what;
      EXPECT_EQ(cg, cw) << what;
      EXPECT_TRUE(Close(gg, gw, 1e-12, what));
      // Without a gradient buffer the loss is the same.
      EXPECT_NEAR(c.be->SoftmaxXent(logits.data(), labels.data(), batch, classes, nullptr, nullptr), lw,
                  1e-9 * (1 + std::abs(lw)))
          << what;
    }
  });
}

}  // namespace
}  // namespace shoal::conformance
