// RoundStrategy: adapts the event-driven Strategy to synchronous rounds.
//
// Each round: select clients -> configure one task each -> stream results
// into Accept() in commit order -> Finish() computes the new global model.
// A round closes when every task has reported (result or failure), when
// `clients_per_round` results arrived under over-selection (the rest are
// cancelled), or when the deadline passes (stragglers are dropped; the round
// is aggregated if at least `min_results` arrived, otherwise the model stays).
// Subclasses implement only the math that differs.
#pragma once

#include <set>

#include "algorithms/strategy.h"
#include "algorithms/transforms/wire.h"
#include "core/config.h"

namespace shoal {

struct RoundOptions {
  int64_t rounds = 50;            // >= 1
  int clients_per_round = 10;     // >= 1 (capped at the number of clients)
  double over_selection = 0.0;    // select ceil(k * (1 + x)) and keep the first k results; >= 0
  double deadline_s = 0.0;        // virtual seconds per round; 0 = wait for all
  int min_results = 1;            // results needed to aggregate at the deadline; >= 1
  // Parses the shared keys of `strategy:`; errors are recorded in the node.
  static RoundOptions Parse(const ConfigNode& node);
};

class RoundStrategy : public Strategy {
 public:
  explicit RoundStrategy(RoundOptions opts) : opts_(opts) {}
  Result<Actions> Start(ModelSnapshot initial, StrategyContext& ctx) override;
  Result<Actions> OnResult(ClientResult&& result, StrategyContext& ctx) override;
  Result<Actions> OnFailure(const ClientFailure& failure, StrategyContext& ctx) override;
  Result<Actions> OnWake(StrategyContext& ctx) override;
  const ModelSnapshot& global_model() const override { return global_; }
  int64_t rounds_done() const override { return round_; }
  int64_t total_rounds() const override { return opts_.rounds; }
  const RoundOptions& round_options() const { return opts_; }
  // Results aggregated / failures seen in the last finished round.
  int last_round_results() const { return last_results_; }
  Status SaveState(std::vector<uint8_t>& out) const override;
  Status LoadState(std::span<const uint8_t> in) override;

 protected:
  // Clients for `round` (0-based). Default: uniform without replacement,
  // RngStream(seed, round, -1, kSelect).
  virtual std::vector<int> SelectClients(int64_t round, int count, StrategyContext& ctx);
  // Adds strategy instructions to a task (hparams, extras). Default: none.
  virtual void ConfigureTask(Task& /*task*/, StrategyContext& /*ctx*/) {}
  // Called before the first Accept of a round.
  virtual void BeginRound(StrategyContext& ctx) = 0;
  // Streams one result of the current round into the aggregate.
  virtual Status Accept(ClientResult&& result, StrategyContext& ctx) = 0;
  // Computes the next global model from the aggregate of `accepted` results
  // (>= 1). Returns the new parameters.
  virtual Result<std::vector<float>> Finish(int accepted, StrategyContext& ctx) = 0;
  const std::vector<float>& global_params() const { return *global_.params; }
  // Server-side state of the subclass kept across rounds (e.g. momentum) for
  // checkpoints. Default: none.
  virtual void SaveRoundState(wire::Writer& /*w*/) const {}
  virtual Status LoadRoundState(wire::Reader& /*r*/) { return Status::Ok(); }

 private:
  Result<Actions> StartRound(StrategyContext& ctx);
  Result<Actions> CloseRound(StrategyContext& ctx);

  RoundOptions opts_;
  ModelSnapshot global_;
  int64_t round_ = 0;          // rounds completed
  uint64_t next_task_id_ = 1;
  uint64_t round_first_task_id_ = 1;  // first task id of the open round (checkpoints)
  std::set<uint64_t> pending_; // tasks of the open round still expected
  int accepted_ = 0, target_ = 0, last_results_ = 0;
  bool open_ = false;
  int64_t deadline_at_us_ = -1;  // virtual time the open round's deadline fires
};

}  // namespace shoal
