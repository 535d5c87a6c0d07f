// The one list of strategies.
#include "algorithms/registry.h"

#include <functional>

#include "algorithms/fedavg.h"

namespace shoal {
namespace {

using Factory = std::function<Result<Algorithm>(const ConfigNode&, const ConfigNode&)>;

Result<Algorithm> MakeFedAvg(const ConfigNode& s, const ConfigNode& c, double default_momentum) {
  RoundOptions round = RoundOptions::Parse(s);
  FedAvgOptions opts = FedAvgOptions::Parse(s, default_momentum);
  RETURN_IF_ERROR(s.status());
  ASSIGN_OR_RETURN(LocalSgdOptions local, LocalSgdOptions::Parse(c));
  Algorithm a;
  a.strategy = std::make_unique<FedAvgStrategy>(round, opts);
  a.procedure = std::make_shared<FedAvgClient>(std::move(local));
  return a;
}

const std::vector<std::pair<std::string, Factory>>& Registry() {
  static const std::vector<std::pair<std::string, Factory>> kEntries = {
      {"fedavg", [](const ConfigNode& s, const ConfigNode& c) { return MakeFedAvg(s, c, 0.0); }},
      {"fedavgm", [](const ConfigNode& s, const ConfigNode& c) { return MakeFedAvg(s, c, 0.9); }},
  };
  return kEntries;
}

}  // namespace

std::vector<std::string> StrategyNames() {
  std::vector<std::string> out;
  for (const auto& [name, f] : Registry()) out.push_back(name);
  return out;
}

Result<Algorithm> MakeAlgorithm(const ConfigNode& strategy, const ConfigNode& client) {
  std::string name = strategy.Get<std::string>("name", "fedavg");
  for (const auto& [n, f] : Registry())
    if (n == name) {
      ASSIGN_OR_RETURN(Algorithm a, f(strategy, client));
      ASSIGN_OR_RETURN(a.pipeline, ParsePipeline(client));
      return a;
    }
  std::string valid;
  for (const auto& n : StrategyNames()) valid += (valid.empty() ? "" : ", ") + n;
  return InvalidArgument(strategy.Where("name") + ": unknown strategy '" + name + "'; valid names: " + valid);
}

}  // namespace shoal
