// The one registry of federated algorithms: a strategy name maps to its
// server-side Strategy and its client-side ClientProcedure, each parsed from
// its own scenario section (`strategy:` and `client:`).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "algorithms/client_procedure.h"
#include "algorithms/strategy.h"
#include "algorithms/transforms/transform.h"
#include "core/config.h"

namespace shoal {

struct Algorithm {
  std::unique_ptr<Strategy> strategy;
  std::shared_ptr<const ClientProcedure> procedure;
  std::shared_ptr<const UpdatePipeline> pipeline;  // client.pipeline (default: dense, no transforms)
};

// Builds the algorithm named by strategy.name. Errors name the key.
Result<Algorithm> MakeAlgorithm(const ConfigNode& strategy, const ConfigNode& client);
std::vector<std::string> StrategyNames();

}  // namespace shoal
