// The one list of backends. "auto" is cpu_simd; cuda is used only when asked
// for by name. The CUDA backend's ops take host memory and copy in and out
// on every call, so on today's models it is slower than the CPU: on an H100
// machine (16 cores) the default scenario ran 10 rounds in 1.74 s on cuda
// against 0.22 s on cpu_simd, and the cnn 4 rounds in 30.5 s against 6.6 s
// (device check, 2026-11-26). When device-resident tensors make it faster,
// "auto" should prefer it again.
#include <cstdlib>
#include <string>

#include "core/backend.h"
#include "core/backend_cpu_ref.h"
#include "core/backend_cpu_simd.h"
#include "core/backend_cpu_simd_kernels.h"
#if SHOAL_HAVE_CUDA
#include "core/cuda/backend_cuda.h"
#endif

namespace shoal {
namespace {

const CpuRefBackend& Ref() {
  static const CpuRefBackend kRef;
  return kRef;
}

// SHOAL_CPU_TARGET (e.g. "AVX2") restricts cpu_simd's dispatch; read once.
const Status& CpuTargetOverride() {
  static const Status st = [] {
    const char* env = std::getenv("SHOAL_CPU_TARGET");
    return env ? simd::SelectTarget(env).WithContext("environment variable SHOAL_CPU_TARGET") : Status::Ok();
  }();
  return st;
}

Result<const Backend*> Simd() {
  static const CpuSimdBackend kSimd;
  RETURN_IF_ERROR(CpuTargetOverride());
  return static_cast<const Backend*>(&kSimd);
}

// The CUDA backend, or why there is none.
Result<const Backend*> Cuda() {
#if SHOAL_HAVE_CUDA
  static const Result<std::string> device = cuda::DescribeDevice();
  if (!device.ok()) return Unavailable("backend 'cuda': " + device.status().message());
  ASSIGN_OR_RETURN(const Backend* host, Simd());
  static const std::unique_ptr<Backend> kCuda = cuda::MakeCudaBackend(*host);
  return static_cast<const Backend*>(kCuda.get());
#else
  return Unavailable("backend 'cuda': not compiled in (configure with -DSHOAL_CUDA=ON where nvcc is installed)");
#endif
}

}  // namespace

std::vector<std::string> BackendNames() {
#if SHOAL_HAVE_CUDA
  return {"cuda", "cpu_simd", "cpu_ref"};
#else
  return {"cpu_simd", "cpu_ref"};
#endif
}

Result<const Backend*> GetBackend(std::string_view name) {
  if (name == "auto") return Simd();
  if (name == "cpu" || name == "cpu_simd") return Simd();
  if (name == "cpu_ref") return static_cast<const Backend*>(&Ref());
  if (name == "cuda") return Cuda();
  return InvalidArgument("unknown backend '" + std::string(name) +
                         "': expected one of auto, cpu, cpu_simd, cpu_ref, cuda");
}

std::string DescribeBackends() {
  std::string s;
  std::string targets;
  for (const auto& t : simd::AvailableTargets()) targets += (targets.empty() ? "" : ", ") + t;
  Status over = CpuTargetOverride();
  s += "cpu_simd: compiled in; CPU target " + CpuSimdBackend::CpuTarget() + " (Highway run-time dispatch among " +
       targets + "; override with SHOAL_CPU_TARGET" + (over.ok() ? "" : "; " + over.message()) +
       "); GEMM: Eigen\n";
  s += "cpu_ref: compiled in (reference loops)\n";
#if SHOAL_HAVE_CUDA
  auto device = cuda::DescribeDevice();
  s += "cuda: compiled in (" + cuda::BuildInfo() + "); " +
       (device.ok() ? *device : "unavailable: " + device.status().message()) + "\n";
#else
  s += "cuda: not compiled in (configure with -DSHOAL_CUDA=ON where nvcc is installed)\n";
#endif
  auto chosen = GetBackend("auto");
  s += "auto -> " + (chosen.ok() ? std::string((*chosen)->name()) : chosen.status().message()) + "\n";
  return s;
}

}  // namespace shoal
