// Shared harness of the backend conformance programs: the backends under test,
// guarded buffers and error measures (see backend_conformance_test.cc).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <iomanip>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/backend_cpu_simd_kernels.h"
#include "core/rng.h"

// ctest names: backend_conformance.<Test> (label unit, CPU backends) and
// backend_conformance_cuda.<Test> (label cuda), so `ctest -R backend_conformance`
// selects both programs and `ctest -L cuda` the GPU part.
#ifdef SHOAL_CONFORMANCE_CUDA
#define SHOAL_CONFORMANCE_SUITE backend_conformance_cuda
#else
#define SHOAL_CONFORMANCE_SUITE backend_conformance
#endif

namespace shoal::conformance {

constexpr size_t kSizes[] = {0, 1, 7, 1023, size_t{1} << 20};
constexpr size_t kGuard = 16;

inline const Backend& Ref() { return *GetBackend("cpu_ref").value(); }

// A backend under test; `select` restores its state (the CPU target) before use.
struct Candidate {
  std::string label;
  const Backend* be;
  std::function<void()> select;
};

inline std::vector<Candidate> Candidates() {
  std::vector<Candidate> out;
#ifdef SHOAL_CONFORMANCE_CUDA
  auto cuda = GetBackend("cuda");
  if (cuda.ok()) out.push_back({"cuda", *cuda, [] {}});
#else
  const Backend* simd = GetBackend("cpu_simd").value();
  for (const std::string& t : simd::AvailableTargets())
    out.push_back({"cpu_simd/" + t, simd, [t] { ASSERT_TRUE(simd::SelectTarget(t).ok()); }});
#endif
  return out;
}

// Runs fn for every candidate; skips the test when there is none (no GPU).
inline void ForEachBackend(const std::function<void(const Candidate&)>& fn) {
  auto cands = Candidates();
  if (cands.empty()) GTEST_SKIP() << "no backend to test here: " << GetBackend("cuda").status().message();
  for (const auto& c : cands) {
    c.select();
    SCOPED_TRACE(c.label);
    fn(c);
  }
  (void)simd::SelectTarget("best");
}

// A buffer with sentinel bands on both sides.
template <typename T>
class Guarded {
 public:
  explicit Guarded(size_t n, T fill = T(0)) : v_(n + 2 * kGuard, Sentinel()) {
    for (size_t i = 0; i < n; ++i) v_[kGuard + i] = fill;
    n_ = n;
  }
  Guarded(const std::vector<T>& init) : Guarded(init.size()) { std::copy(init.begin(), init.end(), data()); }
  T* data() { return v_.data() + kGuard; }
  const T* data() const { return v_.data() + kGuard; }
  std::span<T> span() { return {data(), n_}; }
  std::span<const T> cspan() const { return {data(), n_}; }
  size_t size() const { return n_; }
  bool GuardsIntact() const {
    T s = Sentinel();
    for (size_t i = 0; i < kGuard; ++i)
      if (std::memcmp(&v_[i], &s, sizeof(T)) != 0 || std::memcmp(&v_[kGuard + n_ + i], &s, sizeof(T)) != 0)
        return false;
    return true;
  }
  static T Sentinel() {
    if constexpr (sizeof(T) == 1) return static_cast<T>(0x5A);
    else return static_cast<T>(-7777.25);
  }

 private:
  std::vector<T> v_;
  size_t n_ = 0;
};

inline std::vector<float> RandomVec(size_t n, uint64_t seed, float scale = 1.0f) {
  RngStream rng(seed, -1, -1, RngPurpose::kInit);
  std::vector<float> v(n);
  for (auto& x : v) x = scale * (2.0f * rng.NextFloat() - 1.0f);
  return v;
}

template <typename T>
double Nmse(const T* a, const T* b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) {
    double d = double(a[i]) - double(b[i]);
    num += d * d;
    den += double(b[i]) * double(b[i]);
  }
  return n == 0 ? 0.0 : num / std::max(den, 1e-300);
}

// Exact match (bitwise) or NMSE within tol, plus intact guards. Call as
// EXPECT_TRUE(Close(got, want, tol, what)) so a failure points at the op under
// test; the message names `what`, the first differing index with both values
// (tol 0) or the NMSE, the tolerance and the worst index (tol > 0), and
// whether the guard bands were overwritten.
template <typename T>
::testing::AssertionResult Close(const Guarded<T>& got, const Guarded<T>& want, double tol, const std::string& what) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << what << ": size " << got.size() << ", want " << want.size();
  std::ostringstream bad;
  bad << std::setprecision(17);
  if (!got.GuardsIntact()) bad << "; wrote outside its output (guard bands changed)";
  if (tol == 0) {
    size_t differ = 0, first = got.size();
    for (size_t i = 0; i < got.size(); ++i)
      if (std::memcmp(&got.data()[i], &want.data()[i], sizeof(T)) != 0 && differ++ == 0) first = i;
    if (differ != 0)
      bad << "; " << differ << " of " << got.size() << " differ (bitwise), first at index " << first << ": got "
          << double(got.data()[first]) << ", want " << double(want.data()[first]);
  } else {
    const double nmse = Nmse(got.data(), want.data(), got.size());
    if (!(nmse <= tol)) {
      size_t worst = 0;
      double worst_d = -1;
      for (size_t i = 0; i < got.size(); ++i) {
        const double d = std::abs(double(got.data()[i]) - double(want.data()[i]));
        if (!(d <= worst_d)) worst = i, worst_d = d;  // NaN counts as worst
      }
      bad << "; NMSE " << nmse << " > tolerance " << tol;
      if (got.size() != 0)
        bad << ", largest difference at index " << worst << ": got " << double(got.data()[worst]) << ", want "
            << double(want.data()[worst]);
    }
  }
  if (bad.str().empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << bad.str();
}

inline std::string At(size_t n) { return "n=" + std::to_string(n); }

}  // namespace shoal::conformance
