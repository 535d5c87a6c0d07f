// cuBLAS, loaded at run time. The cuda backend's GEMM reaches cuBLAS only
// through these function pointers, resolved with dlopen/dlsym the first time
// a GEMM runs on a device, so no binary links libcublas + libcublasLt
// (~570 MB of shared objects, ~150 MB resident once mapped and relocated) at
// load time: processes on machines without a GPU, or that never run a GEMM on
// one, never map it, and binaries start where cuBLAS is not installed.
// cublas_v2.h is included for the types only; nothing here links against it.
//
// Thread safety: every function may be called from any thread. The process
// loads cuBLAS at most once (the first Cublas() call) and never unloads it, so
// the pointers stay valid until exit.
#pragma once

#include <cublas_v2.h>

#include <span>
#include <string>

#include "core/status.h"

namespace shoal::cuda {

// The four cuBLAS entry points the backend uses (the *_v2 symbols that
// cublas_v2.h maps cublasCreate & co. to); all non-null in a loaded library.
struct CublasLibrary {
  decltype(&cublasCreate_v2) create = nullptr;
  decltype(&cublasSetStream_v2) set_stream = nullptr;
  decltype(&cublasSgemm_v2) sgemm = nullptr;
  decltype(&cublasDestroy_v2) destroy = nullptr;
  std::string path;  // the candidate dlopen accepted
};

// The library names Cublas() tries, in order: the soname of the toolkit the
// build used (libcublas.so.<major>), the same file in that toolkit's library
// directory (for installs the loader's cache does not list), libcublas.so.
std::span<const char* const> CublasCandidates();

// dlopens the first of `candidates` that loads (RTLD_NOW | RTLD_LOCAL) and
// resolves the four symbols. A library that loads but lacks a symbol is closed
// and the next candidate tried. On failure: Unavailable naming every
// candidate with its dlerror() text. A successful load is never closed. For
// tests; the backend uses Cublas().
Result<CublasLibrary> LoadCublas(std::span<const char* const> candidates);

// The process-wide cuBLAS: LoadCublas(CublasCandidates()) on the first call,
// the same result on every later call. The environment variable SHOAL_CUBLAS
// overrides the candidates: a path or soname is the only library tried, and
// "none" disables cuBLAS (the backend then uses its tiled GEMM kernel; for
// testing that path and for bisecting).
const Result<CublasLibrary>& Cublas();

// The calling thread's cuBLAS handle, bound to the thread's per-thread default
// stream, created on the thread's first call and destroyed at thread exit.
// nullptr when cuBLAS cannot be used (library missing, cublasCreate failed);
// the first such failure in the process logs one warning with the reason, and
// the caller falls back to its own kernel. When non-null, Cublas().ok().
// REQUIRES: a CUDA device is present (called from device code paths only).
cublasHandle_t ThreadCublasHandle();

}  // namespace shoal::cuda
