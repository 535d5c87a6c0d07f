// Reconstruction scores for gradient-inversion attacks (shared/PRIVACY.md §2.8).
//
// Images are CHW float rows with values in [0, 1] (Shoal's datasets are not
// normalised, so no de-normalisation is needed). PSNR uses data range 1 and is
// capped at kPsnrCap for identical images; SSIM follows Wang et al. 2004 with
// K1 = 0.01, K2 = 0.03, L = 1 and population statistics. Batches are scored
// after matching reconstructions to true images by the assignment that
// minimises the total MSE (Hungarian algorithm).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace shoal::attacks {

struct ImageShape {
  int channels = 1, height = 1, width = 1;
  int64_t size() const { return int64_t{channels} * height * width; }
};

inline constexpr double kPsnrCap = 100.0;

// Mean squared error over all pixels and channels. REQUIRES: equal sizes.
double Mse(std::span<const float> a, std::span<const float> b);
// 10 log10(1 / MSE), capped at kPsnrCap (MSE = 0 gives the cap).
double Psnr(std::span<const float> a, std::span<const float> b);

enum class SsimWindow {
  kGaussian11,  // 11x11 Gaussian, sigma 1.5 (Wang et al. / skimage gaussian_weights=True): Shoal's default
  kUniform7,    // 7x7 uniform with sample covariance (skimage's default), for parity
};
// Mean SSIM over the valid region (window fully inside the image), per
// channel, then averaged over channels. Images smaller than the window use a
// window clipped to the image (so constant images still give the closed form).
double Ssim(std::span<const float> a, std::span<const float> b, const ImageShape& shape,
            SsimWindow window = SsimWindow::kGaussian11);

// Minimum-cost perfect assignment on an n x n row-major cost matrix:
// result[row] = column. O(n^3) Hungarian algorithm (Kuhn-Munkres with potentials).
std::vector<int> MinCostAssignment(std::span<const double> cost, int n);

struct BatchScore {
  std::vector<int> match;       // match[k] = index of the true image assigned to reconstruction k
  std::vector<double> psnr;     // per reconstruction, after matching
  std::vector<double> ssim;
  double mean_psnr = 0, mean_ssim = 0;
  double frac_above = 0;        // fraction of reconstructions with PSNR >= threshold
};
// Scores n reconstructions against n true images (both n x shape.size(), row-major).
BatchScore ScoreBatch(std::span<const float> recon, std::span<const float> truth, int n, const ImageShape& shape,
                      double psnr_threshold);

}  // namespace shoal::attacks
