#include "client/runtime.h"

namespace shoal::client {

ClientRuntime::ClientRuntime(const ClientProcedure& procedure, const UpdatePipeline& pipeline,
                             const Model<float>& prototype, const Backend& backend, const Dataset& train,
                             std::vector<int64_t> indices, uint64_t seed, int client)
    : procedure_(procedure), pipeline_(pipeline), backend_(backend), model_(prototype.Clone()),
      indices_(std::move(indices)), seed_(seed), client_(client) {
  ctx_.backend = &backend_;
  ctx_.model = model_.get();
  ctx_.data = &train;
  ctx_.seed = seed_;
  ctx_.indices = indices_;
}

Result<std::vector<uint8_t>> ClientRuntime::Run(const Task& task) {
  if (task.client != client_)
    return InvalidArgument("task " + std::to_string(task.task_id) + " is for client " + std::to_string(task.client) +
                           ", this is client " + std::to_string(client_));
  if (!task.model.params || static_cast<int64_t>(task.model.params->size()) != model_->num_params())
    return InvalidArgument("task " + std::to_string(task.task_id) + ": model size does not match this client's model (" +
                           std::to_string(model_->num_params()) + " parameters)");
  ASSIGN_OR_RETURN(ClientUpdate u, procedure_.Run(task, state_, ctx_));
  last_loss_ = u.train_loss;
  TransformContext tc{&backend_, &model_->layout(), seed_, task.round, client_, task.task_id};
  return pipeline_.Run(u, state_, tc);
}

}  // namespace shoal::client
