// Dual numbers for exact forward-mode derivatives: x = v + t*eps, eps^2 = 0.
//
// Model<Dual<double>> runs the forward and backward passes on dual numbers, so
// seeding parameter tangents with v yields, in the tangents of the gradient,
// the exact Hessian-vector product H v (Pearlmutter's R-operator,
// forward-over-reverse); seeding them with r and reading the tangent of the
// input gradient gives d/dx <grad_theta L, r> (the mixed second derivative the
// gradient-inversion attacks need). Comparisons look at the value only.
#pragma once

#include <cmath>

namespace shoal {

template <typename V>
struct Dual {
  V v = 0;  // value
  V t = 0;  // tangent
  constexpr Dual() = default;
  constexpr Dual(V value) : v(value) {}  // NOLINT: implicit, constants are duals with t = 0
  constexpr Dual(V value, V tangent) : v(value), t(tangent) {}
  // Explicit conversion of the value (for casts such as static_cast<double>).
  explicit constexpr operator V() const { return v; }

  Dual& operator+=(const Dual& o) { v += o.v; t += o.t; return *this; }
  Dual& operator-=(const Dual& o) { v -= o.v; t -= o.t; return *this; }
  Dual& operator*=(const Dual& o) { t = t * o.v + v * o.t; v *= o.v; return *this; }
  Dual& operator/=(const Dual& o) { t = (t * o.v - v * o.t) / (o.v * o.v); v /= o.v; return *this; }
};

template <typename V> Dual<V> operator+(Dual<V> a, const Dual<V>& b) { return a += b; }
template <typename V> Dual<V> operator-(Dual<V> a, const Dual<V>& b) { return a -= b; }
template <typename V> Dual<V> operator*(Dual<V> a, const Dual<V>& b) { return a *= b; }
template <typename V> Dual<V> operator/(Dual<V> a, const Dual<V>& b) { return a /= b; }
template <typename V> Dual<V> operator-(const Dual<V>& a) { return {-a.v, -a.t}; }
template <typename V> bool operator==(const Dual<V>& a, const Dual<V>& b) { return a.v == b.v; }
template <typename V> bool operator!=(const Dual<V>& a, const Dual<V>& b) { return a.v != b.v; }
template <typename V> bool operator<(const Dual<V>& a, const Dual<V>& b) { return a.v < b.v; }
template <typename V> bool operator>(const Dual<V>& a, const Dual<V>& b) { return a.v > b.v; }
template <typename V> bool operator<=(const Dual<V>& a, const Dual<V>& b) { return a.v <= b.v; }
template <typename V> bool operator>=(const Dual<V>& a, const Dual<V>& b) { return a.v >= b.v; }

template <typename V> Dual<V> exp(const Dual<V>& a) { V e = std::exp(a.v); return {e, e * a.t}; }
template <typename V> Dual<V> log(const Dual<V>& a) { return {std::log(a.v), a.t / a.v}; }
template <typename V> Dual<V> sqrt(const Dual<V>& a) { V s = std::sqrt(a.v); return {s, a.t / (V(2) * s)}; }

template <typename T> struct IsDual : std::false_type {};
template <typename V> struct IsDual<Dual<V>> : std::true_type {};
// The real type under T (T itself for float/double).
template <typename T> struct RealOf { using type = T; };
template <typename V> struct RealOf<Dual<V>> { using type = V; };
template <typename T> inline double ValueOf(const T& x) { return static_cast<double>(x); }
template <typename V> inline double ValueOf(const Dual<V>& x) { return static_cast<double>(x.v); }

}  // namespace shoal
