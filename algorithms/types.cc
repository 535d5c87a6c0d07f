#include "algorithms/types.h"

namespace shoal {

void Actions::Merge(Actions&& o) {
  for (auto& t : o.dispatch) dispatch.push_back(std::move(t));
  for (auto id : o.cancel_tasks) cancel_tasks.push_back(id);
  if (o.wake_after_us && (!wake_after_us || *o.wake_after_us < *wake_after_us)) wake_after_us = o.wake_after_us;
  model_changed = model_changed || o.model_changed;
  done = done || o.done;
}

int64_t ClientState::bytes() const {
  int64_t b = 0;
  for (const auto& [k, v] : tensors) b += static_cast<int64_t>(v.size() * sizeof(float));
  return b + static_cast<int64_t>(scalars.size() * sizeof(double));
}

}  // namespace shoal
