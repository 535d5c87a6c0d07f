// Shape checks shared by every backend's Status-returning ops, so each
// backend rejects the same inputs with the same message.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "core/backend.h"

namespace shoal::backend_checks {

int64_t NumBlocks(int64_t n, int64_t block);
Status Quantize(std::string_view op, int64_t n, int64_t block, int64_t q_size, int64_t scales_size);
Status CountSketch(std::string_view op, const CountSketchSpec& s, int64_t table_size);
Status RandomSketch(std::string_view op, const RandomSketchSpec& s, int64_t y_size);

}  // namespace shoal::backend_checks
