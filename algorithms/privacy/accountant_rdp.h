// Renyi-DP accountant for the Poisson-subsampled Gaussian mechanism
// (Mironov, Talwar, Zhang 2019, arXiv 1908.10530), its composition, and the
// conversion to (epsilon, delta) (shared/PRIVACY.md §1.4, §1.6).
//
// Conventions: `q` is the sampling rate, `z` the noise multiplier (noise std /
// L2 sensitivity), `alpha` the Renyi order. Add/remove adjacency for Poisson
// sampling; fixed-size sampling without replacement uses the Wang-Balle-
// Kasiviswanathan bound (arXiv 1808.00087, Thm 27) under replace-one, where
// the caller passes the noise multiplier relative to the replace-one
// sensitivity (z/2 for a clipped sum with noise z*C). Pure functions and a
// small value type; no I/O. Thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"

namespace shoal::privacy {

// Fractional orders: Opacus sums signed generalized-binomial terms (exact);
// dp_accounting sums their absolute values (a slightly larger upper bound).
enum class Summation { kSigned, kAbs };
// RDP -> (eps, delta): Mironov 2017 Prop. 3, or the tighter Balle et al. 2020
// Thm 21 / Canonne-Kamath-Steinke Prop. 12 used by Opacus and dp_accounting.
enum class Conversion { kClassic, kTight };

// Order lists (§1.4): dp_accounting DEFAULT_RDP_ORDERS (Shoal's default),
// Opacus DEFAULT_ALPHAS and TF-Privacy compute_dp_sgd_privacy's list.
std::vector<double> DefaultOrders();
std::vector<double> OpacusOrders();
std::vector<double> TfPrivacyOrders();

// Checks a mechanism's settings: z >= 0 and finite, q in (0, 1], steps >= 0.
// Messages name the parameter and the expectation.
Status ValidateMechanism(double noise_multiplier, double sample_rate, int64_t steps);
// delta in (0, 1).
Status ValidateDelta(double delta);

// RDP at `alpha` of one Poisson-subsampled Gaussian step (may be +inf).
// REQUIRES: q in [0, 1], z >= 0, alpha > 1.
double RdpPoissonGaussian(double q, double z, double alpha, Summation mode = Summation::kSigned);
// RDP at `alpha` of one fixed-size-without-replacement sampled Gaussian step
// (WBK19 Thm 27 with the second bound at every i >= 3, fractional orders by
// the Corollary 10 interpolation). REQUIRES as above.
double RdpSampleWorGaussian(double q, double z, double alpha);

struct EpsilonAtOrder {
  double epsilon = 0;
  double order = 0;
  bool at_boundary = false;  // optimum at the first or last order: widen the list
};
// min over orders; REQUIRES rdp.size() == orders.size(), delta in (0, 1).
EpsilonAtOrder EpsilonFromRdp(const std::vector<double>& orders, const std::vector<double>& rdp, double delta,
                              Conversion conv = Conversion::kTight);
// dp_accounting compute_delta: the smallest delta certified for `epsilon`.
double DeltaFromRdp(const std::vector<double>& orders, const std::vector<double>& rdp, double epsilon);

// Composes mechanisms order by order.
class RdpAccountant {
 public:
  explicit RdpAccountant(std::vector<double> orders = DefaultOrders(), Summation mode = Summation::kSigned);
  // `count` Poisson-subsampled Gaussian steps. REQUIRES ValidateMechanism ok.
  void AddPoissonGaussian(double q, double z, int64_t count = 1);
  // `count` fixed-size sampled steps (WBK19), z relative to replace-one sensitivity.
  void AddSampleWorGaussian(double q, double z, int64_t count = 1);
  // Adds an already computed per-order RDP vector `count` times.
  void AddRdp(const std::vector<double>& rdp, int64_t count = 1);
  EpsilonAtOrder Epsilon(double delta, Conversion conv = Conversion::kTight) const;
  double Delta(double epsilon) const { return DeltaFromRdp(orders_, rdp_, epsilon); }
  const std::vector<double>& orders() const { return orders_; }
  const std::vector<double>& rdp() const { return rdp_; }

 private:
  std::vector<double> orders_;
  std::vector<double> rdp_;
  Summation mode_;
};

// Epsilon after `steps` Poisson-subsampled Gaussian steps (RDP, tight).
Result<EpsilonAtOrder> EpsilonPoissonGaussian(double q, double z, int64_t steps, double delta,
                                               const std::vector<double>& orders = DefaultOrders());

// Opacus get_noise_multiplier (§1.6): the smallest noise multiplier (on the
// private side, to `tolerance` in epsilon) whose epsilon after `steps`
// steps at rate q is <= target. `epsilon_of(z)` computes epsilon.
Result<double> NoiseForEpsilon(double target_epsilon, double tolerance,
                               const std::function<Result<double>(double)>& epsilon_of);

}  // namespace shoal::privacy
