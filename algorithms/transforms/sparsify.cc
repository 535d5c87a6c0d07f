// Top-k and random-k sparsification with error feedback
// (Stich, Cordonnier & Jaggi, "Sparsified SGD with Memory", NeurIPS 2018,
// arXiv 1809.07599; Karimireddy et al., "Error Feedback Fixes SignSGD",
// ICML 2019, arXiv 1901.09847). shared/COMPRESSION.md §3.
//
//   top_k(x): keep the k largest |x_i| (ties to the lower index);
//             ||x - top_k(x)||^2 <= (1 - k/d) ||x||^2.
//   rand_k(x): keep k uniformly drawn coordinates (indices from the client's
//             seed, not sent); scaled by d/k it is unbiased with
//             E||.-x||^2 = (d/k - 1)||x||^2.
//   EF: p = delta + e; send C(p); e <- p - C(p)   (CompressTransform), where
//       delta is the client's whole model change of the round (all local steps).
// Top-k options from Deep Gradient Compression (Lin et al., ICLR 2018,
// arXiv 1712.01887), both off by default:
//   per_tensor: k_l = ceil(density * d_l) in every tensor of the ParamLayout
//       (layer-wise selection, so no tensor is starved); the contraction
//       bound then holds per tensor, hence for the whole vector with
//       delta = min_l k_l/d_l.
//   warmup_rounds R, warmup_density rho0: sparsity warm-up; in round t < R
//       the density is rho0 * (density/rho0)^(t/R) (geometric; DGC §3.4's
//       75% -> 99.9% sparsity over 4 epochs is rho0 = 0.25, density 0.001,
//       R = 4: 25%, 6.3%, 1.6%, 0.4%, then 0.1%), then `density`. Early
//       rounds upload more; bytes_up counts what was sent.
// Step-ahead EF (SA-PEF, Redie, Arablouei & Werner, TMLR 2026, arXiv
// 2601.20738), option step_ahead alpha in [0, 1]: the client's next local
// training starts from x + alpha * e instead of x (ClientState::kPreviewKey),
// so p = (y - (x + alpha e)) + e = (y - x) + (1 - alpha) e: alpha = 0 is
// plain EF, alpha = 1 is SAEF (compresses the whole displacement y - x).
// It counters stale residuals under partial participation.
// Options: topk {density: 0.01, error_feedback: true, per_tensor: false,
//                warmup_rounds: 0, warmup_density: 0.25, step_ahead: 0};
//          randk {density: 0.01, error_feedback: false, scaled: !error_feedback}.
// Wire: topk = varint k | indices (varint gaps or bitmap, flag bit1) | k f32,
//       k and the per-tensor counts recomputed and checked by the decoder;
//       randk = k f32 (the header seed fixes the indices).
#include <algorithm>
#include <cmath>
#include <functional>

#include "algorithms/transforms/bitpack.h"
#include "algorithms/transforms/compressor.h"

namespace shoal::compress {
namespace {

// Indices of the k largest |x_i|, increasing; ties go to the lower index.
// Finds the k-th largest magnitude t on a copy, then keeps every |x_i| > t
// and the first (k - #{|x_i| > t}) with |x_i| == t in index order.
std::vector<int64_t> TopKIndices(std::span<const float> x, int64_t k) {
  const int64_t d = static_cast<int64_t>(x.size());
  std::vector<int64_t> idx;
  if (k <= 0) return idx;
  std::vector<float> mag(x.size());
  for (size_t i = 0; i < x.size(); ++i) mag[i] = std::fabs(x[i]);
  std::nth_element(mag.begin(), mag.begin() + (k - 1), mag.end(), std::greater<float>());
  const float t = mag[static_cast<size_t>(k - 1)];
  int64_t above = 0;
  for (float v : x) above += std::fabs(v) > t;
  int64_t ties = k - above;
  idx.reserve(static_cast<size_t>(k));
  for (int64_t i = 0; i < d; ++i) {
    float a = std::fabs(x[static_cast<size_t>(i)]);
    if (a > t || (a == t && ties-- > 0)) idx.push_back(i);
  }
  return idx;
}

struct TopKOptions {
  double density = 0.01;
  bool per_tensor = false;
  int warmup_rounds = 0;
  double warmup_density = 0.25;
};

// The density of round `round` (0-based) under the warm-up schedule.
double DensityAt(const TopKOptions& o, int64_t round) {
  if (round >= o.warmup_rounds) return o.density;
  const double t = static_cast<double>(std::max<int64_t>(round, 0)) / o.warmup_rounds;
  return std::max(o.density, o.warmup_density * std::pow(o.density / o.warmup_density, t));
}

// [begin, end) ranges the selection runs over, each with its k: the whole
// vector, or every tensor of the layout.
struct Segment {
  int64_t begin, end, k;
};

Result<std::vector<Segment>> Segments(const TopKOptions& o, int64_t d, const TransformContext& ctx) {
  const double density = DensityAt(o, ctx.round);
  if (d == 0) return std::vector<Segment>{};
  if (!o.per_tensor) return std::vector<Segment>{{0, d, KeepCount(density, d)}};
  if (!ctx.layout)
    return FailedPrecondition("topk per_tensor: needs the model's ParamLayout in the transform context");
  if (ctx.layout->total_size() != d)
    return InvalidArgument("topk per_tensor: the layout has " + std::to_string(ctx.layout->total_size()) +
                           " parameters but the update has d=" + std::to_string(d));
  std::vector<Segment> seg;
  for (const TensorSpec& t : ctx.layout->tensors())
    if (t.size > 0) seg.push_back({t.offset, t.offset + t.size, KeepCount(density, t.size)});
  return seg;
}

class TopKCodec final : public VectorCodec {
 public:
  explicit TopKCodec(TopKOptions o) : VectorCodec(wire::Method::kSparse, MethodId::kTopK, "topk", SeedScope::kNone), o_(o) {}

 protected:
  uint8_t allowed_flags() const override { return kFlagBitmap; }
  Status EncodePayload(std::span<const float> x, const TransformContext& ctx, const RngStream&, wire::Writer& w,
                       uint8_t* flags) const override {
    const int64_t d = static_cast<int64_t>(x.size());
    ASSIGN_OR_RETURN(std::vector<Segment> seg, Segments(o_, d, ctx));
    std::vector<int64_t> idx;
    int64_t k = 0;
    for (const Segment& s : seg) {
      std::vector<int64_t> part = TopKIndices(x.subspan(static_cast<size_t>(s.begin), static_cast<size_t>(s.end - s.begin)), s.k);
      for (int64_t i : part) idx.push_back(s.begin + i);
      k += s.k;
    }
    w.PutVarint(static_cast<uint64_t>(k));
    bool bitmap = false;
    PutIndices(w, idx, d, &bitmap);
    if (bitmap) *flags |= kFlagBitmap;
    for (int64_t i : idx) w.Put<float>(x[static_cast<size_t>(i)]);
    return Status::Ok();
  }
  Status DecodePayload(wire::Reader& r, uint8_t flags, const TransformContext& ctx, const RngStream&,
                       std::span<float> out) const override {
    const int64_t d = static_cast<int64_t>(out.size());
    ASSIGN_OR_RETURN(std::vector<Segment> seg, Segments(o_, d, ctx));
    int64_t want = 0;
    for (const Segment& s : seg) want += s.k;
    uint64_t k = 0;
    RETURN_IF_ERROR(GetStrictVarint(r, &k, "k"));
    if (k != static_cast<uint64_t>(want))
      return InvalidArgument("k=" + std::to_string(k) + " but density gives k=" + std::to_string(want) +
                             " in round " + std::to_string(ctx.round));
    std::vector<int64_t> idx;
    RETURN_IF_ERROR(GetIndices(r, want, d, flags & kFlagBitmap, &idx));
    if (o_.per_tensor) {
      // Indices are increasing, so each tensor's run is contiguous.
      size_t j = 0;
      for (const Segment& s : seg) {
        int64_t n = 0;
        for (; j < idx.size() && idx[j] < s.end; ++j) ++n;
        if (n != s.k)
          return InvalidArgument("tensor at offset " + std::to_string(s.begin) + " has " + std::to_string(n) +
                                 " indices, per_tensor density gives " + std::to_string(s.k));
      }
    }
    std::vector<float> v(idx.size());
    RETURN_IF_ERROR(GetFloats(r, v, "values"));
    for (size_t j = 0; j < idx.size(); ++j) out[static_cast<size_t>(idx[j])] = v[j];
    return Status::Ok();
  }

 private:
  TopKOptions o_;
};

class RandKCodec final : public VectorCodec {
 public:
  RandKCodec(double density, bool scaled)
      : VectorCodec(wire::Method::kSparse, MethodId::kRandK, "randk", SeedScope::kClient), density_(density), scaled_(scaled) {}

 protected:
  Status EncodePayload(std::span<const float> x, const TransformContext&, const RngStream& rng, wire::Writer& w,
                       uint8_t*) const override {
    const int64_t d = static_cast<int64_t>(x.size());
    const int64_t k = d == 0 ? 0 : KeepCount(density_, d);
    for (int64_t i : SampleDistinctSorted(rng, d, k)) w.Put<float>(x[static_cast<size_t>(i)]);
    return Status::Ok();
  }
  Status DecodePayload(wire::Reader& r, uint8_t, const TransformContext&, const RngStream& rng,
                       std::span<float> out) const override {
    const int64_t d = static_cast<int64_t>(out.size());
    const int64_t k = d == 0 ? 0 : KeepCount(density_, d);
    if (r.remaining() != static_cast<size_t>(k) * sizeof(float))
      return InvalidArgument("rand-k payload of " + std::to_string(r.remaining()) + " bytes, expected 4k=" + std::to_string(4 * k));
    std::vector<float> v(static_cast<size_t>(k));
    RETURN_IF_ERROR(GetFloats(r, v, "values"));
    const float scale = scaled_ ? static_cast<float>(static_cast<double>(d) / static_cast<double>(k)) : 1.0f;
    std::vector<int64_t> idx = SampleDistinctSorted(rng, d, k);
    for (size_t j = 0; j < idx.size(); ++j) out[static_cast<size_t>(idx[j])] = scale * v[j];
    return Status::Ok();
  }

 private:
  double density_;
  bool scaled_;
};

double ParseDensity(const ConfigNode& n) {
  return n.Get<double>("density", 0.01, [](const double& v) { return v > 0 && v <= 1; }, "in (0, 1]");
}

}  // namespace

Result<std::shared_ptr<const UpdateTransform>> MakeTopK(const ConfigNode& n) {
  TopKOptions o;
  o.density = ParseDensity(n);
  bool ef = n.Get<bool>("error_feedback", true);
  o.per_tensor = n.Get<bool>("per_tensor", false);
  o.warmup_rounds = n.Get<int>("warmup_rounds", 0, [](const int& v) { return v >= 0; }, ">= 0");
  o.warmup_density = n.Get<double>("warmup_density", 0.25, [](const double& v) { return v > 0 && v <= 1; }, "in (0, 1]");
  const double step_ahead =
      n.Get<double>("step_ahead", 0.0, [](const double& v) { return v >= 0 && v <= 1; }, "in [0, 1] (SA-PEF alpha)");
  RETURN_IF_ERROR(n.status());
  if (step_ahead > 0 && !ef)
    return InvalidArgument(n.Where("step_ahead") + ": step-ahead previews the error-feedback residual; "
                           "it needs error_feedback: true");
  if (o.warmup_rounds > 0 && o.warmup_density <= o.density)
    return InvalidArgument(n.Where("warmup_density") + ": " + std::to_string(o.warmup_density) +
                           " must exceed density " + std::to_string(o.density) + " (warm-up starts denser)");
  return std::shared_ptr<const UpdateTransform>(
      std::make_shared<CompressTransform>(std::make_shared<TopKCodec>(o), ef, step_ahead));
}

Result<std::shared_ptr<const UpdateTransform>> MakeRandK(const ConfigNode& n) {
  double density = ParseDensity(n);
  bool ef = n.Get<bool>("error_feedback", false);
  bool scaled = n.Get<bool>("scaled", !ef);
  RETURN_IF_ERROR(n.status());
  if (scaled && ef)
    return InvalidArgument(n.Where("scaled") + ": the scaled (unbiased) rand-k cannot be combined with error_feedback; "
                           "use scaled: false with error feedback");
  return std::shared_ptr<const UpdateTransform>(
      std::make_shared<CompressTransform>(std::make_shared<RandKCodec>(density, scaled), ef));
}

}  // namespace shoal::compress
