// Local optimizers on flat parameter vectors.
//
// An Optimizer instance belongs to one client task (or persists in that
// client's ClientState between rounds when the scenario asks for it). It is
// created from an OptimizerSpec, which is parsed once from the scenario
// (`client.optimizer: {name: sgd, lr: 0.05, ...}`) and shared read-only by
// all workers. Step() takes the scheduled learning rate.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "algorithms/types.h"
#include "core/backend.h"
#include "core/config.h"
#include "core/param.h"

namespace shoal {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update of params from grad with learning rate lr.
  virtual void Step(std::span<float> params, std::span<const float> grad, float lr) = 0;
  // Bytes of optimizer state (for reporting; 0 for SGD).
  virtual int64_t state_bytes() const { return 0; }
  // Persist / restore state through a client's ClientState ("opt." prefix).
  virtual void SaveState(ClientState& /*state*/) const {}
  virtual void LoadState(const ClientState& /*state*/) {}
};

struct OptimizerSpec {
  std::string name = "sgd";
  double lr = 0.05;
  std::map<std::string, double> hparams;  // resolved, with defaults
  // Creates a fresh optimizer for a model with this layout.
  std::function<std::unique_ptr<Optimizer>(const ParamLayout&, const Backend&)> create;
};

// Parses `node` (client.optimizer) into a spec; errors name the key and list
// valid optimizer names.
Result<OptimizerSpec> ParseOptimizer(const ConfigNode& node);

struct OptimizerInfo {
  std::string name;
  std::string summary;
  std::vector<std::pair<std::string, double>> defaults;  // hyperparameter -> default
};
// Every registered optimizer, for `shoal-sim list optimizers`.
std::vector<OptimizerInfo> ListOptimizers();

}  // namespace shoal
