// Count sketch on device pointers (definition: Backend::CountSketchApply and
// CountSketchUnapply; hashes from core/backend_rng.h). Apply adds with
// atomics, so per-bucket summation order is not fixed: results match cpu_ref
// to rounding, not bit for bit. Unapply is exact. Shapes checked by the caller.
#pragma once
#include <cstdint>
#include "core/backend.h"
namespace shoal::cuda {
Status CountSketchApply(const CountSketchSpec& s, const float* x, int64_t n, float* table);
Status CountSketchUnapply(const CountSketchSpec& s, const float* table, float* x, int64_t n);
}  // namespace shoal::cuda
