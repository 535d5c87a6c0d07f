// The client-side update pipeline and its wire codec.
//
// After local training a client's ClientUpdate passes through the transforms
// listed in `client.pipeline` (in order: e.g. clip -> top-k with error
// feedback -> local noise), then through one UpdateCodec that turns it into
// the bytes that travel. The server decodes those bytes back into the dense
// update the strategy sees. The simulator and the gRPC transport use the same
// pipeline, so byte counts in the metrics are the real wire sizes.
//
// Transforms and codecs are immutable after construction and shared by all
// workers (Apply/Encode/Decode are const and thread-safe); per-client memory
// (error-feedback residuals, ...) lives in ClientState under the transform's
// own key prefix.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "algorithms/types.h"
#include "core/backend.h"
#include "core/config.h"
#include "core/param.h"

namespace shoal {

struct TransformContext {
  const Backend* backend = nullptr;
  const ParamLayout* layout = nullptr;
  uint64_t seed = 0;       // run seed: key RNG streams with (seed, round, client, purpose)
  int64_t round = 0;
  int client = -1;
  uint64_t task_id = 0;
};

class UpdateCodec {
 public:
  virtual ~UpdateCodec() = default;
  virtual std::string name() const = 0;
  // Serialises the update (delta, extras, counts, loss). Never fails on a
  // well-formed update.
  virtual Result<std::vector<uint8_t>> Encode(const ClientUpdate& u, const TransformContext& ctx) const = 0;
  // Parses untrusted bytes; rejects truncated input, wrong method ids, bad
  // sizes and out-of-range indices with a clear InvalidArgument/DataLoss.
  // `expected_params` is the model size the server expects.
  virtual Result<ClientUpdate> Decode(std::span<const uint8_t> bytes, int64_t expected_params,
                                      const TransformContext& ctx) const = 0;
  // In-place decoding for a server's ingest buffer. The upload's first
  // InPlacePrefixBytes() bytes arrive in `prefix`, the rest (`body_bytes`) at
  // the start of `body`. A codec may take `body` over as the update's delta:
  // the dense codec keeps its fixed 40-byte head apart so its floats land at
  // body[0], and a model-sized upload needs no second model-sized buffer nor
  // a copy. The default joins the bytes (prefix is empty unless overridden)
  // and decodes them, leaving `body` to the caller. Same checks and errors as
  // Decode on the whole upload.
  virtual size_t InPlacePrefixBytes() const { return 0; }
  virtual Result<ClientUpdate> DecodeInPlace(std::span<const uint8_t> prefix, std::vector<float>& body,
                                             size_t body_bytes, int64_t expected_params,
                                             const TransformContext& ctx) const {
    const std::span<const uint8_t> rest(reinterpret_cast<const uint8_t*>(body.data()), body_bytes);
    if (prefix.empty()) return Decode(rest, expected_params, ctx);
    std::vector<uint8_t> all(prefix.begin(), prefix.end());
    all.insert(all.end(), rest.begin(), rest.end());
    return Decode(all, expected_params, ctx);
  }
};

class UpdateTransform {
 public:
  virtual ~UpdateTransform() = default;
  virtual std::string name() const = 0;
  // Client side: modifies the update in place; may read/write `state`.
  virtual Status Apply(ClientUpdate& u, ClientState& state, const TransformContext& ctx) const = 0;
  // The codec this transform's output needs (e.g. sparse for top-k), or null
  // to keep the previous one. The last non-null codec in the pipeline is used.
  virtual std::shared_ptr<const UpdateCodec> codec() const { return nullptr; }
};

class UpdatePipeline {
 public:
  UpdatePipeline();  // no transforms, dense float32 codec
  UpdatePipeline(std::vector<std::shared_ptr<const UpdateTransform>> transforms);
  // Applies every transform, then encodes.
  Result<std::vector<uint8_t>> Run(ClientUpdate& u, ClientState& state, const TransformContext& ctx) const;
  Result<ClientUpdate> Decode(std::span<const uint8_t> bytes, int64_t expected_params,
                              const TransformContext& ctx) const;
  Result<ClientUpdate> DecodeInPlace(std::span<const uint8_t> prefix, std::vector<float>& body, size_t body_bytes,
                                     int64_t expected_params, const TransformContext& ctx) const {
    return codec_->DecodeInPlace(prefix, body, body_bytes, expected_params, ctx);
  }  const UpdateCodec& codec() const { return *codec_; }
  const std::vector<std::shared_ptr<const UpdateTransform>>& transforms() const { return transforms_; }

 private:
  std::vector<std::shared_ptr<const UpdateTransform>> transforms_;
  std::shared_ptr<const UpdateCodec> codec_;
};

// Builds the pipeline from `client.pipeline` (a list of maps with `name`
// plus the transform's options); missing = dense, no transforms. Errors name
// the key and list the valid transform names.
Result<std::shared_ptr<const UpdatePipeline>> ParsePipeline(const ConfigNode& client);
std::vector<std::string> TransformNames();

// The dense float32 codec (the default).
std::shared_ptr<const UpdateCodec> DenseCodec();

}  // namespace shoal
