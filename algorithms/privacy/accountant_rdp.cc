// RDP of the subsampled Gaussian, composition and conversions; see
// accountant_rdp.h and shared/PRIVACY.md §1.4. Everything is in log space
// (log-sum-exp, lgamma, log1p) so that large orders and tiny rates stay finite.
#include "algorithms/privacy/accountant_rdp.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace shoal::privacy {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double LogAdd(double a, double b) {
  if (a == -kInf) return b;
  if (b == -kInf) return a;
  const double hi = std::max(a, b), lo = std::min(a, b);
  return hi + std::log1p(std::exp(lo - hi));
}
// log(e^a - e^b); REQUIRES a >= b.
double LogSub(double a, double b) {
  if (b == -kInf) return a;
  if (a == b) return -kInf;
  return a + std::log1p(-std::exp(b - a));
}
// log C(n, k) for real n >= k >= 0 and integer k (absolute value when the
// generalized binomial is negative).
double LogAbsBinom(double n, double k) {
  return std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1);
}
// Sign of the generalized binomial C(alpha, i): negative iff an odd number of
// the factors (alpha - j), j < i, are negative.
bool BinomNegative(double alpha, int64_t i) {
  int64_t negatives = 0;
  for (int64_t j = 0; j < i; ++j)
    if (alpha - static_cast<double>(j) < 0) ++negatives;
  return negatives % 2 == 1;
}
// log(erfc(x)), stable for large x (asymptotic series past 25).
double LogErfc(double x) {
  if (x < 25) return std::log(std::erfc(x));
  const double x2 = x * x;
  return -x2 - std::log(x) - 0.5 * std::log(M_PI) +
         std::log1p(-0.5 / x2 + 0.75 / (x2 * x2) - 1.875 / (x2 * x2 * x2) + 6.5625 / (x2 * x2 * x2 * x2));
}

double LogAInt(double q, double sigma, int64_t alpha) {
  double log_a = -kInf;
  const double lq = std::log(q), l1q = std::log1p(-q);
  for (int64_t k = 0; k <= alpha; ++k) {
    const double kd = static_cast<double>(k);
    const double term = LogAbsBinom(static_cast<double>(alpha), kd) + kd * lq +
                        static_cast<double>(alpha - k) * l1q + (kd * kd - kd) / (2 * sigma * sigma);
    log_a = LogAdd(log_a, term);
  }
  return log_a;
}

// A_alpha = A0 + A1 for fractional alpha (MTZ19 §3.3, Opacus _compute_log_a_frac).
double LogAFrac(double q, double sigma, double alpha, Summation mode) {
  double log_a0 = -kInf, log_a1 = -kInf;
  const double z0 = sigma * sigma * std::log(1 / q - 1) + 0.5;
  const double lq = std::log(q), l1q = std::log1p(-q), s2 = std::sqrt(2.0) * sigma;
  for (int64_t i = 0;; ++i) {
    const double id = static_cast<double>(i), j = alpha - id;
    const double log_coef = LogAbsBinom(alpha, id);
    const double log_t0 = log_coef + id * lq + j * l1q;
    const double log_t1 = log_coef + j * lq + id * l1q;
    const double log_e0 = std::log(0.5) + LogErfc((id - z0) / s2);
    const double log_e1 = std::log(0.5) + LogErfc((z0 - j) / s2);
    const double log_s0 = log_t0 + (id * id - id) / (2 * sigma * sigma) + log_e0;
    const double log_s1 = log_t1 + (j * j - j) / (2 * sigma * sigma) + log_e1;
    if (mode == Summation::kSigned && BinomNegative(alpha, i)) {
      log_a0 = LogSub(log_a0, log_s0);
      log_a1 = LogSub(log_a1, log_s1);
    } else {
      log_a0 = LogAdd(log_a0, log_s0);
      log_a1 = LogAdd(log_a1, log_s1);
    }
    if (std::max(log_s0, log_s1) < -30) break;
  }
  return LogAdd(log_a0, log_a1);
}

// log A_alpha of WBK19 Thm 27 for integer alpha, taking the bound
// 2*exp(cgf(i-1)) for every i >= 3 (valid, as the minimum of two bounds is
// replaced by one of them; dp_accounting uses it beyond alpha = 256).
double LogAWorInt(double q, double sigma, int64_t alpha) {
  if (alpha == 1) return 0;
  auto cgf = [&](double x) { return x * (x + 1) / (2 * sigma * sigma); };
  auto func = [&](double x) { return x / (2 * sigma * sigma); };
  double log_a = 0;
  const double log_f2m1 = func(2.0) + std::log1p(-std::exp(-func(2.0)));
  const double ad = static_cast<double>(alpha);
  for (int64_t i = 2; i <= alpha; ++i) {
    const double id = static_cast<double>(i);
    double s;
    if (i == 2)
      s = 2 * std::log(q) + LogAbsBinom(ad, 2) + std::min(std::log(4.0) + log_f2m1, func(2.0) + std::log(2.0));
    else
      s = std::log(2.0) + cgf(id - 1) + id * std::log(q) + LogAbsBinom(ad, id);
    log_a = LogAdd(log_a, s);
  }
  return log_a;
}

std::vector<double> FractionalOrders() {
  std::vector<double> o;
  for (int x = 1; x < 100; ++x) o.push_back(1 + x / 10.0);
  return o;
}

}  // namespace

std::vector<double> DefaultOrders() {
  std::vector<double> o = FractionalOrders();
  for (int a = 11; a < 64; ++a) o.push_back(a);
  for (double a : {128.0, 256.0, 512.0, 1024.0}) o.push_back(a);
  return o;
}
std::vector<double> OpacusOrders() {
  std::vector<double> o = FractionalOrders();
  for (int a = 12; a < 64; ++a) o.push_back(a);
  return o;
}
std::vector<double> TfPrivacyOrders() {
  std::vector<double> o = {1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5};
  for (int a = 5; a < 64; ++a) o.push_back(a);
  for (double a : {128.0, 256.0, 512.0}) o.push_back(a);
  return o;
}

Status ValidateMechanism(double z, double q, int64_t steps) {
  if (!(z >= 0) || !std::isfinite(z))
    return InvalidArgument("noise multiplier must be a finite number >= 0, got " + std::to_string(z));
  if (!(q > 0 && q <= 1))
    return InvalidArgument("sample rate must be in (0, 1], got " + std::to_string(q));
  if (steps < 0) return InvalidArgument("steps must be >= 0, got " + std::to_string(steps));
  return Status::Ok();
}

Status ValidateDelta(double delta) {
  if (!(delta > 0 && delta < 1)) return InvalidArgument("delta must be in (0, 1), got " + std::to_string(delta));
  return Status::Ok();
}

double RdpPoissonGaussian(double q, double z, double alpha, Summation mode) {
  if (q == 0) return 0;
  if (z == 0 || std::isinf(alpha)) return kInf;
  if (q == 1) return alpha / (2 * z * z);
  if (alpha == std::floor(alpha)) return LogAInt(q, z, static_cast<int64_t>(alpha)) / (alpha - 1);
  return LogAFrac(q, z, alpha, mode) / (alpha - 1);
}

double RdpSampleWorGaussian(double q, double z, double alpha) {
  if (q == 0) return 0;
  if (z == 0 || std::isinf(alpha)) return kInf;
  if (q == 1) return alpha / (2 * z * z);
  if (alpha == std::floor(alpha)) return LogAWorInt(q, z, static_cast<int64_t>(alpha)) / (alpha - 1);
  const double lo = std::floor(alpha), hi = std::ceil(alpha), t = alpha - lo;
  const double x = LogAWorInt(q, z, static_cast<int64_t>(lo)), y = LogAWorInt(q, z, static_cast<int64_t>(hi));
  return ((1 - t) * x + t * y) / (alpha - 1);
}

EpsilonAtOrder EpsilonFromRdp(const std::vector<double>& orders, const std::vector<double>& rdp, double delta,
                              Conversion conv) {
  SHOAL_CHECK(orders.size() == rdp.size() && !orders.empty());
  EpsilonAtOrder best{kInf, orders.front(), false};
  size_t best_i = 0;
  for (size_t i = 0; i < orders.size(); ++i) {
    const double a = orders[i], r = rdp[i];
    double eps;
    if (conv == Conversion::kClassic) {
      eps = a > 1 ? r + std::log(1 / delta) / (a - 1) : kInf;
    } else if (delta * delta + std::expm1(-r) > 0) {
      eps = 0;  // the KL bound delta <= sqrt(1 - e^-RDP) already suffices
    } else if (a > 1.01) {
      eps = r + std::log1p(-1 / a) - std::log(delta * a) / (a - 1);
    } else {
      eps = kInf;
    }
    if (eps < best.epsilon) best = {eps, a, false}, best_i = i;
  }
  best.epsilon = std::max(0.0, best.epsilon);
  best.at_boundary = std::isfinite(best.epsilon) && best.epsilon > 0 && (best_i == 0 || best_i + 1 == orders.size());
  return best;
}

double DeltaFromRdp(const std::vector<double>& orders, const std::vector<double>& rdp, double epsilon) {
  SHOAL_CHECK(orders.size() == rdp.size() && !orders.empty());
  double best = kInf;
  for (size_t i = 0; i < orders.size(); ++i) {
    const double a = orders[i], r = rdp[i];
    double log_delta = 0.5 * std::log1p(-std::exp(-r));
    if (a > 1.01) log_delta = std::min(log_delta, (a - 1) * (r - epsilon + std::log1p(-1 / a)) - std::log(a));
    best = std::min(best, log_delta);
  }
  return std::min(std::exp(best), 1.0);
}

RdpAccountant::RdpAccountant(std::vector<double> orders, Summation mode)
    : orders_(std::move(orders)), rdp_(orders_.size(), 0.0), mode_(mode) {}

void RdpAccountant::AddPoissonGaussian(double q, double z, int64_t count) {
  for (size_t i = 0; i < orders_.size(); ++i)
    rdp_[i] += static_cast<double>(count) * RdpPoissonGaussian(q, z, orders_[i], mode_);
}

void RdpAccountant::AddSampleWorGaussian(double q, double z, int64_t count) {
  for (size_t i = 0; i < orders_.size(); ++i)
    rdp_[i] += static_cast<double>(count) * RdpSampleWorGaussian(q, z, orders_[i]);
}

void RdpAccountant::AddRdp(const std::vector<double>& rdp, int64_t count) {
  SHOAL_CHECK(rdp.size() == rdp_.size());
  for (size_t i = 0; i < rdp_.size(); ++i) rdp_[i] += static_cast<double>(count) * rdp[i];
}

EpsilonAtOrder RdpAccountant::Epsilon(double delta, Conversion conv) const {
  return EpsilonFromRdp(orders_, rdp_, delta, conv);
}

Result<EpsilonAtOrder> EpsilonPoissonGaussian(double q, double z, int64_t steps, double delta,
                                               const std::vector<double>& orders) {
  RETURN_IF_ERROR(ValidateMechanism(z, q, steps));
  RETURN_IF_ERROR(ValidateDelta(delta));
  RdpAccountant acc(orders);
  acc.AddPoissonGaussian(q, z, steps);
  return acc.Epsilon(delta);
}

Result<double> NoiseForEpsilon(double target, double tolerance,
                               const std::function<Result<double>(double)>& epsilon_of) {
  if (!(target > 0)) return InvalidArgument("target epsilon must be > 0, got " + std::to_string(target));
  if (!(tolerance > 0)) return InvalidArgument("epsilon tolerance must be > 0, got " + std::to_string(tolerance));
  constexpr double kMaxSigma = 1e6;
  double lo = 0, hi = 10, eps_hi = kInf;
  // As Opacus: the bracket doubles before its first evaluation (first try 20).
  while (eps_hi > target) {
    hi *= 2;
    if (hi > kMaxSigma)
      return OutOfRange("target epsilon " + std::to_string(target) + " needs a noise multiplier above 1e6");
    ASSIGN_OR_RETURN(eps_hi, epsilon_of(hi));
  }
  while (target - eps_hi > tolerance) {
    const double mid = (lo + hi) / 2;
    ASSIGN_OR_RETURN(double eps, epsilon_of(mid));
    if (eps < target) {
      hi = mid;
      eps_hi = eps;
    } else {
      lo = mid;
    }
  }
  return hi;
}

}  // namespace shoal::privacy
