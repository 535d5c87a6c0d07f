// ClientRuntime: one client's side of federated training, transport-free.
//
// Run(task): local training with the scenario's ClientProcedure on this
// client's partition -> the UpdatePipeline (transforms + codec) -> the bytes
// to upload. It sets up the TrainContext and TransformContext exactly as the
// simulator does (same seed, indices, RNG keys), so a task run here yields the
// bytes the simulator would have produced. ClientState persists between tasks.
// Not thread-safe: one task at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "algorithms/client_procedure.h"
#include "algorithms/transforms/transform.h"

namespace shoal::client {

class ClientRuntime {
 public:
  // Borrowed references must outlive the runtime. `indices` are this
  // client's rows of `train`.
  ClientRuntime(const ClientProcedure& procedure, const UpdatePipeline& pipeline, const Model<float>& prototype,
                const Backend& backend, const Dataset& train, std::vector<int64_t> indices, uint64_t seed, int client);
  // REQUIRES: task.client == client() and the model has the prototype's size.
  Result<std::vector<uint8_t>> Run(const Task& task);
  int client() const { return client_; }
  int64_t num_samples() const { return static_cast<int64_t>(indices_.size()); }
  int64_t num_params() const { return model_->num_params(); }
  const ClientProcedure& procedure() const { return procedure_; }
  // Last update's training loss (reporting).
  double last_train_loss() const { return last_loss_; }

 private:
  const ClientProcedure& procedure_;
  const UpdatePipeline& pipeline_;
  const Backend& backend_;
  std::unique_ptr<Model<float>> model_;
  std::vector<int64_t> indices_;
  uint64_t seed_;
  int client_;
  TrainContext ctx_;
  ClientState state_;
  double last_loss_ = 0;
};

}  // namespace shoal::client
