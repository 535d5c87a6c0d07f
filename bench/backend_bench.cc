// backend_bench: per-op throughput of every available backend side by side,
// with this machine's memory-copy bandwidth measured in the same run.
//
//   backend_bench [MiB per array, default 64] [repetitions, default 5]
//
// Memory-bound ops report GB/s counting the bytes the op must read and write
// once (e.g. axpy: read x and y, write y = 12 bytes per element); compute-bound
// ops also report Melem/s; GEMM reports GFLOP/s. Copy bandwidth counts read +
// write (2 x bytes copied). Each figure is the best of the repetitions (the
// machine may be shared), single-threaded, as Shoal runs one client per
// thread. The cuda column (when a GPU is present) includes the host<->device
// copies of the host-pointer API.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <ctime>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/backend_cpu_simd.h"
#include "core/rng.h"

namespace {

using shoal::Backend;
using Clock = std::chrono::steady_clock;

// SHOAL_BENCH_CPU_TIME=1 times with this thread's CPU clock instead of the
// wall clock: steadier on a machine shared with other jobs (but blind to time
// spent waiting, e.g. for a GPU).
bool UseCpuTime() {
  static const bool cpu = std::getenv("SHOAL_BENCH_CPU_TIME") != nullptr;
  return cpu;
}
double Now() {
  if (UseCpuTime()) {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
  }
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

double BestSeconds(int reps, const std::function<void()>& fn) {
  fn();  // warm-up: page faults, caches, dispatch tables
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    double t0 = Now();
    fn();
    best = std::min(best, Now() - t0);
  }
  return best;
}

std::vector<float> Random(size_t n, uint64_t seed) {
  shoal::RngStream rng(seed, -1, -1, shoal::RngPurpose::kInit);
  std::vector<float> v(n);
  for (auto& x : v) x = 2.0f * rng.NextFloat() - 1.0f;
  return v;
}

struct Row {
  std::string op;
  double bytes_per_elem;  // 0: report Melem/s only
  size_t n;
  double flops = 0;       // GEMM: report GFLOP/s
  std::function<void(const Backend&)> run;
};

}  // namespace

int main(int argc, char** argv) {
  const size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 64;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  const size_t n = mib * 1024 * 1024 / sizeof(float);
  const size_t n_sketch = std::min<size_t>(n, 1 << 20);

  std::vector<const Backend*> backends = {shoal::GetBackend("cpu_ref").value(), shoal::GetBackend("cpu_simd").value()};
  if (auto cuda = shoal::GetBackend("cuda"); cuda.ok()) backends.push_back(*cuda);

  auto x = Random(n, 1), y = Random(n, 2), g = Random(n, 3), m = Random(n, 4), v = Random(n, 5);
  for (auto& e : v) e = e * e;
  std::vector<int8_t> q(n);
  std::vector<float> scales(n / 256 + 1);
  std::vector<float> table(5 * 65536), sketch(8), dst(n);

  // Copy bandwidth: the yardstick for the memory-bound ops.
  double copy_s = BestSeconds(reps, [&] { std::memcpy(dst.data(), x.data(), n * sizeof(float)); });
  const double copy_gbs = 2.0 * n * sizeof(float) / copy_s / 1e9;
  // The ceiling of a read-heavy op on this core: memcpy moves as many bytes
  // in as out, while quantize reads 4 B and writes 1 B per element. A plain
  // u32 -> u8 narrowing stream (no arithmetic; vectorizes) measures how fast
  // that access pattern can go at all, so quantize's figure can be read
  // against it as well as against memcpy.
  std::vector<uint8_t> narrow(n);
  std::vector<uint32_t> words(n);
  std::memcpy(words.data(), x.data(), n * sizeof(float));
  double narrow_s = BestSeconds(reps, [&] {
    const uint32_t* __restrict in = words.data();
    uint8_t* __restrict out = narrow.data();
    const size_t len = n;  // a local bound: u8 stores may alias a captured one
    for (size_t i = 0; i < len; ++i) out[i] = static_cast<uint8_t>(in[i] >> 24);
  });
  const double narrow_gbs = 5.0 * n / narrow_s / 1e9;

  // A LeNet-style convolution batch: 32 images, 6 channels of 14x14, 5x5 kernels.
  const shoal::ConvGeom geom{6, 14, 14, 5, 5, 0, 1};
  const int64_t batch = 32, ldc = geom.col_cols() * batch;
  std::vector<float> imgs = Random(batch * 6 * 14 * 14, 6), cols(geom.col_rows() * ldc);
  const int64_t gm = 256, gn = 256, gk = 256;
  std::vector<float> ga = Random(gm * gk, 7), gb = Random(gk * gn, 8), gc(gm * gn);
  std::vector<int32_t> labels(1024);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int32_t>(i % 10);
  std::vector<float> logits = Random(1024 * 10, 9), lgrad(1024 * 10);

  shoal::AdamStepParams adam;
  adam.step = 3;
  std::vector<Row> rows = {
      {"weighted_accumulate", 12, n, 0, [&](const Backend& b) { b.WeightedAccumulate(1e-3f, x, y); }},
      {"axpy", 12, n, 0, [&](const Backend& b) { b.Axpy(-1e-3f, x, y); }},
      {"scale", 8, n, 0, [&](const Backend& b) { b.Scale(1.0f, y); }},
      {"dot", 8, n, 0, [&](const Backend& b) { volatile double d = b.Dot(x, y); (void)d; }},
      {"squared_norm", 4, n, 0, [&](const Backend& b) { volatile double d = b.SquaredNorm(x); (void)d; }},
      {"clip_by_norm", 12, n, 0, [&](const Backend& b) { (void)b.ClipByNorm(y, 1.0); }},
      {"sgd_step", 12, n, 0, [&](const Backend& b) { b.SgdStep(1e-6f, g, y); }},
      {"momentum_step", 20, n, 0, [&](const Backend& b) { b.MomentumStep(1e-6f, 0.9f, 0, false, false, g, m, y); }},
      {"adam_step", 28, n, 0, [&](const Backend& b) { b.AdamStep(adam, g, m, v, y); }},
      {"quantize_int8", 5, n, 0,
       [&](const Backend& b) { (void)b.QuantizeInt8(x, 256, {1, 2}, 0, q, std::span(scales).first((n + 255) / 256)); }},
      {"dequantize_int8", 5, n, 0,
       [&](const Backend& b) { (void)b.DequantizeInt8(q, std::span(scales).first((n + 255) / 256), 256, dst); }},
      {"gaussian_fill", 4, n, 0, [&](const Backend& b) { b.GaussianFill({3, 4}, 0, 0.0f, 1.0f, dst); }},
      {"count_sketch_apply 5x65536", 4, n_sketch, 0,
       [&](const Backend& b) {
         (void)b.CountSketchApply({5, 65536, {5, 6}}, std::span(x).first(n_sketch), table);
       }},
      {"count_sketch_unapply 5x65536", 4, n_sketch, 0,
       [&](const Backend& b) {
         (void)b.CountSketchUnapply({5, 65536, {5, 6}}, table, std::span(dst).first(n_sketch));
       }},
      {"random_sketch_apply 8 rows", 4, n_sketch, 0,
       [&](const Backend& b) { (void)b.RandomSketchApply({8, shoal::SketchDist::kRademacher, {7, 8}},
                                                         std::span(x).first(n_sketch), sketch); }},
      {"random_sketch_unapply 8 rows", 4, n_sketch, 0,
       [&](const Backend& b) { (void)b.RandomSketchUnapply({8, shoal::SketchDist::kRademacher, {7, 8}}, sketch,
                                                           std::span(dst).first(n_sketch)); }},
      {"im2col lenet2 b32", 4, size_t(geom.col_rows() * ldc), 0,
       [&](const Backend& b) {
         for (int64_t i = 0; i < batch; ++i)
           b.Im2Col(geom, imgs.data() + i * 6 * 14 * 14, cols.data() + i * geom.col_cols(), ldc);
       }},
      {"col2im lenet2 b32", 4, size_t(geom.col_rows() * ldc), 0,
       [&](const Backend& b) {
         for (int64_t i = 0; i < batch; ++i)
           b.Col2Im(geom, cols.data() + i * geom.col_cols(), ldc, imgs.data() + i * 6 * 14 * 14);
       }},
      {"softmax_xent 1024x10", 4, 1024 * 10, 0,
       [&](const Backend& b) { (void)b.SoftmaxXent(logits.data(), labels.data(), 1024, 10, lgrad.data(), nullptr); }},
      {"gemm 256^3", 0, 0, 2.0 * gm * gn * gk,
       [&](const Backend& b) {
         b.Gemm(false, false, gm, gn, gk, 1.0f, ga.data(), gk, gb.data(), gn, 0.0f, gc.data(), gn);
       }},
  };

  std::printf("backend_bench: %zu MiB per array (%zu floats), best of %d, single thread, %s time\n", mib, n, reps,
              UseCpuTime() ? "thread CPU" : "wall");
  std::printf("cpu_simd target: %s\n", shoal::CpuSimdBackend::CpuTarget().c_str());
  std::printf("memcpy bandwidth (read+write): %.2f GB/s\n", copy_gbs);
  std::printf("read 4 B + write 1 B stream (u32->u8, no arithmetic): %.2f GB/s = %.0f%% of memcpy: "
              "the ceiling of quantize_int8's access pattern\n\n",
              narrow_gbs, 100.0 * narrow_gbs / copy_gbs);
  std::printf("%-30s %10s", "op", "elements");
  for (const Backend* b : backends) std::printf(" %16s", std::string(b->name()).c_str());
  std::printf(" %12s %12s\n", "simd/ref", "simd/copy");
  for (const Row& r : rows) {
    std::printf("%-30s %10zu", r.op.c_str(), r.n);
    std::vector<double> rate;
    for (const Backend* b : backends) {
      // cpu_ref GEMM is a triple loop: fewer repetitions.
      double s = BestSeconds(b->name() == "cpu_ref" ? 1 : reps, [&] { r.run(*b); });
      double val = r.flops > 0 ? r.flops / s / 1e9 : r.bytes_per_elem * r.n / s / 1e9;
      rate.push_back(val);
      std::printf(" %9.2f %s", val, r.flops > 0 ? "GFLOP/s" : "GB/s   ");
    }
    std::printf(" %11.1fx", rate[1] / rate[0]);
    if (r.flops > 0) std::printf(" %12s\n", "-");
    else if (r.op == "quantize_int8")
      std::printf(" %11.0f%%  (%.0f%% of the 4+1 B stream)\n", 100.0 * rate[1] / copy_gbs, 100.0 * rate[1] / narrow_gbs);
    else std::printf(" %11.0f%%\n", 100.0 * rate[1] / copy_gbs);
  }
  return 0;
}
