#include "algorithms/attacks/image_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace shoal::attacks {

double Mse(std::span<const float> a, std::span<const float> b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    s += d * d;
  }
  return a.empty() ? 0.0 : s / static_cast<double>(a.size());
}

double Psnr(std::span<const float> a, std::span<const float> b) {
  const double mse = Mse(a, b);
  if (mse <= 0) return kPsnrCap;
  return std::min(kPsnrCap, 10.0 * std::log10(1.0 / mse));
}

namespace {

// Separable window weights (normalised to sum 1) of odd length.
std::vector<double> Window1d(SsimWindow w, int len) {
  std::vector<double> k(static_cast<size_t>(len));
  const int r = len / 2;
  double sum = 0;
  for (int i = 0; i < len; ++i) {
    const double d = i - r;
    k[static_cast<size_t>(i)] = (w == SsimWindow::kGaussian11) ? std::exp(-d * d / (2 * 1.5 * 1.5)) : 1.0;
    sum += k[static_cast<size_t>(i)];
  }
  for (double& v : k) v /= sum;
  return k;
}

double SsimChannel(const float* a, const float* b, int h, int wd, SsimWindow w) {
  constexpr double kC1 = 0.01 * 0.01, kC2 = 0.03 * 0.03;
  const int full = (w == SsimWindow::kGaussian11) ? 11 : 7;
  // Clip the window to the image (odd length) for tiny images.
  const int wh = std::min(full, (h % 2) ? h : h - 1), ww = std::min(full, (wd % 2) ? wd : wd - 1);
  const std::vector<double> kh = Window1d(w, wh), kw = Window1d(w, ww);
  const double n = static_cast<double>(wh) * ww;
  const double cov_norm = (w == SsimWindow::kUniform7 && n > 1) ? n / (n - 1) : 1.0;
  double total = 0;
  int64_t count = 0;
  for (int i0 = 0; i0 + wh <= h; ++i0) {
    for (int j0 = 0; j0 + ww <= wd; ++j0) {
      double mx = 0, my = 0, mxx = 0, myy = 0, mxy = 0;
      for (int i = 0; i < wh; ++i)
        for (int j = 0; j < ww; ++j) {
          const double g = kh[static_cast<size_t>(i)] * kw[static_cast<size_t>(j)];
          const double x = a[(i0 + i) * wd + j0 + j], y = b[(i0 + i) * wd + j0 + j];
          mx += g * x; my += g * y; mxx += g * x * x; myy += g * y * y; mxy += g * x * y;
        }
      const double vx = cov_norm * (mxx - mx * mx), vy = cov_norm * (myy - my * my);
      const double cxy = cov_norm * (mxy - mx * my);
      total += ((2 * mx * my + kC1) * (2 * cxy + kC2)) / ((mx * mx + my * my + kC1) * (vx + vy + kC2));
      ++count;
    }
  }
  return count ? total / static_cast<double>(count) : 1.0;
}

}  // namespace

double Ssim(std::span<const float> a, std::span<const float> b, const ImageShape& s, SsimWindow window) {
  const int64_t plane = int64_t{s.height} * s.width;
  double sum = 0;
  for (int c = 0; c < s.channels; ++c)
    sum += SsimChannel(a.data() + c * plane, b.data() + c * plane, s.height, s.width, window);
  return sum / s.channels;
}

std::vector<int> MinCostAssignment(std::span<const double> cost, int n) {
  // Jonker-Volgenant style shortest augmenting paths with potentials (1-based).
  const double kInf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0), v(n + 1, 0);
  std::vector<int> p(n + 1, 0), way(n + 1, 0);
  for (int i = 1; i <= n; ++i) {
    p[0] = i;
    int j0 = 0;
    std::vector<double> minv(n + 1, kInf);
    std::vector<bool> used(n + 1, false);
    do {
      used[j0] = true;
      const int i0 = p[j0];
      double delta = kInf;
      int j1 = 0;
      for (int j = 1; j <= n; ++j) {
        if (used[j]) continue;
        const double cur = cost[static_cast<size_t>((i0 - 1) * n + (j - 1))] - u[i0] - v[j];
        if (cur < minv[j]) { minv[j] = cur; way[j] = j0; }
        if (minv[j] < delta) { delta = minv[j]; j1 = j; }
      }
      for (int j = 0; j <= n; ++j) {
        if (used[j]) { u[p[j]] += delta; v[j] -= delta; }
        else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] != 0);
    do {
      const int j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
  std::vector<int> row_to_col(static_cast<size_t>(n), -1);
  for (int j = 1; j <= n; ++j)
    if (p[j] > 0) row_to_col[static_cast<size_t>(p[j] - 1)] = j - 1;
  return row_to_col;
}

BatchScore ScoreBatch(std::span<const float> recon, std::span<const float> truth, int n, const ImageShape& shape,
                      double psnr_threshold) {
  const size_t d = static_cast<size_t>(shape.size());
  std::vector<double> cost(static_cast<size_t>(n) * n);
  for (int k = 0; k < n; ++k)
    for (int t = 0; t < n; ++t)
      cost[static_cast<size_t>(k * n + t)] = Mse(recon.subspan(k * d, d), truth.subspan(t * d, d));
  BatchScore s;
  s.match = MinCostAssignment(cost, n);
  int above = 0;
  for (int k = 0; k < n; ++k) {
    const auto r = recon.subspan(k * d, d), t = truth.subspan(static_cast<size_t>(s.match[k]) * d, d);
    s.psnr.push_back(Psnr(r, t));
    s.ssim.push_back(Ssim(r, t, shape));
    s.mean_psnr += s.psnr.back() / n;
    s.mean_ssim += s.ssim.back() / n;
    above += s.psnr.back() >= psnr_threshold;
  }
  s.frac_above = n ? static_cast<double>(above) / n : 0.0;
  return s;
}

}  // namespace shoal::attacks
