// Strategy: the server side of a federated algorithm, as a state machine fed
// by events (sans-I/O: no clock, no threads, no sockets).
//
// A driver (simulator or gRPC server) calls Start once, then one of
// OnResult / OnFailure / OnWake per event, always from one thread, and carries
// out the returned Actions. Results arrive decoded and validated (finite
// values, right sizes). Time is virtual microseconds in StrategyContext.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "algorithms/types.h"
#include "core/metrics.h"
#include "core/backend.h"
#include "core/param.h"
#include "core/rng.h"

namespace shoal {

// What a strategy may know about the world; owned by the driver.
struct StrategyContext {
  const Backend* backend = nullptr;       // must outlive the strategy call
  const ParamLayout* layout = nullptr;
  std::vector<int64_t> client_samples;    // train samples per client (index = client id)
  uint64_t seed = 0;
  int64_t now_us = 0;                     // virtual time of the event
  int num_clients() const { return static_cast<int>(client_samples.size()); }
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  // Called once with the initial global model.
  virtual Result<Actions> Start(ModelSnapshot initial, StrategyContext& ctx) = 0;
  virtual Result<Actions> OnResult(ClientResult&& result, StrategyContext& ctx) = 0;
  virtual Result<Actions> OnFailure(const ClientFailure& failure, StrategyContext& ctx) = 0;
  virtual Result<Actions> OnWake(StrategyContext& ctx) = 0;
  virtual const ModelSnapshot& global_model() const = 0;
  // Completed server rounds (sync) or model updates (async).
  virtual int64_t rounds_done() const = 0;
  // Total rounds (or server updates) the run is configured for.
  virtual int64_t total_rounds() const = 0;
  // Bytes of server-side strategy state beyond the global model (reporting).
  virtual int64_t state_bytes() const { return 0; }
  // Adds strategy-specific fields to the metrics row of the round that just
  // closed (e.g. epsilon spent, buffer fill). Default: none.
  virtual void ReportMetrics(MetricsRow& /*row*/) const {}
  // Checkpointing, called between events: SaveState appends the state needed
  // to continue (round counter, global model, server optimizer state) to
  // `out`; LoadState restores it into a freshly built strategy, after which
  // Start(global_model(), ctx) reopens the interrupted round exactly as it was
  // first opened. Default: not supported (Unimplemented). The server probes
  // SaveState once before Start to learn whether checkpoints are supported:
  // before Start it must return an error, not crash.
  virtual Status SaveState(std::vector<uint8_t>& /*out*/) const {
    return Unimplemented("strategy '" + name() + "' does not support checkpoints");
  }
  virtual Status LoadState(std::span<const uint8_t> /*in*/) {
    return Unimplemented("strategy '" + name() + "' does not support checkpoints");
  }
};

}  // namespace shoal
