// Per-optimizer update cost: time of one Step() per million parameters and
// state bytes per parameter, next to a plain memcpy of the optimizer's state
// (the issue's baseline: "element-wise optimizers run within 2x of the time
// of a plain memory copy of their state"). The memcpy copies state_bytes()
// from one buffer to another (reads S and writes S bytes per parameter); the
// step itself must at least read p, g and the state and write p and the state
// (12 + 2S bytes per parameter, printed as "traffic"), so a ratio of 1 would
// mean the step is faster than its own memory traffic at memcpy speed. The
// last column, "x memcpy(T)", times the step against a memcpy of (12 + 2S)/2
// B/param, i.e. its own minimal traffic at memcpy speed (the memory-bound
// floor): for S = 4 (momentum, Adagrad, Lion) the baseline moves 8
// B/param against the step's 20, so "x memcpy" cannot drop below ~2.5 for a
// memory-bound step there, while "x memcpy(T)" can reach 1. For SGD (S = 0)
// the literal baseline is a copy of nothing. "<=2x(T)" is therefore the gate
// this project holds element-wise optimizers to: within 2x of a plain memory
// copy of the bytes the step itself must move; "<=2x" keeps the literal one.
// Step and memcpy are timed alternately, R rounds of (step: best of 3,
// memcpy: best of 3); the time columns are the minima over the rounds and
// "x memcpy" is the median over the rounds of step/memcpy in the same round
// (the machine is shared: adjacent timings see the same load). Layout: one 1000 x 1000 weight and a 1000 bias (1,001,000
// parameters). Second-order methods get Hessian information from a stub
// (diagonal curvature), so their rows time the update only, not the
// Hessian-vector product. The 2x gate applies to rows of class "elem"
// (element-wise or block-wise element-wise updates); per-tensor, global and
// HVP rows are listed for reference. Cache caveat: at 1M parameters a 4 MB
// memcpy (S = 4) runs from L3 on this machine while the 8 and 12 MB copies
// of larger states do not, so "x memcpy" favours the larger states; "x
// memcpy(T)" compares like with like. adam8bit (class elem, blocks of 256)
// moves only ~16 B/param, so its "x memcpy" (against 2 x 2.04 B) is large
// by construction; "x memcpy(T)" is its gate. Its quantized tensors run
// through Backend::Adam8bitStep (cpu_simd: core/backend_cpu_simd_adam8bit.cc).
//
//   bench_optimizers [--backend cpu_simd] [--only adam,adamw] [--rounds 15]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
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

// Which rows the 2x gate applies to (see the file comment).
const char* ClassOf(const std::string& name) {
  if (name == "adamp" || name == "adafactor" || name == "shampoo" || name == "soap") return "tensor";
  if (name == "dog" || name == "sps") return "global";
  if (name == "adahessian") return "hvp";
  return "elem";
}

}  // namespace

int main(int argc, char** argv) {
  std::string backend = "cpu_simd", only;
  int rounds = 15;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--backend") == 0) backend = argv[i + 1];
    if (std::strcmp(argv[i], "--only") == 0) only = "," + std::string(argv[i + 1]) + ",";
    if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::max(1, std::atoi(argv[i + 1]));
  }
  auto be = shoal::GetBackend(backend);
  if (!be.ok()) {
    std::fprintf(stderr, "%s\n", be.status().ToString().c_str());
    return 1;
  }
  std::printf("backend %s; baseline = memcpy of state_bytes() (S B/param read + S written);\n",
              std::string((*be)->name()).c_str());
  std::printf("traffic = bytes/param a step must move at least (read p, g, state; write p, state = 12 + 2S);\n");
  std::printf("x memcpy = median over rounds of step / memcpy(state); x memcpy(T) = step / memcpy(traffic / 2)\n");
  shoal::ParamLayout layout;
  layout.Add("w", {1000, 1000});
  layout.Add("b", {1000});
  const size_t n = static_cast<size_t>(layout.total_size());
  std::vector<float> p(n), g(n);
  shoal::RngStream rng(3, 0, 0, shoal::RngPurpose::kSynthetic);
  for (size_t i = 0; i < n; ++i) p[i] = 0.05f * static_cast<float>(rng.NextGaussian());
  for (size_t i = 0; i < n; ++i) g[i] = 0.01f * static_cast<float>(rng.NextGaussian());
  const double mparams = static_cast<double>(n) / 1e6;
  // One pair of copy buffers for every row (allocated and touched once, so
  // that each row's baseline runs on the same pages); 32 B/param covers every state.
  std::vector<char> src(n * 32, 1), dst(n * 32, 0);
  std::printf("%-11s %-6s %14s %13s %16s %8s %5s %8s %11s %7s\n", "optimizer", "class", "us/step/Mparam",
              "state B/param", "memcpy(state) us", "x memcpy", "<=2x", "traffic", "x memcpy(T)", "<=2x(T)");
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
    const int64_t bytes = opt.state_bytes();
    if (static_cast<size_t>(bytes) > src.size()) return 3;
    auto copy = [&] { std::memcpy(dst.data(), src.data(), static_cast<size_t>(bytes)); };
    // The step's own traffic at memcpy speed: a memcpy of (12 + 2S) / 2 B/param.
    const size_t traffic_copy = n * 6 + static_cast<size_t>(bytes);
    if (traffic_copy > src.size()) return 3;
    auto copy_traffic = [&] { std::memcpy(dst.data(), src.data(), traffic_copy); };
    copy();
    double t = 1e300, c = 1e300;
    std::vector<double> ratios, traffic_ratios;
    for (int r = 0; r < (heavy ? 2 : rounds); ++r) {
      const double tr = MinSeconds(step, 3, 1), cr = bytes > 16 ? MinSeconds(copy, 3, 1) : 0.0;
      const double ct = MinSeconds(copy_traffic, 3, 1);
      t = std::min(t, tr), c = std::min(c, cr);
      if (cr > 0) ratios.push_back(tr / cr);
      traffic_ratios.push_back(tr / ct);
    }
    std::sort(ratios.begin(), ratios.end());
    std::sort(traffic_ratios.begin(), traffic_ratios.end());
    if (bytes > 16 && dst[0] != 1) return 2;  // keep the copy observable
    const double s_per_param = static_cast<double>(bytes) / static_cast<double>(n);
    const bool has_copy = bytes > 16;
    const std::string cls = ClassOf(info.name);
    const double median = ratios.empty() ? 0.0 : ratios[ratios.size() / 2];
    std::string ratio = has_copy ? std::to_string(median).substr(0, 6) : "-";
    const char* gate = cls != "elem" || !has_copy ? "" : (median <= 2.0 ? "ok" : "OVER");
    const double median_t = traffic_ratios[traffic_ratios.size() / 2];
    const char* gate_t = cls != "elem" ? "" : (median_t <= 2.0 ? "ok" : "OVER");
    std::printf("%-11s %-6s %14.1f %13.3f %16.1f %8s %5s %8.1f %11.3f %7s\n", info.name.c_str(), cls.c_str(),
                t * 1e6 / mparams, s_per_param, has_copy ? c * 1e6 / mparams : 0.0, ratio.c_str(), gate,
                12.0 + 2.0 * s_per_param, median_t, gate_t);
  }
  return 0;
}
