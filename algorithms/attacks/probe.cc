#include "algorithms/attacks/probe.h"

#include <algorithm>

namespace shoal::attacks {

bool AttackSpec::Wants(int64_t round, int client) const {
  return (rounds.empty() || std::find(rounds.begin(), rounds.end(), round) != rounds.end()) &&
         (clients.empty() || std::find(clients.begin(), clients.end(), client) != clients.end());
}

namespace {

Result<AttackSpec> ParseSpec(const ConfigNode& n) {
  AttackSpec s;
  const std::string name = n.Require<std::string>(
      "name",
      [](const std::string& v) { return std::find(std::begin(kAttackNames), std::end(kAttackNames), v) != std::end(kAttackNames); },
      "one of idlg, analytic, dlg, ig, sme");
  RETURN_IF_ERROR(n.status());
  s.kind = static_cast<AttackKind>(std::find(std::begin(kAttackNames), std::end(kAttackNames), name) - std::begin(kAttackNames));
  s.id = n.Get<std::string>("id", name);
  for (int r : n.Get<std::vector<int>>("rounds", {})) s.rounds.push_back(r);
  s.clients = n.Get<std::vector<int>>("clients", {});
  s.max_updates = n.Get<int>("max_updates", 0, [](const int& v) { return v >= 0; }, ">= 0 (0 = no limit)");
  const std::string labels = n.Get<std::string>(
      "labels", "recovered", [](const std::string& v) { return v == "recovered" || v == "true"; }, "'recovered' or 'true'");
  s.true_labels = labels == "true";
  const std::string ls = n.Get<std::string>(
      "label_strategy", "auto",
      [](const std::string& v) {
        return v == "auto" || v == "idlg" || v == "bias" || v == "yin" || v == "llg" || v == "llg_whitebox";
      },
      "one of auto, idlg, bias, yin, llg, llg_whitebox");
  s.label_strategy = ls == "idlg"  ? LabelStrategy::kIdlg
                     : ls == "bias" ? LabelStrategy::kBias
                     : ls == "yin"  ? LabelStrategy::kYin
                     : ls == "llg"  ? LabelStrategy::kLlg
                     : ls == "llg_whitebox" ? LabelStrategy::kLlgWhitebox
                                    : LabelStrategy::kAuto;
  s.psnr_threshold = n.Get<double>("psnr_threshold", 20.0);
  s.normalize = n.Get<bool>("normalize", true);
  InversionOptions& o = s.inversion;
  const bool dlg = s.kind == AttackKind::kDlg, sme = s.kind == AttackKind::kSme;
  const std::string cost = n.Get<std::string>(
      "cost", dlg ? "l2" : "cosine", [](const std::string& v) { return v == "l2" || v == "cosine"; }, "'l2' or 'cosine'");
  o.cost = cost == "l2" ? MatchCost::kL2 : MatchCost::kCosine;
  o.iterations = n.Get<int>("iterations", dlg ? 300 : (sme ? 1000 : 4800), [](const int& v) { return v >= 1; }, ">= 1");
  o.lr = n.Get<double>("lr", sme ? 1.0 : 0.1, [](const double& v) { return v > 0; }, "> 0");
  o.tv = n.Get<double>("tv", sme ? 0.005 : (dlg ? 0.0 : 1e-4), [](const double& v) { return v >= 0; }, ">= 0");
  o.signed_grad = n.Get<bool>("signed", false);
  o.boxed = n.Get<bool>("boxed", true);
  o.lr_decay = n.Get<bool>("lr_decay", true);
  o.restarts = n.Get<int>("restarts", 1, [](const int& v) { return v >= 1; }, ">= 1");
  o.history = n.Get<int>("history", 10, [](const int& v) { return v >= 1; }, ">= 1");
  o.surrogate = sme;
  o.lambda_init = n.Get<double>("lambda_init", 0.5, [](const double& v) { return v >= 0 && v <= 1; }, "in [0, 1]");
  o.lambda_lr = n.Get<double>("lambda_lr", 0.001, [](const double& v) { return v > 0; }, "> 0");
  RETURN_IF_ERROR(n.status());
  return s;
}

}  // namespace

Result<AttackConfig> ParseAttackConfig(const ConfigNode& root) {
  AttackConfig c;
  if (root.Has("attacks") && !root.Child("attacks").is_sequence())
    return InvalidArgument(root.Where("attacks") + ": expected a list of attack probes");
  for (const ConfigNode& item : root.Items("attacks")) {
    ASSIGN_OR_RETURN(AttackSpec s, ParseSpec(item));
    c.attacks.push_back(std::move(s));
  }
  if (root.Has("attack_defense"))
    return InvalidArgument(root.Where("attack_defense") +
                           ": the emulated 'attack_defense' section was removed; put the defence in the clients' "
                           "real client.pipeline, e.g. [{name: local_noise, clip_norm: 0.1, noise_multiplier: 1}], "
                           "[{name: sketch, rows: 5000}] or [{name: topk, density: 0.01}] (the probe attacks the "
                           "update the server decodes)");
  RETURN_IF_ERROR(root.status());
  return c;
}

Result<Actions> ProbeStrategy::Remember(Result<Actions> actions) {
  if (actions.ok())
    for (const Task& t : actions->dispatch)
      if (wanted_(t.round, t.client)) pending_[t.task_id] = t;
  return actions;
}

Result<Actions> ProbeStrategy::Start(ModelSnapshot initial, StrategyContext& ctx) {
  return Remember(inner_->Start(std::move(initial), ctx));
}

Result<Actions> ProbeStrategy::OnResult(ClientResult&& result, StrategyContext& ctx) {
  if (auto it = pending_.find(result.task_id); it != pending_.end()) {
    observer_(Observation{result.round, result.client, result.task_id, it->second.model.params, result.update});
    pending_.erase(it);
  }
  return Remember(inner_->OnResult(std::move(result), ctx));
}

Result<Actions> ProbeStrategy::OnFailure(const ClientFailure& failure, StrategyContext& ctx) {
  pending_.erase(failure.task_id);
  return Remember(inner_->OnFailure(failure, ctx));
}

Result<Actions> ProbeStrategy::OnWake(StrategyContext& ctx) { return Remember(inner_->OnWake(ctx)); }

}  // namespace shoal::attacks
