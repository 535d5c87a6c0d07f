// Registry glue for differential privacy (used by algorithms/registry.cc).
//
// Any round-based strategy takes an optional `strategy.dp:` map
// (CentralDpOptions keys, see dp_fedavg.h), e.g.
//   strategy: {name: fedavg, rounds: 30, dp: {noise_multiplier: 1.0, clip_norm: 0.5}}
// which wraps the strategy in CentralDp (level central_client by default;
// `level: local` instead accounts clients' own `local_noise` transform, one
// Gaussian with the same z per round). `--set strategy.dp.noise_multiplier=z`
// sweeps the noise. The strategy "dp_sgd" is FedAvg's server with the DP-SGD
// client (client keys in dp_sgd.h), always accounted at the example level;
// its `strategy.dp` may set delta and a budget.
#pragma once

#include <string>

#include "algorithms/registry.h"

namespace shoal::privacy {

// Wraps a.strategy when strategy.dp is present. Errors name the key.
Status WrapWithDp(const std::string& name, const ConfigNode& strategy, Algorithm& a);
Result<Algorithm> MakeDpSgd(const ConfigNode& strategy, const ConfigNode& client);

}  // namespace shoal::privacy
