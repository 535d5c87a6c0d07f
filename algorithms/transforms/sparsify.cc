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
//   EF: p = delta + e; send C(p); e <- p - C(p)   (CompressTransform).
// Options: topk {density: 0.01, error_feedback: true};
//          randk {density: 0.01, error_feedback: false, scaled: !error_feedback}.
// Wire: topk = varint k | indices (varint gaps or bitmap, flag bit1) | k f32;
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

class TopKCodec final : public VectorCodec {
 public:
  explicit TopKCodec(double density) : VectorCodec(wire::Method::kSparse, MethodId::kTopK, "topk", SeedScope::kNone), density_(density) {}

 protected:
  uint8_t allowed_flags() const override { return kFlagBitmap; }
  Status EncodePayload(std::span<const float> x, const TransformContext&, const RngStream&, wire::Writer& w,
                       uint8_t* flags) const override {
    const int64_t d = static_cast<int64_t>(x.size());
    const int64_t k = d == 0 ? 0 : KeepCount(density_, d);
    std::vector<int64_t> idx = TopKIndices(x, k);
    w.PutVarint(static_cast<uint64_t>(k));
    bool bitmap = false;
    PutIndices(w, idx, d, &bitmap);
    if (bitmap) *flags |= kFlagBitmap;
    for (int64_t i : idx) w.Put<float>(x[static_cast<size_t>(i)]);
    return Status::Ok();
  }
  Status DecodePayload(wire::Reader& r, uint8_t flags, const TransformContext&, const RngStream&,
                       std::span<float> out) const override {
    const int64_t d = static_cast<int64_t>(out.size());
    uint64_t k = 0;
    RETURN_IF_ERROR(GetStrictVarint(r, &k, "k"));
    const int64_t want = d == 0 ? 0 : KeepCount(density_, d);
    if (static_cast<int64_t>(k) != want)
      return InvalidArgument("k=" + std::to_string(k) + " but density gives k=" + std::to_string(want));
    std::vector<int64_t> idx;
    RETURN_IF_ERROR(GetIndices(r, want, d, flags & kFlagBitmap, &idx));
    std::vector<float> v(idx.size());
    RETURN_IF_ERROR(GetFloats(r, v, "values"));
    for (size_t j = 0; j < idx.size(); ++j) out[static_cast<size_t>(idx[j])] = v[j];
    return Status::Ok();
  }

 private:
  double density_;
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
  double density = ParseDensity(n);
  bool ef = n.Get<bool>("error_feedback", true);
  RETURN_IF_ERROR(n.status());
  return std::shared_ptr<const UpdateTransform>(
      std::make_shared<CompressTransform>(std::make_shared<TopKCodec>(density), ef));
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
