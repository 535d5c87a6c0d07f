// Compressed update codecs and the error-feedback transform
// (shared/COMPRESSION.md). A compressor is a codec: Encode compresses the
// dense update into its wire form, Decode rebuilds the dense update the
// server aggregates. The transform in `client.pipeline` selects the codec and,
// with error feedback, keeps the client's residual e in ClientState:
//   p = delta + e;  send C(p);  e <- p - D(C(p))
// where D(C(p)) is computed by the same codec, so the residual is exactly
// what the server did not receive. A compressor must be the last pipeline
// entry (it is the wire encoder); clip and local noise go before it.
//
// Envelope after the common header of wire.h (family id = wire::Method):
//   u8 method (§0 id) | u8 flags | varint d | varint round |
//   [u64 seed, iff flags bit0] | varint payload_len | payload | trailer
// Decode checks every field against the server's expectation (method, flags,
// d = model size, round, seed recomputed from the run seed) and that the
// payload is consumed exactly.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "algorithms/transforms/transform.h"
#include "algorithms/transforms/wire.h"
#include "core/config.h"
#include "core/rng.h"

namespace shoal::compress {

// Method ids of shared/COMPRESSION.md §0 (the byte after the family id).
enum class MethodId : uint8_t {
  kIdentity = 0, kSrht = 1, kCountSketch = 2, kGaussian = 3, kFetchSgd = 4, kTopK = 5, kRandK = 6,
  kQsgd = 7, kQsgdElias = 8, kTernGrad = 9, kScaledSign = 10, kInt8 = 11, kInt8Dynamic = 12, kPowerSgd = 13,
};
inline constexpr uint8_t kFlagSeed = 1, kFlagBitmap = 2, kFlagF16 = 4, kFlagFactorQ = 8;

// Which randomness a method uses; decides the seed carried on the wire.
enum class SeedScope { kNone, kShared, kClient };

class VectorCodec : public UpdateCodec {
 public:
  VectorCodec(wire::Method family, MethodId id, std::string name, SeedScope scope)
      : family_(family), id_(id), name_(std::move(name)), scope_(scope) {}
  std::string name() const override { return name_; }
  MethodId method() const { return id_; }

  Result<std::vector<uint8_t>> Encode(const ClientUpdate& u, const TransformContext& ctx) const final;
  Result<ClientUpdate> Decode(std::span<const uint8_t> bytes, int64_t expected_params,
                              const TransformContext& ctx) const final;
  // What the server will decode from Encode(x): used for error feedback and tests.
  Status RoundTrip(std::span<const float> x, const TransformContext& ctx, std::vector<float>* out) const;

  // The Philox stream of this method for (run seed, round, scope).
  RngStream Stream(const TransformContext& ctx) const;

 protected:
  // Writes the payload of `x` (the update as ClientUpdate::delta holds it) and
  // sets method flags. `rng` is Stream(ctx).
  virtual Status EncodePayload(std::span<const float> x, const TransformContext& ctx, const RngStream& rng,
                               wire::Writer& w, uint8_t* flags) const = 0;
  // Parses exactly the payload into `out` (size d, zero-filled).
  virtual Status DecodePayload(wire::Reader& r, uint8_t flags, const TransformContext& ctx, const RngStream& rng,
                               std::span<float> out) const = 0;
  // Flags (beyond the seed bit) this method may set.
  virtual uint8_t allowed_flags() const { return 0; }
  // Dense size d given the update the client holds (PowerSGD holds factors).
  virtual int64_t DenseSize(const ClientUpdate& u, const TransformContext&) const {
    return static_cast<int64_t>(u.delta.size());
  }
  // Length of the decoded `delta` for a d-parameter model: d, except for
  // FetchSGD, whose server merges the sketch tables themselves.
  virtual int64_t DecodedSize(int64_t d) const { return d; }

 private:
  wire::Method family_;
  MethodId id_;
  std::string name_;
  SeedScope scope_;
};

// client.pipeline entry for a VectorCodec, with optional error feedback.
class CompressTransform final : public UpdateTransform {
 public:
  // step_ahead in [0, 1] (needs error_feedback): the SA-PEF fraction of the
  // residual the next local training starts from (ClientState::kPreviewKey).
  CompressTransform(std::shared_ptr<const VectorCodec> codec, bool error_feedback, double step_ahead = 0.0)
      : codec_(std::move(codec)), error_feedback_(error_feedback), step_ahead_(step_ahead) {}
  std::string name() const override { return codec_->name(); }
  Status Apply(ClientUpdate& u, ClientState& state, const TransformContext& ctx) const override;
  std::shared_ptr<const UpdateCodec> codec() const override { return codec_; }
  // ClientState key of the residual.
  std::string residual_key() const {
    return step_ahead_ > 0 ? ClientState::kPreviewKey : "compress." + codec_->name() + ".residual";
  }
  double step_ahead() const { return step_ahead_; }

 private:
  std::shared_ptr<const VectorCodec> codec_;
  bool error_feedback_;
  double step_ahead_;
};

using TransformFactory = Result<std::shared_ptr<const UpdateTransform>> (*)(const ConfigNode&);

// Factories for client.pipeline entries (options documented in each file).
Result<std::shared_ptr<const UpdateTransform>> MakeTopK(const ConfigNode& n);       // "topk"
Result<std::shared_ptr<const UpdateTransform>> MakeRandK(const ConfigNode& n);      // "randk"
Result<std::shared_ptr<const UpdateTransform>> MakeQsgd(const ConfigNode& n);       // "qsgd"
Result<std::shared_ptr<const UpdateTransform>> MakeTernGrad(const ConfigNode& n);   // "terngrad"
Result<std::shared_ptr<const UpdateTransform>> MakeScaledSign(const ConfigNode& n); // "sign"
Result<std::shared_ptr<const UpdateTransform>> MakeInt8(const ConfigNode& n);       // "int8"
Result<std::shared_ptr<const UpdateTransform>> MakeSketch(const ConfigNode& n);     // "sketch"
Result<std::shared_ptr<const UpdateTransform>> MakePowerSgd(const ConfigNode& n);   // "powersgd"

// k distinct indices of [0, n), sorted, drawn from `rng` (REQUIRES 0 <= k <= n).
std::vector<int64_t> SampleDistinctSorted(RngStream rng, int64_t n, int64_t k);

// Density option shared by top-k and rand-k: k = ceil(density * d), at least 1.
int64_t KeepCount(double density, int64_t d);

}  // namespace shoal::compress
