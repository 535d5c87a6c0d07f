// Per-optimizer update cost: time of one Step() per million parameters and
// state bytes per parameter, next to a plain memcpy of the optimizer's state
// measured in the same run (the memory-traffic floor an element-wise update
// is compared with). Layout: one 1000 x 1000 weight and a 1000 bias
// (1,001,000 parameters). Second-order methods get Hessian information from a
// stub (diagonal curvature), so their rows time the update only, not the
// Hessian-vector product. Minimum over repetitions (the machine is shared).
//
//   bench_optimizers [--backend cpu_simd] [--only adam,adamw]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "algorithms/optimizers/optimizer.h"

namespace {

using Clock = std::chrono::steady_clock;

class StubContext final : public shoal::StepContext {
 public:
  double loss() const override { return 1.0; }
  void HessianVector(std::span<const float>, std::span<const float> v, std::span<float> hv) override {
    for (size_t i = 0; i < v.size(); ++i) hv[i] = 0.5f * v[i];
  }
  void SampledLabelGrad(std::span<const float>, std::span<float> g) override { std::fill(g.begin(), g.end(), 0.01f); }
  shoal::RngStream& rng() override { return rng_; }

 private:
  shoal::RngStream rng_{1, 0, 0, shoal::RngPurpose::kOptimizer};
};

template <typename F>
double MinSeconds(F&& f, int reps, int inner) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    auto t0 = Clock::now();
    for (int i = 0; i < inner; ++i) f();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count() / inner);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  std::string backend = "cpu_simd", only;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--backend") == 0) backend = argv[i + 1];
    if (std::strcmp(argv[i], "--only") == 0) only = "," + std::string(argv[i + 1]) + ",";
  }
  auto be = shoal::GetBackend(backend);
  if (!be.ok()) {
    std::fprintf(stderr, "%s\n", be.status().ToString().c_str());
    return 1;
  }
  std::printf("backend %s\n", std::string((*be)->name()).c_str());
  shoal::ParamLayout layout;
  layout.Add("w", {1000, 1000});
  layout.Add("b", {1000});
  const size_t n = static_cast<size_t>(layout.total_size());
  std::vector<float> p(n), g(n);
  shoal::RngStream rng(3, 0, 0, shoal::RngPurpose::kSynthetic);
  for (size_t i = 0; i < n; ++i) p[i] = 0.05f * static_cast<float>(rng.NextGaussian());
  for (size_t i = 0; i < n; ++i) g[i] = 0.01f * static_cast<float>(rng.NextGaussian());
  const double mparams = static_cast<double>(n) / 1e6;
  std::printf("%-11s %14s %12s %16s %8s\n", "optimizer", "us/step/Mparam", "state B/param", "memcpy(state) us", "ratio");
  for (const auto& info : shoal::ListOptimizers()) {
    if (!only.empty() && only.find("," + info.name + ",") == std::string::npos) continue;
    auto made = shoal::MakeOptimizer(info.name, {}, layout, **be);
    if (!made.ok()) return 1;
    auto& opt = **made;
    StubContext ctx;
    std::vector<float> params = p;
    const float lr = 1e-6f;  // tiny steps keep the parameters (and the work) stationary
    const bool heavy = info.name == "shampoo" || info.name == "soap";
    auto step = [&] { opt.StepWith(params, g, lr, ctx); };
    for (int i = 0; i < 2; ++i) step();  // warm-up (SOAP's first call only initialises)
    const double t = MinSeconds(step, heavy ? 2 : 5, heavy ? 10 : 10);
    const int64_t bytes = opt.state_bytes();
    double copy = 0;
    if (bytes > 16) {
      std::vector<char> src(static_cast<size_t>(bytes), 1), dst(static_cast<size_t>(bytes));
      copy = MinSeconds([&] { std::memcpy(dst.data(), src.data(), src.size()); }, 5, 10);
      if (dst[0] != 1) return 2;  // keep the copy observable
    }
    std::printf("%-11s %14.1f %12.3f %16.1f %8s\n", info.name.c_str(), t * 1e6 / mparams,
                static_cast<double>(bytes) / static_cast<double>(n), copy * 1e6 / mparams,
                copy > 0 ? std::to_string(t / copy).substr(0, 5).c_str() : "-");
  }
  return 0;
}
