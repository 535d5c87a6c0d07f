// Compress + decompress throughput of every update codec on a 1M-parameter
// update (shared/COMPRESSION.md §10), beside a memory copy of the same bytes
// measured on this machine. Prints a markdown table; GB/s counts input f32
// bytes (4 MB per call).
//
//   bench_compression [d=1000000] [min_seconds=0.3]
//
// SHOAL_BENCH_CPU_TIME=1 times with this thread's CPU clock instead of the
// wall clock (steadier on a machine shared with other jobs).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "algorithms/transforms/compressor.h"
#include "core/backend.h"
#include "core/config.h"
#include "core/rng.h"

namespace {

using Clock = std::chrono::steady_clock;

double Now() {
  static const bool cpu = std::getenv("SHOAL_BENCH_CPU_TIME") != nullptr;
  if (cpu) {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
  }
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

template <typename F>
double SecondsPerCall(F&& f, double min_seconds) {
  f();  // warm up
  int64_t calls = 0;
  const double t0 = Now();
  double el = 0;
  do {
    f();
    ++calls;
    el = Now() - t0;
  } while (el < min_seconds);
  return el / static_cast<double>(calls);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace shoal;
  const int64_t d = argc > 1 ? std::atoll(argv[1]) : 1'000'000;
  const double min_s = argc > 2 ? std::atof(argv[2]) : 0.3;
  const int64_t side = static_cast<int64_t>(std::sqrt(static_cast<double>(d)));
  ParamLayout layout;
  layout.Add("w", {side, d / side});
  if (d - side * (d / side) > 0) layout.Add("b", {d - side * (d / side)});
  auto backend = GetBackend("auto").value();
  std::printf("backend: %s, d = %lld\n", std::string(backend->name()).c_str(), static_cast<long long>(d));

  std::vector<float> x(static_cast<size_t>(d));
  RngStream rng(1, 0, 0, RngPurpose::kSynthetic);
  for (float& v : x) v = static_cast<float>(rng.NextGaussian());
  const double gb = static_cast<double>(d) * 4 / 1e9;

  std::vector<float> copy(x.size());
  double copy_s = SecondsPerCall([&] { std::memcpy(copy.data(), x.data(), x.size() * 4); }, min_s);
  std::printf("\n| method | bytes up | ratio | encode GB/s | decode GB/s | encode ms | decode ms |\n|---|---|---|---|---|---|---|\n");
  std::printf("| memcpy (reference) | %lld | 1.0 | %.2f | - | %.3f | - |\n", static_cast<long long>(d * 4), gb / copy_s, copy_s * 1e3);

  const char* specs[] = {
      "{name: topk, density: 0.01, error_feedback: false}", "{name: randk, density: 0.01}", "{name: qsgd}",
      "{name: qsgd, coding: elias}", "{name: qsgd, levels: 1, coding: elias}", "{name: qsgd, levels: 1}",
      "{name: terngrad}", "{name: sign, error_feedback: false}", "{name: int8}", "{name: int8, rounding: nearest}",
      "{name: sketch, family: srht}", "{name: sketch, family: countsketch}", "{name: fetchsgd, rows: 5, cols: 50000}",
      "{name: powersgd, rank: 2, error_feedback: false}"};
  for (const char* spec : specs) {
    auto root = ConfigNode::Parse(std::string("client: {pipeline: [") + spec + "]}", "bench").value();
    auto pipe = ParsePipeline(root.Child("client"));
    if (!pipe.ok()) {
      std::fprintf(stderr, "%s: %s\n", spec, pipe.status().ToString().c_str());
      return 1;
    }
    const UpdateTransform& t = *(*pipe)->transforms().at(0);
    const UpdateCodec& codec = *t.codec();
    TransformContext ctx;
    ctx.backend = backend;
    ctx.layout = &layout;
    ctx.seed = 3;
    ctx.round = 1;
    ctx.client = 4;
    // Compression = the transform (PowerSGD factorizes there) + Encode.
    std::vector<uint8_t> bytes;
    ClientState state;
    double enc = SecondsPerCall([&] {
      ClientUpdate u;
      u.delta = x;
      if (!t.Apply(u, state, ctx).ok()) std::abort();
      bytes = codec.Encode(u, ctx).value();
    }, min_s);
    double dec = SecondsPerCall([&] {
      if (!codec.Decode(bytes, d, ctx).ok()) std::abort();
    }, min_s);
    std::string name = spec;
    name = name.substr(1, name.size() - 2);
    std::printf("| %s | %zu | %.1f | %.3f | %.3f | %.2f | %.2f |\n", name.c_str(), bytes.size(),
                static_cast<double>(d * 4) / static_cast<double>(bytes.size()), gb / enc, gb / dec, enc * 1e3, dec * 1e3);
  }
  return 0;
}
