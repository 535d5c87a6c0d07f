// im2col / col2im of one CHW image on device pointers (definition:
// Backend::Im2Col/Col2Im). Both equal cpu_ref bit for bit: im2col copies, and
// col2im gathers each pixel's contributions in cpu_ref's (ki, kj) order.
#pragma once
#include <cstdint>
#include "core/backend.h"
namespace shoal::cuda {
Status Im2Col(const ConvGeom& g, const float* img, float* col, int64_t ldc);
Status Col2Im(const ConvGeom& g, const float* col, int64_t ldc, float* img);
}  // namespace shoal::cuda
