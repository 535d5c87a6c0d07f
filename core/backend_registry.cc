// The one list of backends. "auto" picks the first available in this order
// (accelerators first, CPU last).
#include <string>

#include "core/backend.h"
#include "core/backend_cpu_ref.h"
#include "core/backend_cpu_simd.h"

namespace shoal {

std::vector<std::string> BackendNames() { return {"cpu_simd", "cpu_ref"}; }

Result<const Backend*> GetBackend(std::string_view name) {
  static const CpuRefBackend kRef;
  static const CpuSimdBackend kSimd;
  if (name == "auto" || name == "cpu" || name == "cpu_simd") return static_cast<const Backend*>(&kSimd);
  if (name == "cpu_ref") return static_cast<const Backend*>(&kRef);
  return InvalidArgument("unknown backend '" + std::string(name) +
                         "': expected one of auto, cpu, cpu_simd, cpu_ref");
}

std::string DescribeBackends() {
  std::string s;
  s += "cpu_simd: compiled in, CPU target " + std::string(CpuSimdBackend::CpuTarget()) +
       " (GEMM: Eigen)\n";
  s += "cpu_ref: compiled in (reference loops)\n";
  s += "cuda: not compiled in\n";
  return s;
}

}  // namespace shoal
