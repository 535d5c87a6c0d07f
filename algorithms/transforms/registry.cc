// The one list of update transforms (client.pipeline entries).
#include <functional>

#include "algorithms/transforms/transform.h"

namespace shoal {
namespace {

using Factory = std::function<Result<std::shared_ptr<const UpdateTransform>>(const ConfigNode&)>;

const std::vector<std::pair<std::string, Factory>>& Registry() {
  static const std::vector<std::pair<std::string, Factory>> kEntries = {
      // Privacy transforms (clip, local noise) and compressors register here.
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
    stages.push_back(std::move(t));
  }
  RETURN_IF_ERROR(client.status());
  return std::make_shared<const UpdatePipeline>(std::move(stages));
}

}  // namespace shoal
