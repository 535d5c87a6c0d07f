// PSNR / SSIM / assignment / PNG against hand-derived values (shared/PRIVACY.md §2.8).
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "algorithms/attacks/image_metrics.h"
#include "algorithms/attacks/png_writer.h"
#include "core/rng.h"

namespace shoal::attacks {
namespace {

TEST(ImageMetrics, WorkedExampleConstantImages) {
  // Spec worked example: x = 0.5, y = 0.6 -> MSE 0.01, PSNR 20 dB,
  // SSIM = (2*0.5*0.6 + C1) / (0.25 + 0.36 + C1) with sigma terms cancelling.
  const ImageShape s{1, 16, 16};
  std::vector<float> x(256, 0.5f), y(256, 0.6f);
  EXPECT_NEAR(Psnr(x, y), 20.0, 1e-5);
  const double c1 = 1e-4;
  const double expected = (0.6 + c1) / (0.61 + c1);  // 0.98361...
  EXPECT_NEAR(Ssim(x, y, s, SsimWindow::kGaussian11), expected, 1e-6);
  EXPECT_NEAR(Ssim(x, y, s, SsimWindow::kUniform7), expected, 1e-6);
  EXPECT_NEAR(expected, 0.98361, 1e-5);
}

TEST(ImageMetrics, IdenticalImagesScoreOneAndCap) {
  const ImageShape s{1, 12, 12};
  std::vector<float> x(144);
  RngStream rng(1, 0, 0, RngPurpose::kAttack);
  for (float& v : x) v = rng.NextFloat();
  EXPECT_NEAR(Ssim(x, x, s), 1.0, 1e-12);
  EXPECT_EQ(Psnr(x, x), kPsnrCap);
}

TEST(ImageMetrics, PsnrOfOneWrongPixel) {
  // 2x2 image, one pixel off by 0.2: MSE = 0.04 / 4 = 0.01 -> 20 dB.
  std::vector<float> a = {0, 0.5f, 1, 0.25f}, b = {0.2f, 0.5f, 1, 0.25f};
  EXPECT_NEAR(Psnr(a, b), 20.0, 1e-5);
}

TEST(ImageMetrics, SsimSingleUniformWindowMatchesHandComputation) {
  // 7x7 checkerboard x of 0.2 (25 px) / 0.6 (24 px), y = 0.5 x + 0.1; the
  // uniform 7x7 window covers the image once, with sample covariance N/(N-1).
  const ImageShape s{1, 7, 7};
  std::vector<float> x(49), y(49);
  for (int i = 0; i < 49; ++i) {
    x[i] = ((i / 7 + i % 7) % 2 == 0) ? 0.2f : 0.6f;
    y[i] = 0.5f * x[i] + 0.1f;
  }
  const double mx = (25 * 0.2 + 24 * 0.6) / 49.0;
  const double ex2 = (25 * 0.04 + 24 * 0.36) / 49.0;
  const double vx = (ex2 - mx * mx) * 49.0 / 48.0;  // sample variance
  const double my = 0.5 * mx + 0.1, vy = 0.25 * vx, cxy = 0.5 * vx;
  const double c1 = 1e-4, c2 = 9e-4;
  const double expected = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
  EXPECT_NEAR(Ssim(x, y, s, SsimWindow::kUniform7), expected, 1e-6);
  // Gaussian window on a 7x7 image clips to 7x7: still one window, population
  // statistics with Gaussian weights; SSIM must stay below 1 and above 0.
  const double g = Ssim(x, y, s, SsimWindow::kGaussian11);
  EXPECT_GT(g, 0.0);
  EXPECT_LT(g, 1.0);
}

TEST(ImageMetrics, AssignmentMatchesBruteForce) {
  const int n = 6;
  RngStream rng(7, 0, 0, RngPurpose::kAttack);
  for (int trial = 0; trial < 5; ++trial) {
    std::vector<double> cost(n * n);
    for (double& c : cost) c = rng.NextDouble();
    std::vector<int> perm(n);
    std::iota(perm.begin(), perm.end(), 0);
    double best = 1e300;
    do {
      double c = 0;
      for (int i = 0; i < n; ++i) c += cost[i * n + perm[i]];
      best = std::min(best, c);
    } while (std::next_permutation(perm.begin(), perm.end()));
    const std::vector<int> m = MinCostAssignment(cost, n);
    double got = 0;
    std::vector<int> seen(n, 0);
    for (int i = 0; i < n; ++i) {
      got += cost[i * n + m[i]];
      seen[m[i]]++;
    }
    EXPECT_NEAR(got, best, 1e-12);
    for (int v : seen) EXPECT_EQ(v, 1);
  }
}

TEST(ImageMetrics, BatchScoreMatchesPermutedImages) {
  const ImageShape s{1, 4, 4};
  std::vector<float> truth(3 * 16), recon(3 * 16);
  for (int k = 0; k < 3; ++k)
    for (int i = 0; i < 16; ++i) truth[k * 16 + i] = 0.1f * k + 0.01f * i;
  const int perm[3] = {2, 0, 1};  // recon k is truth perm[k]
  for (int k = 0; k < 3; ++k)
    for (int i = 0; i < 16; ++i) recon[k * 16 + i] = truth[perm[k] * 16 + i];
  BatchScore b = ScoreBatch(recon, truth, 3, s, 20.0);
  for (int k = 0; k < 3; ++k) EXPECT_EQ(b.match[k], perm[k]);
  EXPECT_EQ(b.mean_psnr, kPsnrCap);
  EXPECT_EQ(b.frac_above, 1.0);
}

uint32_t ReadU32(const std::vector<uint8_t>& b, size_t at) {
  return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) | b[at + 3];
}

TEST(PngWriter, ChunksCrcAndPixelsRoundTrip) {
  const std::vector<uint8_t> px = {0, 64, 128, 255, 1, 2};  // 3x2 grey
  const std::vector<uint8_t> png = EncodePng(px, 3, 2, 1);
  ASSERT_GE(png.size(), 8u);
  EXPECT_EQ(png[0], 0x89);
  EXPECT_EQ(std::string(png.begin() + 1, png.begin() + 4), "PNG");
  size_t at = 8;
  std::vector<uint8_t> idat;
  std::vector<std::string> types;
  while (at < png.size()) {
    const uint32_t len = ReadU32(png, at);
    const std::string type(png.begin() + at + 4, png.begin() + at + 8);
    types.push_back(type);
    const uint32_t crc = ReadU32(png, at + 8 + len);
    EXPECT_EQ(crc, crc32(0, png.data() + at + 4, len + 4)) << type;
    if (type == "IHDR") {
      EXPECT_EQ(ReadU32(png, at + 8), 3u);
      EXPECT_EQ(ReadU32(png, at + 12), 2u);
    }
    if (type == "IDAT") idat.assign(png.begin() + at + 8, png.begin() + at + 8 + len);
    at += 12 + len;
  }
  EXPECT_EQ(types, (std::vector<std::string>{"IHDR", "IDAT", "IEND"}));
  std::vector<uint8_t> raw(2 * 4);
  uLongf rl = raw.size();
  ASSERT_EQ(uncompress(raw.data(), &rl, idat.data(), idat.size()), Z_OK);
  EXPECT_EQ(raw, (std::vector<uint8_t>{0, 0, 64, 128, 0, 255, 1, 2}));
}

}  // namespace
}  // namespace shoal::attacks
