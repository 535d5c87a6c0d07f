// cuda: the NVIDIA GPU backend (built when SHOAL_CUDA is on).
//
// Memory contract: like every Backend, ops take HOST pointers. Each call
// copies its inputs to device buffers owned by the calling host thread
// (grow-only, reused across calls), runs the op's kernel on that thread's
// default stream, copies the outputs back and waits; nothing stays resident
// between calls. Correctness first: the copies dominate small ops, so the
// GPU pays off for large GEMMs, sketches and fills, not for 100-element
// axpys. The device kernels themselves (core/cuda/<op>.cuh, device pointers,
// one op per file pair: kernel -> launcher -> op entry returning Status) are
// the API a device-resident caller would use.
//
// Numerics: float only (Supports(op, kF64) is false; double calls fall back
// to the host backend). Element-wise ops, optimizer steps, quantisation,
// im2col/col2im and count-sketch queries equal cpu_ref bit for bit (compiled
// with --fmad=false, IEEE division and sqrt); reductions are deterministic
// fixed trees; GaussianFill uses the same Philox stream with CUDA's double
// log/sin/cos (within 2 ulp), so a value may rarely differ by one float ulp;
// count-sketch apply uses atomics (order not fixed, equal up to rounding).
// Errors in void ops (device lost, out of memory) abort with a message;
// Status-returning ops return them.
#pragma once

#include <memory>
#include <string>

#include "core/backend.h"

namespace shoal::cuda {

// "device 0: NAME, X GiB, compute capability M.m (N devices)", or why CUDA
// cannot be used (no driver, no device, ...).
Result<std::string> DescribeDevice();
// Toolkit version and GEMM implementation, e.g. "CUDA runtime 13.0, cuBLAS GEMM".
std::string BuildInfo();
// REQUIRES DescribeDevice().ok(). `host` (must outlive the result) runs the
// double-precision calls.
std::unique_ptr<Backend> MakeCudaBackend(const Backend& host);

}  // namespace shoal::cuda
