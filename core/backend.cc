#include "core/backend.h"

#include <string>

#include "core/backend_checks.h"
#include "core/backend_rng.h"

namespace shoal {
namespace {
Status NotOffered(std::string_view backend, Op op) {
  return Unimplemented("backend '" + std::string(backend) + "' does not implement op '" +
                       std::string(kOpNames[static_cast<int>(op)]) + "'");
}
}  // namespace

Status Backend::QuantizeInt8(std::span<const float>, int64_t, std::array<uint32_t, 2>, uint64_t,
                             std::span<int8_t>, std::span<float>) const {
  return NotOffered(name(), Op::kQuantizeInt8);
}
Status Backend::DequantizeInt8(std::span<const int8_t>, std::span<const float>, int64_t,
                               std::span<float>) const {
  return NotOffered(name(), Op::kDequantizeInt8);
}
Status Backend::CountSketchApply(const CountSketchSpec&, std::span<const float>, std::span<float>) const {
  return NotOffered(name(), Op::kCountSketchApply);
}
Status Backend::CountSketchUnapply(const CountSketchSpec&, std::span<const float>, std::span<float>) const {
  return NotOffered(name(), Op::kCountSketchUnapply);
}
Status Backend::RandomSketchApply(const RandomSketchSpec&, std::span<const float>, std::span<float>) const {
  return NotOffered(name(), Op::kRandomSketchApply);
}
Status Backend::RandomSketchUnapply(const RandomSketchSpec&, std::span<const float>, std::span<float>) const {
  return NotOffered(name(), Op::kRandomSketchUnapply);
}

namespace backend_checks {

int64_t NumBlocks(int64_t n, int64_t block) { return block > 0 ? (n + block - 1) / block : 0; }

Status Quantize(std::string_view op, int64_t n, int64_t block, int64_t q_size, int64_t scales_size) {
  std::string where = std::string(op) + ": ";
  if (block <= 0) return InvalidArgument(where + "block is " + std::to_string(block) + "; expected > 0");
  if (q_size != n)
    return InvalidArgument(where + "int8 buffer has " + std::to_string(q_size) + " values; expected " +
                           std::to_string(n) + " (one per input)");
  if (scales_size != NumBlocks(n, block))
    return InvalidArgument(where + "scales has " + std::to_string(scales_size) + " entries; expected ceil(" +
                           std::to_string(n) + " / " + std::to_string(block) + ") = " +
                           std::to_string(NumBlocks(n, block)));
  return Status::Ok();
}

Status CountSketch(std::string_view op, const CountSketchSpec& s, int64_t table_size) {
  std::string where = std::string(op) + ": ";
  if (s.rows < 1 || s.rows > backend_rng::kMaxCountSketchRows)
    return InvalidArgument(where + "rows is " + std::to_string(s.rows) + "; expected in [1, " +
                           std::to_string(backend_rng::kMaxCountSketchRows) + "]");
  if (s.cols < 1 || s.cols > (int64_t{1} << 31))
    return InvalidArgument(where + "cols is " + std::to_string(s.cols) + "; expected in [1, 2^31]");
  if (table_size != s.rows * s.cols)
    return InvalidArgument(where + "table has " + std::to_string(table_size) + " floats; expected rows * cols = " +
                           std::to_string(s.rows * s.cols));
  return Status::Ok();
}

Status RandomSketch(std::string_view op, const RandomSketchSpec& s, int64_t y_size) {
  std::string where = std::string(op) + ": ";
  if (s.rows < 1) return InvalidArgument(where + "rows is " + std::to_string(s.rows) + "; expected >= 1");
  if (y_size != s.rows)
    return InvalidArgument(where + "sketch has " + std::to_string(y_size) + " entries; expected rows = " +
                           std::to_string(s.rows));
  return Status::Ok();
}

}  // namespace backend_checks
}  // namespace shoal
