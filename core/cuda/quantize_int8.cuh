// Int8 block-wise quantisation with stochastic rounding and its inverse on
// device pointers (definition: Backend::QuantizeInt8). Shapes checked by the caller.
#pragma once
#include <array>
#include <cstdint>
#include "core/status.h"
namespace shoal::cuda {
Status QuantizeInt8(const float* x, int64_t n, int64_t block, std::array<uint32_t, 2> key, uint64_t offset,
                    int8_t* q, float* scales);
Status DequantizeInt8(const int8_t* q, const float* scales, int64_t block, float* x, int64_t n);
}  // namespace shoal::cuda
