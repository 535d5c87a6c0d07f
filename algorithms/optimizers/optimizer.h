// Local optimizers on flat parameter vectors.
//
// An Optimizer instance belongs to one client task (or persists in that
// client's ClientState between rounds when the scenario asks for it). It is
// created from an OptimizerSpec, which is parsed once from the scenario
// (`client.optimizer: {name: adam, lr: 1e-3, schedule: {name: cosine, ...}}`)
// and shared read-only by all workers. Step() takes the scheduled learning
// rate. The update rules, conventions and reference values are in
// shared/OPTIMIZERS.md; every optimizer file cites its paper and code.
//
// Optimizers that need more than the gradient (AdaHessian and Sophia need
// Hessian information on the current minibatch, SPS the minibatch loss)
// override StepWith() and read it from a StepContext; RunLocalTraining always
// calls StepWith(), whose default forwards to Step(), so plain optimizers are
// unaffected. Not thread-safe: one instance per task.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "algorithms/types.h"
#include "core/backend.h"
#include "core/config.h"
#include "core/param.h"
#include "core/rng.h"

namespace shoal {

using HParams = std::map<std::string, double>;

// What an optimizer may ask about the current minibatch. Provided by
// RunLocalTraining for each step; valid only during that StepWith() call.
class StepContext {
 public:
  virtual ~StepContext() = default;
  // Mean loss of the current minibatch at the parameters the gradient was taken at.
  virtual double loss() const = 0;
  // hv = H v, with H the Hessian of the minibatch loss at `params` (exact,
  // forward-over-reverse, core/hvp.h). REQUIRES: all spans have the model's size.
  virtual void HessianVector(std::span<const float> params, std::span<const float> v, std::span<float> hv) = 0;
  // Gradient at `params` of the minibatch loss with labels sampled from the
  // model's own softmax (Sophia's Gauss-Newton-Bartlett estimator).
  virtual void SampledLabelGrad(std::span<const float> params, std::span<float> g) = 0;
  // Random stream for probe vectors, keyed (seed, round, client, kOptimizer).
  virtual RngStream& rng() = 0;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update of params from grad with learning rate lr.
  virtual void Step(std::span<float> params, std::span<const float> grad, float lr) = 0;
  // As Step, with access to the current minibatch (see StepContext).
  virtual void StepWith(std::span<float> params, std::span<const float> grad, float lr, StepContext& /*ctx*/) {
    Step(params, grad, lr);
  }
  // Bytes of optimizer state held between steps (0 for SGD). Default: the
  // buffers and scalars listed by State().
  virtual int64_t state_bytes() const;
  // Persist / restore state through a client's ClientState ("opt." prefix).
  // Default: the buffers listed by State(); a buffer of the wrong size is ignored.
  virtual void SaveState(ClientState& state) const;
  virtual void LoadState(const ClientState& state);

 protected:
  // Named state, for the default state_bytes/SaveState/LoadState.
  struct StateRefs {
    std::vector<std::pair<std::string, std::vector<float>*>> tensors;
    std::vector<std::pair<std::string, double*>> scalars;
  };
  virtual StateRefs State() { return {}; }
};

struct OptimizerSpec {
  std::string name = "sgd";
  double lr = 0.05;
  HParams hparams;  // resolved, with defaults
  // Creates a fresh optimizer for a model with this layout (schedule included).
  std::function<std::unique_ptr<Optimizer>(const ParamLayout&, const Backend&)> create;
};

// Parses `node` (client.optimizer) into a spec; errors name the key and list
// valid optimizer names (unknown name) or the expected range (bad value).
Result<OptimizerSpec> ParseOptimizer(const ConfigNode& node);

struct OptimizerInfo {
  std::string name;
  std::string summary;
  std::vector<std::pair<std::string, double>> defaults;  // hyperparameter -> default
};
// Every registered optimizer, for `shoal-sim list optimizers`.
std::vector<OptimizerInfo> ListOptimizers();

// Creates the named optimizer with `overrides` on top of its defaults, without
// a schedule (tests, benchmarks). Errors as ParseOptimizer.
Result<std::unique_ptr<Optimizer>> MakeOptimizer(const std::string& name, const HParams& overrides,
                                                 const ParamLayout& layout, const Backend& be);

}  // namespace shoal
