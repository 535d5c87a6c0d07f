// Privacy-loss-distribution (PLD) accountant for the Poisson-subsampled
// Gaussian (Koskela, Jalko, Honkela 2020, arXiv 1906.03049; Doroshenko et
// al. 2022 "connect the dots", arXiv 2207.04380; shared/PRIVACY.md §1.5).
//
// Each direction of add/remove adjacency keeps a PMF of the privacy loss on
// the grid {i * interval} plus the mass at +infinity. A mechanism is
// discretised pessimistically: the loss mass on every grid interval
// [l_i, l_{i+1}] is split between its two ends so that both its P-mass and its
// Q-mass (E_P[e^{-L}]) are kept, which upper-bounds delta(eps) for every eps
// (the hockey-stick integrand is convex in e^{-L}); mass below the lowest
// grid point is moved up onto it, mass above the highest goes to +infinity.
// Composition convolves PMFs (FFT), self-composition by repeated squaring;
// after each convolution tails of total mass `tail_mass` are moved
// pessimistically (left tail up onto the first kept point, right tail to
// +infinity). delta(eps) = m_inf + sum_i p_i (1 - e^{eps - l_i})_+; epsilon is
// the largest over the two directions. Value type; thread-compatible.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"

namespace shoal::privacy {

struct PldOptions {
  double interval = 1e-4;    // loss grid step (dp_accounting default); > 0
  double tail_mass = 1e-15;  // mass each convolution may move per tail; in [0, 1e-6]
  Status Validate() const;
};

class PldAccountant {
 public:
  explicit PldAccountant(PldOptions opts = {});
  // Composes `count` Poisson-subsampled Gaussian steps (q in (0, 1], z > 0).
  Status AddPoissonGaussian(double q, double z, int64_t count = 1);
  // Smallest epsilon >= 0 with delta(epsilon) <= delta (to 1e-9). Infinite if
  // the mass at infinity alone exceeds delta.
  Result<double> Epsilon(double delta) const;
  // delta(epsilon), the larger of the two directions.
  double Delta(double epsilon) const;

  // A discrete loss distribution: p[k] is the mass at loss (offset + k) * interval.
  struct Pmf {
    int64_t offset = 0;
    std::vector<double> p{1.0};
    double inf_mass = 0;
  };
  const Pmf& remove_pmf() const { return remove_; }
  const Pmf& add_pmf() const { return add_; }

 private:
  Pmf Compose(const Pmf& a, const Pmf& b) const;
  Pmf SelfCompose(Pmf base, int64_t count) const;
  double DeltaOf(const Pmf& pmf, double epsilon) const;

  PldOptions opts_;
  Pmf remove_, add_;
};

}  // namespace shoal::privacy
