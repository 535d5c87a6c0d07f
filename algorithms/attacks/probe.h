// Attack probes: server-side observers of the updates a curious server
// receives, and the `attacks:` / `attack_defense:` scenario sections.
//
// ProbeStrategy decorates any Strategy: it remembers the global model each
// dispatched task carried (Task.model, keyed by task_id) and, for the rounds
// and clients some probe asked for, hands the observer exactly the decoded
// ClientResult the inner strategy is about to receive plus that model. It
// never sees client data; the campaign uses data only to score afterwards.
// Single-threaded like every Strategy.
//
// Scenario:
//   attacks:                      # list; each entry is one probe
//     - name: ig                  # idlg | analytic | dlg | ig | sme
//       id: ig_signed             # output name (default: name)
//       rounds: [1]               # rounds to attack (default: all)
//       clients: [0, 3]           # clients to attack (default: all)
//       max_updates: 16           # 0 = no limit
//       labels: recovered         # recovered (iDLG / bias counts) | true
//       psnr_threshold: 20
//       iterations: 2000, lr: 0.1, tv: 1e-4, signed: false, boxed: true, restarts: 1,
//       lr_decay: true, cost: cosine|l2, lambda_init: 0.5, lambda_lr: 0.001, history: 10
//   attack_defense:               # emulated client-side defence on the observed update
//     clip: 0                     # L2 clip C (0 = off)
//     noise_multiplier: 0         # Gaussian N(0, (z C)^2) per coordinate; needs clip > 0
//     topk_ratio: 0               # keep this fraction of largest-|.| coordinates (0 = off)
//     sketch_size: 0              # count sketch to this many buckets, seed known to the server (0 = off)
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/attacks/inversion.h"
#include "algorithms/strategy.h"
#include "core/config.h"

namespace shoal::attacks {

enum class AttackKind { kIdlg, kAnalytic, kDlg, kIg, kSme, kCount };
inline constexpr const char* kAttackNames[] = {"idlg", "analytic", "dlg", "ig", "sme"};
static_assert(std::size(kAttackNames) == static_cast<size_t>(AttackKind::kCount));

struct AttackSpec {
  AttackKind kind = AttackKind::kIg;
  std::string id;                // output name
  std::vector<int64_t> rounds;   // empty = all
  std::vector<int> clients;      // empty = all
  int max_updates = 0;           // >= 0; 0 = no limit
  bool true_labels = false;      // give the optimisation attacks the true labels
  double psnr_threshold = 20.0;  // dB, for the fraction-above score
  InversionOptions inversion;
  bool Wants(int64_t round, int client) const;
};

struct DefenseOptions {
  double clip = 0;              // >= 0
  double noise_multiplier = 0;  // >= 0; > 0 needs clip > 0
  double topk_ratio = 0;        // [0, 1]
  int64_t sketch_size = 0;      // >= 0
  bool active() const { return clip > 0 || noise_multiplier > 0 || topk_ratio > 0 || sketch_size > 0; }
};

struct AttackConfig {
  std::vector<AttackSpec> attacks;
  DefenseOptions defense;
};

// Reads and validates `attacks` and `attack_defense` of the scenario root
// (absent: no attacks). Errors carry file:line:key.
Result<AttackConfig> ParseAttackConfig(const ConfigNode& root);

// What a probe observes about one client update.
struct Observation {
  int64_t round = 0;
  int client = -1;
  uint64_t task_id = 0;
  std::shared_ptr<const std::vector<float>> model;  // Task.model the client started from
  ClientUpdate update;                              // as decoded by the server
};

class ProbeStrategy final : public Strategy {
 public:
  using Wanted = std::function<bool(int64_t round, int client)>;
  using Observer = std::function<void(Observation&&)>;
  ProbeStrategy(std::unique_ptr<Strategy> inner, Wanted wanted, Observer observer)
      : inner_(std::move(inner)), wanted_(std::move(wanted)), observer_(std::move(observer)) {}

  std::string name() const override { return inner_->name(); }
  Result<Actions> Start(ModelSnapshot initial, StrategyContext& ctx) override;
  Result<Actions> OnResult(ClientResult&& result, StrategyContext& ctx) override;
  Result<Actions> OnFailure(const ClientFailure& failure, StrategyContext& ctx) override;
  Result<Actions> OnWake(StrategyContext& ctx) override;
  const ModelSnapshot& global_model() const override { return inner_->global_model(); }
  int64_t rounds_done() const override { return inner_->rounds_done(); }
  int64_t total_rounds() const override { return inner_->total_rounds(); }
  int64_t state_bytes() const override { return inner_->state_bytes(); }
  void ReportMetrics(MetricsRow& row) const override { inner_->ReportMetrics(row); }

 private:
  Result<Actions> Remember(Result<Actions> actions);
  std::unique_ptr<Strategy> inner_;
  Wanted wanted_;
  Observer observer_;
  std::map<uint64_t, Task> pending_;  // dispatched tasks of wanted (round, client), by task_id
};

}  // namespace shoal::attacks
