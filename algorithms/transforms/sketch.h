// Random sketches of a flat update (Song-Wang-Yu-Zhang, ICML 2023; see
// sketch.cc for the math). Exposed for tests and benchmarks; scenarios use
// the "sketch" entry of client.pipeline.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "algorithms/transforms/compressor.h"

namespace shoal::compress {

enum class SketchFamily { kSrht, kCountSketch, kGaussian };

struct SketchOptions {
  SketchFamily family = SketchFamily::kSrht;
  int64_t rows = 0;          // b; 0 = derive from `compression`
  double compression = 32;   // b = ceil(d'/compression) (srht) or ceil(d/compression); >= 1
  double noise_std = 0;      // DP variant: N(0, noise_std^2) added to each sketch entry; >= 0
};

// Number of sketch rows b for a d-dimensional update; errors when the
// family cannot provide it (srht b > d', gaussian b*d > 1e8).
Result<int64_t> SketchRows(const SketchOptions& o, int64_t d);
std::shared_ptr<const VectorCodec> MakeSketchCodec(const SketchOptions& o);

// In-place unnormalized fast Walsh-Hadamard transform. REQUIRES: size is a power of two.
void Fwht(std::span<float> z);
int64_t NextPow2(int64_t d);

}  // namespace shoal::compress
