// Attack probes: server-side observers of the updates a curious server
// receives, and the `attacks:` scenario section.
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
//       labels: recovered         # recovered (see label_strategy) | true
//       label_strategy: auto      # auto (iDLG for one image, bias-corrected counts for batches)
//                                 # | idlg | bias | yin | llg | llg_whitebox (label_recovery.h)
//       psnr_threshold: 20
//       iterations: 2000, lr: 0.1, tv: 1e-4, signed: false, boxed: true, restarts: 1,
//       lr_decay: true, cost: cosine|l2, lambda_init: 0.5, lambda_lr: 0.001, history: 10
//       normalize: true           # IG / SME optimise z = (x - mean) / std with the
//                                 # held-out test set's per-channel mean / std (as both papers)
// Defences are the clients' real `client.pipeline` (clip, local_noise,
// sketch, topk, ...): the probe attacks the update the server decodes. The
// old emulated `attack_defense:` section is rejected with that hint.
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
enum class LabelStrategy { kAuto, kIdlg, kBias, kYin, kLlg, kLlgWhitebox };
inline constexpr const char* kAttackNames[] = {"idlg", "analytic", "dlg", "ig", "sme"};
static_assert(std::size(kAttackNames) == static_cast<size_t>(AttackKind::kCount));

struct AttackSpec {
  AttackKind kind = AttackKind::kIg;
  std::string id;                // output name
  std::vector<int64_t> rounds;   // empty = all
  std::vector<int> clients;      // empty = all
  int max_updates = 0;           // >= 0; 0 = no limit
  bool true_labels = false;      // give the optimisation attacks the true labels
  LabelStrategy label_strategy = LabelStrategy::kAuto;
  double psnr_threshold = 20.0;  // dB, for the fraction-above score
  bool normalize = true;         // IG / SME: optimise in normalised coordinates
  InversionOptions inversion;
  bool Wants(int64_t round, int client) const;
};

struct AttackConfig {
  std::vector<AttackSpec> attacks;
};

// Reads and validates `attacks` of the scenario root (absent: no attacks);
// rejects the removed `attack_defense` section. Errors carry file:line:key.
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
