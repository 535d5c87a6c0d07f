// ClientProcedure: the client side of a federated algorithm.
//
// Run() turns a Task into a ClientUpdate using the client's local data and
// persistent ClientState. Procedures are immutable after construction and
// shared by all workers: Run is const and thread-safe; everything mutable
// comes in TrainContext (one per worker) or ClientState (one per client).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "algorithms/optimizers/optimizer.h"
#include "algorithms/types.h"
#include "core/backend.h"
#include "core/data.h"
#include "core/model.h"

namespace shoal {

// Per-worker resources for one task.
struct TrainContext {
  const Backend* backend = nullptr;
  Model<float>* model = nullptr;            // scratch-owning model (one per worker)
  const Dataset* data = nullptr;            // the loaded training set
  std::span<const int64_t> indices;         // this client's samples in `data`
  uint64_t seed = 0;                        // run seed (RNG streams are keyed from it)
  // Reusable buffers (kept across tasks on the same worker).
  std::vector<float> params, grad, batch_x;
  std::vector<int32_t> batch_y;
  // Replaces the model's softmax cross-entropy as the local objective when
  // set: mean loss over rows `rows` of `data` at `params`, gradient written
  // into `grad`. Tests use it to run procedures on analytic problems through
  // the same code path (see BatchLossAndGrad).
  std::function<double(std::span<const float> params, std::span<const int64_t> rows, std::span<float> grad)>
      objective;
};

class ClientProcedure {
 public:
  virtual ~ClientProcedure() = default;
  virtual std::string name() const = 0;
  virtual Result<ClientUpdate> Run(const Task& task, ClientState& state, TrainContext& ctx) const = 0;
  // Samples the client will process for this task (gradient evaluations x
  // batch rows), known before running: the simulator's virtual compute time.
  virtual double PlannedWork(const Task& /*task*/, int64_t num_samples) const {
    return static_cast<double>(num_samples);
  }
  // Writes the client's personalized model, built from its persistent state
  // and the current global model, into `out` (sized like `global`) and
  // returns true; returns false when the client has none, in which case the
  // global model is its model (FedAvg and other global-only algorithms).
  // Thread-safe like Run; `state` is not modified.
  virtual bool PersonalModel(const ClientState& /*state*/, std::span<const float> /*global*/,
                             std::span<float> /*out*/) const {
    return false;
  }
};

// Local minibatch training shared by procedures: `epochs` passes over the
// client's indices (reshuffled each epoch with RngStream(seed, round, client,
// kShuffle)), batches of `batch_size` (last one partial), one optimizer step
// per batch. `grad_hook`, when set, may modify the gradient before the step
// (FedProx's proximal term, SCAFFOLD's correction). Steps go through
// Optimizer::StepWith with a MinibatchStepContext (optimizers/minibatch_context.h):
// the batch loss, exact Hessian-vector products and sampled-label gradients on
// the current batch, for SPS, AdaHessian and Sophia; plain optimizers ignore it.
// The learning-rate schedule lives in the optimizer (client.optimizer.schedule).
struct LocalTrainingOptions {
  int epochs = 1;            // >= 1
  int batch_size = 32;       // >= 1
  int64_t max_steps = 0;     // 0 = no cap; otherwise stop after this many steps
};
struct LocalTrainingStats {
  int64_t steps = 0;
  int64_t samples_seen = 0;
  double mean_loss = 0;
};
using GradHook = std::function<void(std::span<const float> params, std::span<float> grad)>;
// Trains ctx.params in place. REQUIRES: ctx.params has the model's size.
LocalTrainingStats RunLocalTraining(const LocalTrainingOptions& opts, const Task& task, TrainContext& ctx,
                                    Optimizer& opt, float lr, const GradHook& grad_hook = nullptr);
// Mean loss of the client objective on rows `rows` of ctx.data at `params`,
// gradient into `grad`: ctx.objective when set, else the model's softmax
// cross-entropy (via ctx.batch_x/batch_y).
double BatchLossAndGrad(TrainContext& ctx, std::span<const float> params, std::span<const int64_t> rows,
                        std::span<float> grad);
// Copies rows `idx` of the dataset into ctx.batch_x / ctx.batch_y.
void GatherBatch(const Dataset& data, std::span<const int64_t> idx, TrainContext& ctx);

}  // namespace shoal
