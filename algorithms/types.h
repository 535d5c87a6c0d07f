// Plain messages exchanged between a Strategy (server side) and a
// ClientProcedure (client side). Neither knows how they travel: the simulator
// passes them in memory, the gRPC layers encode them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace shoal {

// An immutable global-model snapshot shared by every task that sends it.
struct ModelSnapshot {
  uint64_t version = 0;  // number of server updates applied so far
  std::shared_ptr<const std::vector<float>> params;
};

// Work for one client.
struct Task {
  uint64_t task_id = 0;       // unique per run, assigned by the strategy
  int64_t round = 0;          // the strategy's round (sync) or model version (async)
  int client = -1;
  ModelSnapshot model;        // the model to start from
  // Strategy instructions as numbers (e.g. "lr_scale", "epochs"), so every
  // transport can carry them without knowing the strategy.
  std::map<std::string, double> hparams;
  // Strategy-specific vectors sent with the model (e.g. SCAFFOLD's server
  // control variate "c"). Shared: one copy for all tasks of a round.
  std::map<std::string, std::shared_ptr<const std::vector<float>>> extras;
  // The instruction `key`, or `def` when the strategy did not send it.
  double hparam(const std::string& key, double def) const {
    auto it = hparams.find(key);
    return it == hparams.end() ? def : it->second;
  }
};

// What a client computed.
struct ClientUpdate {
  std::vector<float> delta;    // y - x: local model minus the model it started from
  std::map<std::string, std::vector<float>> extras;  // e.g. SCAFFOLD "dc"
  int64_t num_samples = 0;     // training samples the client holds (aggregation weight)
  int64_t steps = 0;           // local optimizer steps actually taken
  double train_loss = 0;       // mean training loss over the local steps
  std::map<std::string, double> metrics;  // anything else worth reporting
};

// A decoded, validated result as the server sees it.
struct ClientResult {
  uint64_t task_id = 0;
  int64_t round = 0;
  int client = -1;
  uint64_t model_version = 0;  // version of the model the client started from
  ClientUpdate update;
  int64_t bytes_up = 0;        // encoded size of the upload
};

// A task that produced no usable result.
struct ClientFailure {
  uint64_t task_id = 0;
  int64_t round = 0;
  int client = -1;
  Status reason;  // e.g. DEADLINE_EXCEEDED, UNAVAILABLE (dropped), INVALID_ARGUMENT (rejected)
};

// What a strategy asks its driver to do after an event.
struct Actions {
  std::vector<Task> dispatch;              // send these tasks
  std::optional<int64_t> wake_after_us;    // call OnWake after this much (virtual) time
  std::vector<uint64_t> cancel_tasks;      // results of these tasks are no longer wanted
  bool model_changed = false;              // the global model was updated
  bool done = false;                       // training finished
  void Merge(Actions&& o);
};

// What a client keeps between rounds (personal model, control variate,
// error-feedback residual, optimizer state). Compact: empty for stateless
// procedures; the simulator stores one per client that has state.
struct ClientState {
  // Step-ahead error feedback (SA-PEF, Redie, Arablouei & Werner, TMLR 2026,
  // arXiv 2601.20738): an error-feedback compressor with `step_ahead: alpha`
  // keeps its residual e under kPreviewKey and alpha under kPreviewScaleKey;
  // the client's next local training then starts from x + alpha * e and
  // measures its change from that start (FedAvgClient::TrainLocally).
  static constexpr const char* kPreviewKey = "ef.preview";
  static constexpr const char* kPreviewScaleKey = "ef.preview_scale";

  std::map<std::string, std::vector<float>> tensors;
  std::map<std::string, double> scalars;
  bool empty() const { return tensors.empty() && scalars.empty(); }
  int64_t bytes() const;
};

}  // namespace shoal
