// cpu_ref compression ops: the plain-loop definitions of int8 stochastic
// quantisation, count sketch and random projection (see core/backend.h).
#include <algorithm>
#include <cmath>

#include "core/backend_checks.h"
#include "core/backend_cpu_ref.h"
#include "core/backend_rng.h"

namespace shoal {

namespace br = backend_rng;

Status CpuRefBackend::QuantizeInt8(std::span<const float> x, int64_t block, std::array<uint32_t, 2> key,
                                   uint64_t offset, std::span<int8_t> q, std::span<float> scales) const {
  const int64_t n = static_cast<int64_t>(x.size());
  RETURN_IF_ERROR(backend_checks::Quantize("quantize_int8", n, block, q.size(), scales.size()));
  for (int64_t b = 0; b * block < n; ++b) {
    const int64_t lo = b * block, hi = std::min(n, lo + block);
    float mx = 0.0f;
    for (int64_t i = lo; i < hi; ++i) mx = std::max(mx, std::fabs(x[i]));
    const float scale = mx / 127.0f, s15 = (127.0f / mx) * 32768.0f;
    scales[b] = scale;
    for (int64_t i = lo; i < hi; ++i)
      q[i] = scale == 0.0f
                 ? 0
                 : br::QuantizeValue(x[i], s15, scale, br::QuantizeNoise15(key, offset + static_cast<uint64_t>(i)));
  }
  return Status::Ok();
}

Status CpuRefBackend::DequantizeInt8(std::span<const int8_t> q, std::span<const float> scales, int64_t block,
                                     std::span<float> x) const {
  const int64_t n = static_cast<int64_t>(x.size());
  RETURN_IF_ERROR(backend_checks::Quantize("dequantize_int8", n, block, q.size(), scales.size()));
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(q[i]) * scales[i / block];
  return Status::Ok();
}

Status CpuRefBackend::CountSketchApply(const CountSketchSpec& s, std::span<const float> x,
                                       std::span<float> table) const {
  RETURN_IF_ERROR(backend_checks::CountSketch("count_sketch_apply", s, table.size()));
  for (int64_t j = 0; j < s.rows; ++j) {
    float* row = table.data() + j * s.cols;
    for (size_t i = 0; i < x.size(); ++i) {
      auto slot = br::CountSketchSlot(s.key, j, i, s.cols);
      row[slot.bucket] += slot.sign * x[i];
    }
  }
  return Status::Ok();
}

Status CpuRefBackend::CountSketchUnapply(const CountSketchSpec& s, std::span<const float> table,
                                         std::span<float> x) const {
  RETURN_IF_ERROR(backend_checks::CountSketch("count_sketch_unapply", s, table.size()));
  float est[br::kMaxCountSketchRows];
  for (size_t i = 0; i < x.size(); ++i) {
    for (int64_t j = 0; j < s.rows; ++j) {
      auto slot = br::CountSketchSlot(s.key, j, i, s.cols);
      est[j] = slot.sign * table[j * s.cols + slot.bucket];
    }
    std::sort(est, est + s.rows);
    const int64_t r = s.rows;
    x[i] = (r % 2 == 1) ? est[r / 2] : (est[r / 2 - 1] + est[r / 2]) * 0.5f;
  }
  return Status::Ok();
}

namespace {
// e_ji of the projection (before the 1/sqrt(rows) scale).
float ProjectionEntry(const RandomSketchSpec& s, int64_t j, uint64_t i, uint64_t d) {
  if (s.dist == SketchDist::kGaussian) return GaussianAt(s.key, 0, static_cast<uint64_t>(j) * d + i);
  auto bits = br::RademacherBits(s.key, j, i / 128);
  return ((bits[(i % 128) / 32] >> (i % 32)) & 1u) ? -1.0f : 1.0f;
}
}  // namespace

Status CpuRefBackend::RandomSketchApply(const RandomSketchSpec& s, std::span<const float> x,
                                        std::span<float> y) const {
  RETURN_IF_ERROR(backend_checks::RandomSketch("random_sketch_apply", s, y.size()));
  const double inv = 1.0 / std::sqrt(static_cast<double>(s.rows));
  for (int64_t j = 0; j < s.rows; ++j) {
    double acc = 0;
    for (size_t i = 0; i < x.size(); ++i) acc += double(ProjectionEntry(s, j, i, x.size())) * double(x[i]);
    y[j] = static_cast<float>(acc * inv);
  }
  return Status::Ok();
}

Status CpuRefBackend::RandomSketchUnapply(const RandomSketchSpec& s, std::span<const float> y,
                                          std::span<float> x) const {
  RETURN_IF_ERROR(backend_checks::RandomSketch("random_sketch_unapply", s, y.size()));
  const double inv = 1.0 / std::sqrt(static_cast<double>(s.rows));
  for (size_t i = 0; i < x.size(); ++i) {
    double acc = 0;
    for (int64_t j = 0; j < s.rows; ++j) acc += double(ProjectionEntry(s, j, i, x.size())) * double(y[j]);
    x[i] = static_cast<float>(acc * inv);
  }
  return Status::Ok();
}

}  // namespace shoal
