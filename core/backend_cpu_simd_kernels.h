// Element-wise, RNG, quantisation and softmax kernels of the cpu_simd
// backend, written once with Google Highway and compiled for every x86/Arm
// instruction set Highway can target (SSSE3, SSE4, AVX2, AVX-512, NEON, ...).
// Each call dispatches at run time to the best target the CPU supports, or to
// the one named by the environment variable SHOAL_CPU_TARGET (e.g. "AVX2",
// "SSE4", "EMU128").
//
// The kernels live in three translation units by op family:
// backend_cpu_simd_kernels.cc (element-wise, optimizer steps, reductions,
// target selection), backend_cpu_simd_random.cc (Philox-driven: Gaussian
// fill, count sketch, random projections) and backend_cpu_simd_quantize.cc
// (int8 quantisation, softmax cross-entropy). They are compiled WITHOUT
// -march=native so that lower targets really run lower instruction sets.
//
// Every kernel computes exactly what the cpu_ref loop computes (no fused
// multiply-add, same operation order), except reductions, which use 16
// interleaved double accumulators combined in a fixed tree: the result is the
// same on every target and thread count, and differs from cpu_ref's sequential
// sum only by rounding. GaussianFill uses Highway's vector log/sin/cos (within
// 4 ulp in double), so a value can differ from GaussianAt by one float ulp in
// rare cases; SoftmaxXent likewise differs from cpu_ref by rounding (vector
// exp, another summation order).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/backend.h"
#include "core/status.h"

namespace shoal::simd {

// Name of the target calls dispatch to now (e.g. "AVX3", "AVX2", "SSE4").
std::string ChosenTarget();
// Targets compiled in and supported by this CPU, best first.
std::vector<std::string> AvailableTargets();
// Restricts dispatch to the named target (case-insensitive) or, for "" /
// "best", restores the default. Not thread-safe: call at startup or from a
// single-threaded test, never while other threads run kernels.
Status SelectTarget(std::string_view name);

void Axpy(float a, const float* x, float* y, size_t n);
void Scale(float a, float* x, size_t n);
double Dot(const float* x, const float* y, size_t n);
double SquaredNorm(const float* x, size_t n);
void GaussianFill(std::array<uint32_t, 2> key, uint64_t offset, float mean, float stddev, float* x, size_t n);
void SgdStep(float lr, const float* g, float* p, size_t n);
void MomentumStep(float lr, float mu, float wd, bool nesterov, bool first, const float* g, float* b, float* p,
                  size_t n);
// step_size = lr / bc1, inv_sqrt_bc2 = 1 / sqrt(bc2), decay = 1 - lr wd (decoupled) or 1, l2 = wd (coupled) or 0.
void AdamStep(float beta1, float beta2, float eps, float step_size, float inv_sqrt_bc2, float decay, float l2,
              const float* g, float* m, float* v, float* p, size_t n);
// Backend::Adam8bitStep over n entries (shapes checked by the caller):
// backend_cpu_simd_adam8bit.cc, bit-identical to cpu_ref on every target.
void Adam8bitStep(const Adam8bitStepParams& h, const float* g, float* p, uint8_t* qm, uint8_t* qv, float* absm,
                  float* absv, size_t n);
// Its quantizer, exposed for the exactness test: q[i] = NearestCodeReference
// of x[i] * scale in the signed (is_signed) or unsigned dynamic map
// (core/dynamic_quant.h); lanes with x[i] > 0 whose code would be `bump`
// take bump + 1 (-1: no bump). Any n; NaN is outside the contract.
void DynamicQuantize(bool is_signed, const float* x, float scale, int32_t bump, uint8_t* q, size_t n);
// Shapes are checked by the caller (core/backend_checks.h).
void QuantizeInt8(const float* x, size_t n, int64_t block, std::array<uint32_t, 2> key, uint64_t offset,
                  int8_t* q, float* scales);
void DequantizeInt8(const int8_t* q, const float* scales, int64_t block, float* x, size_t n);
void CountSketchApply(const CountSketchSpec& s, const float* x, size_t n, float* table);
void CountSketchUnapply(const CountSketchSpec& s, const float* table, float* x, size_t n);
void RandomSketchApply(const RandomSketchSpec& s, const float* x, size_t n, float* y);
void RandomSketchUnapply(const RandomSketchSpec& s, const float* y, float* x, size_t n);
// Backend::SoftmaxXent (float): cpu_ref's math with vector exp; the loss and
// gradients differ from cpu_ref's by rounding only (sums in another order,
// Highway's exp within an ulp of std::exp).
double SoftmaxXent(const float* logits, const int32_t* labels, int64_t batch, int64_t classes, float* grad,
                   int64_t* correct);

}  // namespace shoal::simd
