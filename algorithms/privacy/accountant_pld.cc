// PLD accountant: pessimistic connect-the-dots discretisation of the
// subsampled Gaussian and FFT composition; see accountant_pld.h.
#include "algorithms/privacy/accountant_pld.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <functional>
#include <limits>
#include <string>

namespace shoal::privacy {
namespace {

using Complex = std::complex<double>;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kTailSigmas = 9.5;  // grid covers the mechanism's output to ~1e-21 mass

// P(a < X <= b) for a standard normal, accurate in both tails.
double NormalMass(double a, double b) {
  if (!(b > a)) return 0;
  const double r = 1 / std::sqrt(2.0);
  if (a >= 0) return 0.5 * (std::erfc(a * r) - std::erfc(b * r));
  if (b <= 0) return 0.5 * (std::erfc(-b * r) - std::erfc(-a * r));
  return 1 - 0.5 * std::erfc(-a * r) - 0.5 * std::erfc(b * r);
}

// Iterative radix-2 FFT. Products are written out in real arithmetic:
// std::complex's operator* checks for NaN/inf (__muldc3) and is ~5x slower.
void Fft(std::vector<Complex>& a, bool inverse) {
  const size_t n = a.size();
  for (size_t i = 1, j = 0; i < n; ++i) {
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  std::vector<double> wr(n / 2), wi(n / 2);  // twiddles of the full length
  const double sign = inverse ? 1 : -1;
  for (size_t k = 0; k < n / 2; ++k) {
    const double ang = 2 * M_PI * static_cast<double>(k) / static_cast<double>(n);
    wr[k] = std::cos(ang);
    wi[k] = sign * std::sin(ang);
  }
  double* d = reinterpret_cast<double*>(a.data());
  for (size_t len = 2; len <= n; len <<= 1) {
    const size_t half = len / 2, stride = n / len;
    for (size_t i = 0; i < n; i += len)
      for (size_t k = 0; k < half; ++k) {
        double* u = d + 2 * (i + k);
        double* v = d + 2 * (i + k + half);
        const double c = wr[k * stride], s = wi[k * stride];
        const double vr = v[0] * c - v[1] * s, vi = v[0] * s + v[1] * c;
        v[0] = u[0] - vr;
        v[1] = u[1] - vi;
        u[0] += vr;
        u[1] += vi;
      }
  }
  if (inverse)
    for (Complex& x : a) x /= static_cast<double>(n);
}

std::vector<double> Convolve(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = a.size() + b.size() - 1;
  std::vector<double> out(n, 0.0);
  if (std::min(a.size(), b.size()) <= 32) {
    for (size_t i = 0; i < a.size(); ++i)
      for (size_t j = 0; j < b.size(); ++j) out[i + j] += a[i] * b[j];
    return out;
  }
  size_t size = 1;
  while (size < n) size <<= 1;
  std::vector<Complex> c(size);
  const bool square = &a == &b;
  for (size_t i = 0; i < a.size(); ++i) c[i] = Complex(a[i], 0);
  if (!square)
    for (size_t i = 0; i < b.size(); ++i) c[i] += Complex(0, b[i]);
  Fft(c, false);
  std::vector<Complex> prod(size);
  for (size_t k = 0; k < size; ++k) {
    if (square) {
      const double re = c[k].real(), im = c[k].imag();
      prod[k] = Complex(re * re - im * im, 2 * re * im);
      continue;
    }
    // Spectra of the real parts a and b from the packed transform of a + ib.
    const Complex ck = c[k], cn = std::conj(c[(size - k) % size]);
    const Complex fa = (ck + cn) * 0.5, fb = (ck - cn) * 0.5;  // fb = i * spectrum of b
    // fa * (fb / i) = fa * fb * (-i), multiplied out.
    const double pr = fa.real() * fb.real() - fa.imag() * fb.imag(), pi = fa.real() * fb.imag() + fa.imag() * fb.real();
    prod[k] = Complex(pi, -pr);
  }
  Fft(prod, true);
  for (size_t i = 0; i < n; ++i) out[i] = std::max(0.0, prod[i].real());
  return out;
}

// Moves tails of total mass <= tail pessimistically: left up onto the first
// kept point, right to +infinity.
void Trim(PldAccountant::Pmf& pmf, double tail) {
  auto& p = pmf.p;
  size_t lo = 0;
  double left = 0;
  while (lo + 1 < p.size() && left + p[lo] <= tail) left += p[lo++];
  size_t hi = p.size();
  double right = 0;
  while (hi - 1 > lo && right + p[hi - 1] <= tail) right += p[--hi];
  p[lo] += left;
  pmf.inf_mass += right;
  p = std::vector<double>(p.begin() + static_cast<std::ptrdiff_t>(lo), p.begin() + static_cast<std::ptrdiff_t>(hi));
  pmf.offset += static_cast<int64_t>(lo);
}

// (P-mass, Q-mass) of the loss interval (la, lb] (la may be -inf, lb +inf).
using IntervalMass = std::function<std::pair<double, double>(double, double)>;

// Connect-the-dots discretisation on grid points i_lo..i_hi.
PldAccountant::Pmf Discretize(int64_t i_lo, int64_t i_hi, double delta_l, const IntervalMass& mass) {
  PldAccountant::Pmf pmf;
  pmf.offset = i_lo;
  pmf.p.assign(static_cast<size_t>(i_hi - i_lo + 1), 0.0);
  pmf.p[0] = mass(-kInf, static_cast<double>(i_lo) * delta_l).first;
  const double em1 = std::expm1(delta_l), ed = std::exp(delta_l);
  for (int64_t i = i_lo; i < i_hi; ++i) {
    const double la = static_cast<double>(i) * delta_l;
    auto [pm, qm] = mass(la, la + delta_l);
    const double ea = std::exp(la);
    // Keep P-mass and Q-mass (= E_P[e^-L]) of the interval on its two ends.
    const double w_lo = std::max(0.0, (ea * ed * qm - pm) / em1);
    const double w_hi = std::max(0.0, ed * (pm - ea * qm) / em1);
    pmf.p[static_cast<size_t>(i - i_lo)] += w_lo;
    pmf.p[static_cast<size_t>(i - i_lo + 1)] += w_hi;
  }
  pmf.inf_mass = mass(static_cast<double>(i_hi) * delta_l, kInf).first;
  return pmf;
}

}  // namespace

Status PldOptions::Validate() const {
  if (!(interval > 0 && interval <= 1))
    return InvalidArgument("pld interval must be in (0, 1], got " + std::to_string(interval));
  if (!(tail_mass >= 0 && tail_mass <= 1e-6))
    return InvalidArgument("pld tail_mass must be in [0, 1e-6], got " + std::to_string(tail_mass));
  return Status::Ok();
}

PldAccountant::PldAccountant(PldOptions opts) : opts_(opts) {}

Status PldAccountant::AddPoissonGaussian(double q, double z, int64_t count) {
  RETURN_IF_ERROR(opts_.Validate());
  if (!(q > 0 && q <= 1)) return InvalidArgument("sample rate must be in (0, 1], got " + std::to_string(q));
  if (!(z > 0) || !std::isfinite(z))
    return InvalidArgument("PLD needs a finite noise multiplier > 0, got " + std::to_string(z));
  if (count < 0) return InvalidArgument("steps must be >= 0, got " + std::to_string(count));
  if (count == 0) return Status::Ok();
  const double s2 = z * z, d = opts_.interval;
  // Remove: P = (1-q)N(0,s2) + qN(1,s2), Q = N(0,s2), L(x) = log(1-q+q e^{(2x-1)/(2 s2)}).
  auto loss = [&](double x) { return std::log1p(q * std::expm1((2 * x - 1) / (2 * s2))); };
  auto x_of = [&](double l) {  // inverse of loss; -inf below its range
    if (l == kInf) return kInf;
    const double t = std::expm1(l) + q;
    return t > 0 ? s2 * std::log(t / q) + 0.5 : -kInf;
  };
  auto mix = [&](double a, double b) { return (1 - q) * NormalMass(a / z, b / z) + q * NormalMass((a - 1) / z, (b - 1) / z); };
  auto base = [&](double a, double b) { return NormalMass(a / z, b / z); };
  IntervalMass remove = [&](double la, double lb) {
    const double a = x_of(la), b = x_of(lb);
    return std::make_pair(mix(a, b), base(a, b));
  };
  // Add: P and Q swapped; its loss is -L(x), so (la, lb] <=> x in [x(-lb), x(-la)).
  IntervalMass add = [&](double la, double lb) {
    const double a = x_of(-lb), b = x_of(-la);
    return std::make_pair(base(a, b), mix(a, b));
  };
  const double x_lo = -kTailSigmas * z, x_hi = 1 + kTailSigmas * z;
  Pmf rem = Discretize(static_cast<int64_t>(std::floor(loss(x_lo) / d)),
                       static_cast<int64_t>(std::ceil(loss(x_hi) / d)), d, remove);
  Pmf ad = Discretize(static_cast<int64_t>(std::floor(-loss(kTailSigmas * z) / d)),
                      static_cast<int64_t>(std::ceil(-loss(x_lo) / d)), d, add);
  remove_ = Compose(remove_, SelfCompose(std::move(rem), count));
  add_ = Compose(add_, SelfCompose(std::move(ad), count));
  return Status::Ok();
}

PldAccountant::Pmf PldAccountant::Compose(const Pmf& a, const Pmf& b) const {
  Pmf out;
  out.offset = a.offset + b.offset;
  out.p = Convolve(a.p, b.p);
  out.inf_mass = 1 - (1 - a.inf_mass) * (1 - b.inf_mass);
  Trim(out, opts_.tail_mass);
  return out;
}

PldAccountant::Pmf PldAccountant::SelfCompose(Pmf base, int64_t count) const {
  Pmf result;  // identity: all mass at loss 0
  bool first = true;
  while (count > 0) {
    if (count & 1) {
      result = first ? base : Compose(result, base);
      first = false;
    }
    count >>= 1;
    if (count > 0) base = Compose(base, base);
  }
  return result;
}

double PldAccountant::DeltaOf(const Pmf& pmf, double eps) const {
  double delta = 0;
  for (size_t k = pmf.p.size(); k-- > 0;) {
    const double l = static_cast<double>(pmf.offset + static_cast<int64_t>(k)) * opts_.interval;
    if (l <= eps) break;
    delta += pmf.p[k] * -std::expm1(eps - l);
  }
  return pmf.inf_mass + delta;
}

double PldAccountant::Delta(double eps) const { return std::max(DeltaOf(remove_, eps), DeltaOf(add_, eps)); }

Result<double> PldAccountant::Epsilon(double delta) const {
  if (!(delta > 0 && delta < 1)) return InvalidArgument("delta must be in (0, 1), got " + std::to_string(delta));
  if (std::max(remove_.inf_mass, add_.inf_mass) > delta) return kInf;
  if (Delta(0) <= delta) return 0.0;
  auto top = [&](const Pmf& p) { return static_cast<double>(p.offset + static_cast<int64_t>(p.p.size())) * opts_.interval; };
  double lo = 0, hi = std::max({top(remove_), top(add_), 0.0});
  while (hi - lo > 1e-9) {
    const double mid = 0.5 * (lo + hi);
    (Delta(mid) <= delta ? hi : lo) = mid;
  }
  return hi;
}

}  // namespace shoal::privacy
