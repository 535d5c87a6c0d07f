#include <cmath>
#include <cstring>

#include "algorithms/transforms/transform.h"
#include "algorithms/transforms/wire.h"

namespace shoal {

namespace wire {

void WriteHeader(Writer& w, Method m, const ClientUpdate& u) {
  w.Put<uint32_t>(kMagic);
  w.Put<uint16_t>(kVersion);
  w.Put<uint8_t>(static_cast<uint8_t>(m));
  w.Put<uint8_t>(0);
  w.Put<int64_t>(u.num_samples);
  w.Put<int64_t>(u.steps);
  w.Put<double>(u.train_loss);
}

Status ReadHeader(Reader& r, Method expected, ClientUpdate* u) {
  uint32_t magic = 0;
  uint16_t version = 0;
  uint8_t method = 0, reserved = 0;
  RETURN_IF_ERROR(r.Get(&magic, "magic"));
  if (magic != kMagic) return InvalidArgument("update payload: bad magic number (not a Shoal update)");
  RETURN_IF_ERROR(r.Get(&version, "version"));
  if (version != kVersion)
    return InvalidArgument("update payload: protocol version " + std::to_string(version) + ", expected " +
                           std::to_string(kVersion));
  RETURN_IF_ERROR(r.Get(&method, "method id"));
  if (method != static_cast<uint8_t>(expected))
    return InvalidArgument("update payload: method id " + std::to_string(method) + ", expected " +
                           std::to_string(static_cast<int>(expected)));
  RETURN_IF_ERROR(r.Get(&reserved, "reserved"));
  RETURN_IF_ERROR(r.Get(&u->num_samples, "num_samples"));
  RETURN_IF_ERROR(r.Get(&u->steps, "steps"));
  RETURN_IF_ERROR(r.Get(&u->train_loss, "train_loss"));
  if (u->num_samples < 0) return InvalidArgument("update payload: negative num_samples");
  return Status::Ok();
}

void WriteTrailer(Writer& w, const ClientUpdate& u) {
  w.Put<uint32_t>(static_cast<uint32_t>(u.extras.size()));
  for (const auto& [k, v] : u.extras) {
    w.PutString(k);
    w.PutFloats(v);
  }
  w.Put<uint32_t>(static_cast<uint32_t>(u.metrics.size()));
  for (const auto& [k, v] : u.metrics) {
    w.PutString(k);
    w.Put<double>(v);
  }
}

Status ReadTrailer(Reader& r, int64_t expected_params, ClientUpdate* u) {
  uint32_t n = 0;
  RETURN_IF_ERROR(r.Get(&n, "extras count"));
  if (n > 64) return InvalidArgument("update payload: " + std::to_string(n) + " extras (limit 64)");
  for (uint32_t i = 0; i < n; ++i) {
    std::string key;
    std::vector<float> v;
    RETURN_IF_ERROR(r.GetString(&key, "extra name"));
    RETURN_IF_ERROR(r.GetFloats(&v, static_cast<uint64_t>(expected_params) * 4 + 1024, "extra values"));
    u->extras[key] = std::move(v);
  }
  RETURN_IF_ERROR(r.Get(&n, "metrics count"));
  if (n > 1024) return InvalidArgument("update payload: " + std::to_string(n) + " metrics (limit 1024)");
  for (uint32_t i = 0; i < n; ++i) {
    std::string key;
    double v = 0;
    RETURN_IF_ERROR(r.GetString(&key, "metric name"));
    RETURN_IF_ERROR(r.Get(&v, "metric value"));
    u->metrics[key] = v;
  }
  return r.ExpectEnd();
}

}  // namespace wire

namespace {

class DenseFloatCodec final : public UpdateCodec {
 public:
  std::string name() const override { return "dense"; }
  Result<std::vector<uint8_t>> Encode(const ClientUpdate& u, const TransformContext&) const override {
    wire::Writer w;
    wire::WriteHeader(w, wire::Method::kDense, u);
    w.PutFloats(u.delta);
    wire::WriteTrailer(w, u);
    return std::move(w.bytes());
  }
  Result<ClientUpdate> Decode(std::span<const uint8_t> bytes, int64_t expected, const TransformContext&) const override {
    wire::Reader r(bytes);
    ClientUpdate u;
    RETURN_IF_ERROR(wire::ReadHeader(r, wire::Method::kDense, &u));
    RETURN_IF_ERROR(r.GetFloats(&u.delta, static_cast<uint64_t>(expected), "dense delta"));
    if (static_cast<int64_t>(u.delta.size()) != expected)
      return InvalidArgument("update has " + std::to_string(u.delta.size()) + " parameters, expected " +
                             std::to_string(expected));
    RETURN_IF_ERROR(wire::ReadTrailer(r, expected, &u));
    return u;
  }
  // Header (32 bytes) and the delta's count (8): the floats start at byte 40.
  static constexpr size_t kHead = 40;
  size_t InPlacePrefixBytes() const override { return kHead; }
  Result<ClientUpdate> DecodeInPlace(std::span<const uint8_t> prefix, std::vector<float>& body, size_t body_bytes,
                                     int64_t expected, const TransformContext& ctx) const override {
    if (body_bytes > body.size() * sizeof(float)) return InvalidArgument("dense: byte count exceeds the buffer");
    const std::span<const uint8_t> rest(reinterpret_cast<const uint8_t*>(body.data()), body_bytes);
    // A short upload (all of it in the prefix) or an unexpected split: decode the joined bytes.
    if (prefix.size() != kHead) return UpdateCodec::DecodeInPlace(prefix, body, body_bytes, expected, ctx);
    wire::Reader head(prefix);
    ClientUpdate u;
    RETURN_IF_ERROR(wire::ReadHeader(head, wire::Method::kDense, &u));
    uint64_t n = 0;
    RETURN_IF_ERROR(head.Get(&n, "dense delta"));
    if (n > static_cast<uint64_t>(expected))
      return InvalidArgument("dense delta: length " + std::to_string(n) + " exceeds limit " + std::to_string(expected));
    wire::Reader tail(rest, kHead);
    RETURN_IF_ERROR(tail.SkipBytes(n * sizeof(float), "dense delta"));
    if (static_cast<int64_t>(n) != expected)
      return InvalidArgument("update has " + std::to_string(n) + " parameters, expected " + std::to_string(expected));
    RETURN_IF_ERROR(wire::ReadTrailer(tail, expected, &u));
    // Every check passed: the floats already sit at body[0]; body becomes the delta.
    body.resize(n);
    u.delta = std::move(body);
    body = {};
    return u;
  }
};

}  // namespace

std::shared_ptr<const UpdateCodec> DenseCodec() {
  static const auto kCodec = std::make_shared<const DenseFloatCodec>();
  return kCodec;
}

UpdatePipeline::UpdatePipeline() : codec_(DenseCodec()) {}

UpdatePipeline::UpdatePipeline(std::vector<std::shared_ptr<const UpdateTransform>> transforms)
    : transforms_(std::move(transforms)), codec_(DenseCodec()) {
  for (const auto& t : transforms_)
    if (auto c = t->codec()) codec_ = c;
}

Result<std::vector<uint8_t>> UpdatePipeline::Run(ClientUpdate& u, ClientState& state, const TransformContext& ctx) const {
  for (const auto& t : transforms_) RETURN_IF_ERROR(t->Apply(u, state, ctx).WithContext("transform " + t->name()));
  return codec_->Encode(u, ctx);
}

Result<ClientUpdate> UpdatePipeline::Decode(std::span<const uint8_t> bytes, int64_t expected,
                                            const TransformContext& ctx) const {
  return codec_->Decode(bytes, expected, ctx);
}

}  // namespace shoal
