// Random sketching of client updates: Song, Wang, Yu & Zhang, "Sketching for
// First Order Method: Efficient Algorithm for Low-Bandwidth Channel and
// Vulnerability", ICML 2023 (arXiv 2210.08371). shared/COMPRESSION.md §1.
//
// The client sends y = R x with a random R (b x d, b << d) regenerated from a
// seed shared by every party of the round (only the seed's check value
// travels); the server de-sketches x^ = R^T y, scaled so that E[x^] = x.
// R is never stored: each family is applied by a pass over x.
//   srht (method 1, default): d' = 2^ceil(log2 d); R = (1/sqrt d') S H D with
//     D random signs, H the Walsh-Hadamard matrix, S b distinct rows;
//     x^ = (d'/b) R^T y. E||x^-x||^2 = (d'-b)/b ||x||^2; exact at b = d'.
//     O(d' log d') time, d' floats of scratch.
//   countsketch (method 2): h: [d] -> [b], s: [d] -> {+-1} (Philox per index);
//     y_j = sum_{h(i)=j} s(i) x_i; x^_i = s(i) y_{h(i)}. E||x^-x||^2 = (d-1)/b ||x||^2. O(d).
//     The backend's one-row CountSketchApply/Unapply (hashes: core/backend_rng.h).
//   gaussian (method 3, test oracle): R_ij ~ N(0, 1/b), x^ = R^T y. O(bd).
//     The backend's RandomSketchApply/Unapply with SketchDist::kGaussian.
// A fresh R each round (seed keyed by run seed and round, client = shared).
// DP variant: `noise_std` sigma adds N(0, sigma^2 I) to y on the client (private
// stream); with a clip of C before it, the L2 sensitivity in sketch space is
// C ||R||_op (= C for srht; C sqrt(max bucket load) for countsketch).
// Options: {family: srht, rows: 0 (0 = use compression), compression: 32
//           (b = ceil(d'/compression) for srht, ceil(d/compression) otherwise),
//           noise_std: 0}. Wire: b f32 values.
#include "algorithms/transforms/sketch.h"

#include <algorithm>
#include <cmath>

#include "core/backend.h"

#include "algorithms/transforms/bitpack.h"
#include "algorithms/transforms/compressor.h"

namespace shoal::compress {

namespace {

// Stages h = lo, 2 lo, ..., < hi of the transform on z[0, n).
void FwhtStages(float* z, size_t n, size_t lo, size_t hi) {
  for (size_t h = lo; h < hi; h *= 2)
    for (size_t i = 0; i < n; i += 2 * h)
      for (size_t j = i; j < i + h; ++j) {
        const float a = z[j], b = z[j + h];
        z[j] = a + b;
        z[j + h] = a - b;
      }
}

}  // namespace

// Cache-blocked: the first log2(kBlock) stages run block by block in L1, the
// rest as whole-array passes. Every butterfly sees the same operands as in the
// textbook loop order, so the result is bit-identical to it.
void Fwht(std::span<float> z) {
  constexpr size_t kBlock = 4096;  // 16 KiB of floats
  const size_t n = z.size();
  const size_t block = std::min(n, kBlock);
  for (size_t b = 0; b < n; b += block) FwhtStages(z.data() + b, block, 1, block);
  FwhtStages(z.data(), n, block, n);
}

int64_t NextPow2(int64_t d) {
  int64_t p = 1;
  while (p < d) p *= 2;
  return p;
}

namespace {

const Backend& BackendOf(const TransformContext& ctx) {
  return ctx.backend ? *ctx.backend : *GetBackend("cpu_ref").value();
}

MethodId IdOf(SketchFamily f) {
  return f == SketchFamily::kSrht ? MethodId::kSrht : f == SketchFamily::kCountSketch ? MethodId::kCountSketch : MethodId::kGaussian;
}

const char* NameOf(SketchFamily f) {
  return f == SketchFamily::kSrht ? "sketch_srht" : f == SketchFamily::kCountSketch ? "sketch_countsketch" : "sketch_gaussian";
}

class SketchCodec final : public VectorCodec {
 public:
  explicit SketchCodec(SketchOptions o) : VectorCodec(wire::Method::kSketch, IdOf(o.family), NameOf(o.family), SeedScope::kShared), o_(o) {}

 protected:
  Status EncodePayload(std::span<const float> x, const TransformContext& ctx, const RngStream& rng, wire::Writer& w,
                       uint8_t*) const override {
    const int64_t d = static_cast<int64_t>(x.size());
    ASSIGN_OR_RETURN(int64_t b, SketchRows(o_, d));
    std::vector<float> y(static_cast<size_t>(b), 0.0f);
    if (o_.family == SketchFamily::kSrht) {
      const int64_t dp = NextPow2(d);
      std::vector<float> z(static_cast<size_t>(dp), 0.0f);
      WordSource sign(RngStream(rng.key64(), 1, -1, RngPurpose::kCompress).key());
      for (int64_t i = 0; i < d; ++i) z[static_cast<size_t>(i)] = (sign.At(static_cast<uint64_t>(i) >> 5) >> (i & 31)) & 1u ? x[static_cast<size_t>(i)] : -x[static_cast<size_t>(i)];
      Fwht(z);
      const float inv = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dp)));
      std::vector<int64_t> rows = SampleDistinctSorted(RngStream(rng.key64(), 2, -1, RngPurpose::kCompress), dp, b);
      for (int64_t j = 0; j < b; ++j)
        y[static_cast<size_t>(j)] = inv * z[static_cast<size_t>(rows[static_cast<size_t>(j)])];
    } else if (o_.family == SketchFamily::kCountSketch) {
      RETURN_IF_ERROR(BackendOf(ctx).CountSketchApply(CountSketchSpec{1, b, rng.key()}, x, y));
    } else {
      RETURN_IF_ERROR(BackendOf(ctx).RandomSketchApply(RandomSketchSpec{b, SketchDist::kGaussian, rng.key()}, x, y));
    }
    if (o_.noise_std > 0) {
      std::vector<float> noise(y.size());
      RngStream private_noise(ctx.seed, ctx.round, ctx.client, RngPurpose::kNoise);
      ctx.backend->GaussianFill(private_noise.key(), 0, 0.0f, static_cast<float>(o_.noise_std), noise);
      ctx.backend->Axpy(1.0f, noise, y);
    }
    PutFloats(w, y);
    return Status::Ok();
  }

  Status DecodePayload(wire::Reader& r, uint8_t, const TransformContext& ctx, const RngStream& rng,
                       std::span<float> out) const override {
    const int64_t d = static_cast<int64_t>(out.size());
    ASSIGN_OR_RETURN(int64_t b, SketchRows(o_, d));
    if (r.remaining() != static_cast<size_t>(b) * sizeof(float))
      return InvalidArgument("sketch payload of " + std::to_string(r.remaining()) + " bytes, expected 4b=" + std::to_string(4 * b));
    std::vector<float> y(static_cast<size_t>(b));
    RETURN_IF_ERROR(GetFloats(r, y, "sketch values"));
    if (o_.family == SketchFamily::kSrht) {
      const int64_t dp = NextPow2(d);
      std::vector<float> z(static_cast<size_t>(dp), 0.0f);
      std::vector<int64_t> rows = SampleDistinctSorted(RngStream(rng.key64(), 2, -1, RngPurpose::kCompress), dp, b);
      for (int64_t j = 0; j < b; ++j) z[static_cast<size_t>(rows[static_cast<size_t>(j)])] = y[static_cast<size_t>(j)];
      Fwht(z);
      const float scale = static_cast<float>(static_cast<double>(dp) / static_cast<double>(b) / std::sqrt(static_cast<double>(dp)));
      WordSource sign(RngStream(rng.key64(), 1, -1, RngPurpose::kCompress).key());
      for (int64_t i = 0; i < d; ++i) {
        float v = scale * z[static_cast<size_t>(i)];
        out[static_cast<size_t>(i)] = (sign.At(static_cast<uint64_t>(i) >> 5) >> (i & 31)) & 1u ? v : -v;
      }
    } else if (o_.family == SketchFamily::kCountSketch) {
      RETURN_IF_ERROR(BackendOf(ctx).CountSketchUnapply(CountSketchSpec{1, b, rng.key()}, y, out));
    } else {
      RETURN_IF_ERROR(BackendOf(ctx).RandomSketchUnapply(RandomSketchSpec{b, SketchDist::kGaussian, rng.key()}, y, out));
    }
    return Status::Ok();
  }

 private:
  SketchOptions o_;
};

}  // namespace

Result<int64_t> SketchRows(const SketchOptions& o, int64_t d) {
  const int64_t base = o.family == SketchFamily::kSrht ? NextPow2(d) : d;
  int64_t b = o.rows > 0 ? o.rows : std::max<int64_t>(1, static_cast<int64_t>(std::ceil(static_cast<double>(base) / o.compression)));
  if (o.family == SketchFamily::kSrht && b > base)
    return InvalidArgument("sketch rows " + std::to_string(b) + " exceed d'=" + std::to_string(base) + " (SRHT samples distinct rows)");
  if (o.family == SketchFamily::kGaussian && static_cast<double>(b) * static_cast<double>(d) > 1e8)
    return InvalidArgument("gaussian sketch is a test oracle: b*d=" + std::to_string(b) + "*" + std::to_string(d) + " exceeds 1e8");
  return b;
}

std::shared_ptr<const VectorCodec> MakeSketchCodec(const SketchOptions& o) { return std::make_shared<SketchCodec>(o); }

Result<std::shared_ptr<const UpdateTransform>> MakeSketch(const ConfigNode& n) {
  SketchOptions o;
  std::string family = n.Get<std::string>("family", "srht", [](const std::string& v) {
    return v == "srht" || v == "countsketch" || v == "gaussian"; }, "srht | countsketch | gaussian");
  o.family = family == "srht" ? SketchFamily::kSrht : family == "countsketch" ? SketchFamily::kCountSketch : SketchFamily::kGaussian;
  o.rows = n.Get<int64_t>("rows", 0, [](const int64_t& v) { return v >= 0; }, ">= 0 (0 = use compression)");
  o.compression = n.Get<double>("compression", 32.0, [](const double& v) { return v >= 1; }, ">= 1");
  o.noise_std = n.Get<double>("noise_std", 0.0, [](const double& v) { return v >= 0; }, ">= 0");
  RETURN_IF_ERROR(n.status());
  return std::shared_ptr<const UpdateTransform>(std::make_shared<CompressTransform>(MakeSketchCodec(o), false));
}

}  // namespace shoal::compress
