// Gradient-matching objectives and the small optimisation pieces the
// inversion attacks share (shared/PRIVACY.md §2.1, §2.3, §2.5, §2.6).
//
// m(G) compares a candidate gradient G with the observed target g* and
// returns u = dm/dG, which GradientOracle::MixedVjp turns into d m / d x:
//   L2:     m = ||G - g*||^2,                 u = 2 (G - g*)
//   cosine: m = 1 - <G,g*> / (||G|| ||g*||),  u = -g*/(||G|| ||g*||) + <G,g*> G / (||G||^3 ||g*||)
// An ObservationMap is what the server actually sees of a gradient: identity,
// or a count sketch R (s x d, one +-1 per column, E[R^T R] = I) whose seed the
// attacker knows; matching then happens in sketch space and u is pulled back
// with R^T.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "algorithms/attacks/image_metrics.h"

namespace shoal::attacks {

enum class MatchCost { kL2, kCosine };

// Returns m(G) and writes u (same size as g). A zero-norm G or target gives
// m = 1 and u = 0 for cosine.
double MatchValue(MatchCost cost, std::span<const double> g, std::span<const double> target, std::span<double> u);

// Anisotropic total variation of a batch of n images: for each image,
// mean |x[i+1,j] - x[i,j]| + mean |x[i,j+1] - x[i,j]| (over channels too),
// summed over images. Adds weight * (sub)gradient into `grad`; returns the TV.
double TotalVariation(std::span<const double> x, int n, const ImageShape& shape, double weight,
                      std::span<double> grad);

// Adam (Kingma & Ba) with bias correction, on a flat vector.
class Adam {
 public:
  explicit Adam(size_t n, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
      : m_(n, 0.0), v_(n, 0.0), b1_(beta1), b2_(beta2), eps_(eps) {}
  void Step(std::span<double> x, std::span<const double> grad, double lr);

 private:
  std::vector<double> m_, v_;
  double b1_, b2_, eps_;
  int64_t t_ = 0;
};

// Learning rate after MultiStep decay x0.1 at 3/8, 5/8 and 7/8 of `iterations`.
double MultiStepLr(double lr, int it, int iterations);

// The linear view of a gradient the server observes.
class ObservationMap {
 public:
  // Identity on d-dimensional gradients.
  explicit ObservationMap(int64_t d) : d_(d), s_(d) {}
  // Count sketch to s buckets with hash and signs from (key, ...).
  static ObservationMap CountSketch(int64_t d, int64_t s, uint64_t key);
  bool identity() const { return bucket_.empty(); }
  int64_t input_dim() const { return d_; }
  int64_t output_dim() const { return s_; }
  // out[s] = R g.
  void Apply(std::span<const double> g, std::span<double> out) const;
  // out[d] = R^T v.
  void Adjoint(std::span<const double> v, std::span<double> out) const;

 private:
  int64_t d_, s_;
  std::vector<int64_t> bucket_;
  std::vector<int8_t> sign_;
};

}  // namespace shoal::attacks
