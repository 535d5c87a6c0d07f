// Clip and local-noise update transforms; see dp_transforms.h.
#include "algorithms/transforms/dp_transforms.h"

#include <cmath>

#include "core/rng.h"

namespace shoal::privacy {
namespace {

class ClipTransform final : public UpdateTransform {
 public:
  ClipTransform(double clip, double z, bool noise) : clip_(clip), z_(z), noise_(noise) {}
  std::string name() const override { return noise_ ? "local_noise" : "clip"; }
  Status Apply(ClientUpdate& u, ClientState&, const TransformContext& ctx) const override {
    const Backend& be = *ctx.backend;
    u.metrics["update_norm"] = be.ClipByNorm(u.delta, clip_);
    if (!noise_ || z_ == 0) return Status::Ok();
    // Noise is added in place through a scratch span: the fill writes
    // mean + std * N(0,1), so fill a buffer and add it.
    std::vector<float> noise(u.delta.size());
    const RngStream rng(ctx.seed, ctx.round, ctx.client, RngPurpose::kNoise);
    be.GaussianFill(rng.key(), 0, 0.0f, static_cast<float>(z_ * clip_), noise);
    be.Axpy(1.0f, noise, u.delta);
    return Status::Ok();
  }

 private:
  double clip_, z_;
  bool noise_;
};

}  // namespace

Result<std::shared_ptr<const UpdateTransform>> MakeClipTransform(const ConfigNode& item) {
  const double c = item.Get<double>("clip_norm", 1.0, [](const double& v) { return v > 0 && std::isfinite(v); },
                                    "> 0");
  RETURN_IF_ERROR(item.status());
  return std::shared_ptr<const UpdateTransform>(std::make_shared<const ClipTransform>(c, 0.0, false));
}

Result<std::shared_ptr<const UpdateTransform>> MakeLocalNoiseTransform(const ConfigNode& item) {
  const double c = item.Get<double>("clip_norm", 1.0, [](const double& v) { return v > 0 && std::isfinite(v); },
                                    "> 0");
  const double z = item.Get<double>("noise_multiplier", 1.0, [](const double& v) { return v >= 0 && std::isfinite(v); },
                                    ">= 0");
  RETURN_IF_ERROR(item.status());
  return std::shared_ptr<const UpdateTransform>(std::make_shared<const ClipTransform>(c, z, true));
}

}  // namespace shoal::privacy
