// Run-time loading of cuBLAS (contract in cublas_library.h).
#include "core/cuda/cublas_library.h"

#include <dlfcn.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <mutex>
#include <string_view>

// Set by core/cuda/CMakeLists.txt from the toolkit the build found.
#ifndef SHOAL_CUBLAS_SONAME
#error "SHOAL_CUBLAS_SONAME (e.g. \"libcublas.so.13\") must be defined"
#endif
#ifndef SHOAL_CUBLAS_TOOLKIT_PATH
#error "SHOAL_CUBLAS_TOOLKIT_PATH (e.g. \"/usr/local/cuda/lib/libcublas.so.13\") must be defined"
#endif

namespace shoal::cuda {
namespace {

constexpr const char* kCandidates[] = {SHOAL_CUBLAS_SONAME, SHOAL_CUBLAS_TOOLKIT_PATH, "libcublas.so"};

// dlerror() of the last failed dl* call on this thread (never null).
std::string DlError() {
  const char* e = dlerror();
  return e ? e : "unknown dlerror";
}

// Resolves `name` in `handle` into `fn`; false (with the reason in `why`) if absent.
template <typename Fn>
bool Resolve(void* handle, const char* name, Fn& fn, std::string& why) {
  dlerror();  // clear a stale error so the one read below belongs to this dlsym
  fn = reinterpret_cast<Fn>(dlsym(handle, name));
  if (fn) return true;
  why = std::string("dlsym(\"") + name + "\"): " + DlError();
  return false;
}

// One-time warning for the first reason cuBLAS cannot be used in this process.
void WarnFallbackOnce(const std::string& reason) {
  static std::once_flag once;
  std::call_once(once, [&] { spdlog::warn("cuda backend: {}; GEMM falls back to the tiled kernel", reason); });
}

// The calling thread's handle; owns it and destroys it at thread exit. The
// library is never unloaded, so `destroy` is still valid then.
class ThreadHandle {
 public:
  ThreadHandle() {
    const Result<CublasLibrary>& lib = Cublas();
    if (!lib.ok()) {
      WarnFallbackOnce(lib.status().message());
      return;
    }
    cublasHandle_t h = nullptr;
    cublasStatus_t st = lib->create(&h);
    if (st == CUBLAS_STATUS_SUCCESS) st = lib->set_stream(h, cudaStreamPerThread);
    if (st != CUBLAS_STATUS_SUCCESS) {
      if (h) lib->destroy(h);
      WarnFallbackOnce("cuBLAS (" + lib->path + ") handle setup failed with status " + std::to_string(st));
      return;
    }
    destroy_ = lib->destroy;
    handle_ = h;
  }
  ~ThreadHandle() {
    if (handle_) destroy_(handle_);
  }
  ThreadHandle(const ThreadHandle&) = delete;
  ThreadHandle& operator=(const ThreadHandle&) = delete;
  cublasHandle_t get() const { return handle_; }

 private:
  cublasHandle_t handle_ = nullptr;
  decltype(&cublasDestroy_v2) destroy_ = nullptr;
};

}  // namespace

std::span<const char* const> CublasCandidates() { return kCandidates; }

Result<CublasLibrary> LoadCublas(std::span<const char* const> candidates) {
  std::string tried;
  for (const char* name : candidates) {
    if (!tried.empty()) tried += "; ";
    void* handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      tried += std::string("dlopen(\"") + name + "\"): " + DlError();
      continue;
    }
    CublasLibrary lib;
    std::string why;
    if (Resolve(handle, "cublasCreate_v2", lib.create, why) &&
        Resolve(handle, "cublasSetStream_v2", lib.set_stream, why) &&
        Resolve(handle, "cublasSgemm_v2", lib.sgemm, why) && Resolve(handle, "cublasDestroy_v2", lib.destroy, why)) {
      lib.path = name;
      return lib;  // the handle stays open for the life of the process
    }
    dlclose(handle);  // nothing resolved from it escapes
    tried += std::string(name) + ": " + why;
  }
  if (tried.empty()) tried = "no library names to try";
  return Unavailable("cannot load cuBLAS: " + tried);
}

const Result<CublasLibrary>& Cublas() {
  // A function-local static is initialised exactly once even under concurrent
  // first calls (the same guarantee as std::call_once).
  static const Result<CublasLibrary> kLibrary = []() -> Result<CublasLibrary> {
    const char* env = std::getenv("SHOAL_CUBLAS");
    if (!env || !*env) return LoadCublas(CublasCandidates());
    if (std::string_view(env) == "none") return Unavailable("cuBLAS disabled (environment variable SHOAL_CUBLAS=none)");
    const char* const only[] = {env};
    Result<CublasLibrary> lib = LoadCublas(only);
    if (!lib.ok()) return lib.status().WithContext("environment variable SHOAL_CUBLAS");
    return lib;
  }();
  return kLibrary;
}

cublasHandle_t ThreadCublasHandle() {
  thread_local ThreadHandle handle;
  return handle.get();
}

}  // namespace shoal::cuda
