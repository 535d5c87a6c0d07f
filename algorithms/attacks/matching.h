// Gradient-matching objectives and the small optimisation pieces the
// inversion attacks share (shared/PRIVACY.md §2.1, §2.3, §2.5, §2.6).
//
// m(G) compares a candidate gradient G with the observed target g* and
// returns u = dm/dG, which GradientOracle::MixedVjp turns into d m / d x:
//   L2:     m = ||G - g*||^2,                 u = 2 (G - g*)
//   cosine: m = 1 - <G,g*> / (||G|| ||g*||),  u = -g*/(||G|| ||g*||) + <G,g*> G / (||G||^3 ||g*||)
// An ObservationMap is the linear view of a gradient that the decoded update
// gives the server (campaign.h derives it from the client's real
// client.pipeline): identity (dense or noisy updates), the support mask of a
// sparsified update (top-k / rand-k: the server sees which coordinates were
// sent), or the pipeline's own encode->decode round trip when that is a
// symmetric linear map P (a random sketch with R^T R, whose shared seed the
// server must know to decode, Song et al. 2023). Matching then compares
// P G(x) with the decoded update, and u is pulled back with P^T.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "algorithms/attacks/image_metrics.h"

namespace shoal::attacks {

enum class MatchCost { kL2, kCosine };

// Returns m(G) and writes u (same size as g). A zero-norm G or target gives
// m = 1 and u = 0 for cosine.
double MatchValue(MatchCost cost, std::span<const double> g, std::span<const double> target, std::span<double> u);

// Anisotropic total variation of a batch of n images, as in both reference
// implementations (inversefed TV, SME total_variation): mean over the whole
// batch of |x[i+1,j] - x[i,j]| plus mean of |x[i,j+1] - x[i,j]| (so the weight
// does not grow with the batch). SME's version halves this sum: its
// lamb = 0.01 is Shoal's tv = 0.005. Adds weight * (sub)gradient into
// `grad`; returns the TV.
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

// The linear view of a gradient the server observes (all maps are d -> d).
class ObservationMap {
 public:
  using LinearFn = std::function<void(std::span<const double> in, std::span<double> out)>;
  // Identity on d-dimensional gradients.
  explicit ObservationMap(int64_t d) : d_(d) {}
  // Keeps the coordinates with keep[i] != 0 and zeroes the others.
  static ObservationMap Mask(std::vector<uint8_t> keep);
  // A symmetric linear map P (P = P^T), e.g. a sketch's R^T R; `apply` must
  // be thread-compatible with the map's own use (one map per attack).
  static ObservationMap SymmetricLinear(int64_t d, LinearFn apply);
  bool identity() const { return keep_.empty() && !linear_; }
  bool is_mask() const { return !keep_.empty(); }
  bool is_linear() const { return static_cast<bool>(linear_); }
  int64_t input_dim() const { return d_; }
  int64_t output_dim() const { return d_; }
  // out = P g.
  void Apply(std::span<const double> g, std::span<double> out) const;
  // out = P^T v.
  void Adjoint(std::span<const double> v, std::span<double> out) const;

 private:
  int64_t d_;
  std::vector<uint8_t> keep_;
  LinearFn linear_;
};

}  // namespace shoal::attacks
