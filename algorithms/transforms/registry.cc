// The one list of update transforms (client.pipeline entries).
#include <functional>

#include "algorithms/transforms/compressor.h"
#include "algorithms/transforms/count_sketch.h"
#include "algorithms/transforms/dp_transforms.h"
#include "algorithms/transforms/transform.h"

namespace shoal {
namespace {

using Factory = std::function<Result<std::shared_ptr<const UpdateTransform>>(const ConfigNode&)>;

const std::vector<std::pair<std::string, Factory>>& Registry() {
  static const std::vector<std::pair<std::string, Factory>> kEntries = {
      // Privacy transforms (clip, local noise) and compressors register here.
      // --- Compression and sketching (shared/COMPRESSION.md; algorithms/transforms/compressor.h).
      // Each is also the wire encoder, so it must be the last pipeline entry.
      {"topk", compress::MakeTopK},
      {"randk", compress::MakeRandK},
      {"qsgd", compress::MakeQsgd},
      {"terngrad", compress::MakeTernGrad},
      {"sign", compress::MakeScaledSign},
      {"int8", compress::MakeInt8},
      {"sketch", compress::MakeSketch},
      {"powersgd", compress::MakePowerSgd},
      {"fetchsgd", compress::MakeFetchSgdSketch},  // upload half of strategy "fetchsgd"
      // --- end compression.
      // --- Privacy (shared/PRIVACY.md §1.1; algorithms/transforms/dp_transforms.h).
      {"clip", privacy::MakeClipTransform},
      {"local_noise", privacy::MakeLocalNoiseTransform},
      // --- end privacy.
  };
  return kEntries;
}

}  // namespace

std::vector<std::string> TransformNames() {
  std::vector<std::string> out;
  for (const auto& [n, f] : Registry()) out.push_back(n);
  return out;
}

Result<std::shared_ptr<const UpdatePipeline>> ParsePipeline(const ConfigNode& client) {
  std::vector<std::shared_ptr<const UpdateTransform>> stages;
  for (const ConfigNode& item : client.Items("pipeline")) {
    std::string name = item.Get<std::string>("name", "");
    RETURN_IF_ERROR(item.status());
    const Factory* f = nullptr;
    for (const auto& [n, fac] : Registry())
      if (n == name) f = &fac;
    if (!f) {
      std::string valid;
      for (const auto& n : TransformNames()) valid += (valid.empty() ? "" : ", ") + n;
      return InvalidArgument(item.Where("name") + ": unknown transform '" + name + "'; valid names: " +
                             (valid.empty() ? "(none registered)" : valid));
    }
    ASSIGN_OR_RETURN(auto t, (*f)(item));
    RETURN_IF_ERROR(item.status());
    // A compressor is the wire encoder: what follows it would change the update
    // after the error-feedback residual was computed. Put clip/noise before it.
    if (!stages.empty() && stages.back()->codec())
      return InvalidArgument(item.Where("name") + ": transform '" + name + "' follows the compressor '" +
                             stages.back()->name() + "'; a compressor must be the last entry of client.pipeline");
    stages.push_back(std::move(t));
  }
  RETURN_IF_ERROR(client.status());
  return std::make_shared<const UpdatePipeline>(std::move(stages));
}

}  // namespace shoal
