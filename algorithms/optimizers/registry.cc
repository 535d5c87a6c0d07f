// The one list of local optimizers.
#include <algorithm>

#include "algorithms/optimizers/optimizer.h"
#include "algorithms/optimizers/sgd.h"

namespace shoal {
namespace {

using Defaults = std::vector<std::pair<std::string, double>>;

struct Entry {
  OptimizerInfo info;
  std::function<std::unique_ptr<Optimizer>(const ParamLayout&, const Backend&, const std::map<std::string, double>&)> make;
  // Extra validation of resolved hyperparameters; returns "" when valid or the failing key.
  std::function<std::string(const std::map<std::string, double>&)> check;
};

const std::vector<Entry>& Registry() {
  static const std::vector<Entry> kEntries = {
      {{"sgd", "SGD with optional momentum/Nesterov and coupled weight decay",
        {{"lr", 0.05}, {"momentum", 0.0}, {"nesterov", 0.0}, {"weight_decay", 0.0}}},
       [](const ParamLayout& l, const Backend& be, const std::map<std::string, double>& h) {
         return std::make_unique<SgdOptimizer>(be, l.total_size(), static_cast<float>(h.at("momentum")),
                                               h.at("nesterov") != 0.0, static_cast<float>(h.at("weight_decay")));
       },
       [](const std::map<std::string, double>& h) -> std::string {
         if (h.at("momentum") < 0 || h.at("momentum") >= 1) return "momentum";
         if (h.at("weight_decay") < 0) return "weight_decay";
         return "";
       }},
  };
  return kEntries;
}

std::string ValidNames() {
  std::string s;
  for (const auto& e : Registry()) s += (s.empty() ? "" : ", ") + e.info.name;
  return s;
}

}  // namespace

std::vector<OptimizerInfo> ListOptimizers() {
  std::vector<OptimizerInfo> out;
  for (const auto& e : Registry()) out.push_back(e.info);
  return out;
}

Result<OptimizerSpec> ParseOptimizer(const ConfigNode& node) {
  std::string name = node.Get<std::string>("name", "sgd");
  auto it = std::find_if(Registry().begin(), Registry().end(), [&](const Entry& e) { return e.info.name == name; });
  if (it == Registry().end())
    return InvalidArgument(node.Where("name") + ": unknown optimizer '" + name + "'; valid names: " + ValidNames());
  OptimizerSpec spec;
  spec.name = name;
  for (const auto& [key, def] : it->info.defaults) spec.hparams[key] = node.Get<double>(key, def);
  RETURN_IF_ERROR(node.status());
  spec.lr = spec.hparams.at("lr");
  if (!(spec.lr > 0)) return InvalidArgument(node.Where("lr") + ": expected a learning rate > 0, got " + std::to_string(spec.lr));
  std::string bad = it->check ? it->check(spec.hparams) : "";
  if (!bad.empty())
    return InvalidArgument(node.Where(bad) + ": invalid value " + std::to_string(spec.hparams.at(bad)) +
                           " for optimizer '" + name + "'");
  auto make = it->make;
  auto h = spec.hparams;
  spec.create = [make, h](const ParamLayout& l, const Backend& be) { return make(l, be, h); };
  return spec;
}

}  // namespace shoal
