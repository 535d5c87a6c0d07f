// CentralDp: DP-FedAvg (McMahan et al. 2018) with adaptive clipping (Andrew
// et al. 2021) as a strategy decorator; see dp_fedavg.h for the estimator,
// the hold-and-forward protocol and the accounting.
#include "algorithms/privacy/dp_fedavg.h"

#include <algorithm>
#include <cmath>

namespace shoal::privacy {

Result<CentralDpOptions> CentralDpOptions::Parse(const ConfigNode& n) {
  CentralDpOptions o;
  const std::string level = n.Get<std::string>(
      "level", "central_client",
      [](const std::string& v) { return v == "central_client" || v == "central_example" || v == "local"; },
      "'central_client', 'central_example' or 'local'");
  for (int i = 0; i < static_cast<int>(DpLevel::kCount); ++i)
    if (level == kDpLevelNames[i]) o.level = static_cast<DpLevel>(i);
  o.noise_multiplier = n.Get<double>("noise_multiplier", 1.0, [](const double& v) { return v >= 0 && std::isfinite(v); },
                                     ">= 0");
  o.adaptive_clipping = n.Get<bool>("adaptive_clipping", false);
  o.clip_norm = n.Get<double>("clip_norm", o.adaptive_clipping ? 0.1 : 1.0,
                              [](const double& v) { return v > 0 && std::isfinite(v); }, "> 0");
  o.fixed_denominator = n.Get<std::string>("estimator", "fixed",
                                           [](const std::string& v) { return v == "fixed" || v == "clipped"; },
                                           "'fixed' or 'clipped'") == "fixed";
  o.weight_cap = n.Get<double>("weight_cap", 0.0, [](const double& v) { return v >= 0; }, ">= 0 (0 = uniform weights)");
  o.min_weight_fraction = n.Get<double>("min_weight_fraction", 1.0, [](const double& v) { return v > 0 && v <= 1; },
                                        "in (0, 1]");
  o.target_quantile = n.Get<double>("target_quantile", 0.5, [](const double& v) { return v > 0 && v < 1; }, "in (0, 1)");
  o.clip_lr = n.Get<double>("clip_lr", 0.2, [](const double& v) { return v > 0; }, "> 0");
  o.bits_noise = n.Get<double>("bits_noise", 0.0, [](const double& v) { return v >= 0; }, ">= 0 (0 = m/20)");
  o.delta = n.Get<double>("delta", 1e-5, [](const double& v) { return v > 0 && v < 1; }, "in (0, 1)");
  o.budget_epsilon = n.Get<double>("budget_epsilon", 0.0, [](const double& v) { return v >= 0; }, ">= 0 (0 = no budget)");
  o.stop_at_budget = n.Get<bool>("stop_at_budget", false);
  RETURN_IF_ERROR(n.status());
  return o;
}

CentralDp::CentralDp(std::unique_ptr<Strategy> inner, CentralDpOptions opts, AccountingFn accounting)
    : inner_(std::move(inner)), opts_(opts), accounting_(std::move(accounting)), clip_(opts.clip_norm) {}

Status CentralDp::SetUpAccounting(const StrategyContext& ctx, int dispatched) {
  setup_ = true;
  const double z = opts_.noise_multiplier;
  if (accounting_) {
    ASSIGN_OR_RETURN(per_round_, accounting_(ctx, dispatched));
  } else {
    per_round_.sample_rate = static_cast<double>(dispatched) / std::max(ctx.num_clients(), 1);
    RETURN_IF_ERROR(ValidateMechanism(z, per_round_.sample_rate, 1));
    for (double a : accountant_.orders()) per_round_.rdp.push_back(RdpPoissonGaussian(per_round_.sample_rate, z, a));
  }
  z_update_ = z;
  if (opts_.level == DpLevel::kCentralClient && opts_.adaptive_clipping && z > 0) {
    sigma_bits_ = opts_.bits_noise > 0 ? opts_.bits_noise : dispatched / 20.0;
    if (!(2 * sigma_bits_ > z))
      return InvalidArgument("strategy.dp.bits_noise: adaptive clipping needs 2*sigma_b > noise_multiplier (" +
                             std::to_string(z) + "), got sigma_b = " + std::to_string(sigma_bits_));
    z_update_ = std::pow(1 / (z * z) - 1 / (4 * sigma_bits_ * sigma_bits_), -0.5);
  }
  if (opts_.budget_epsilon <= 0) return Status::Ok();
  auto eps_after = [&](int64_t rounds) {
    std::vector<double> total(per_round_.rdp.size());
    for (size_t i = 0; i < total.size(); ++i) total[i] = static_cast<double>(rounds) * per_round_.rdp[i];
    return rounds == 0 ? 0.0 : EpsilonFromRdp(accountant_.orders(), total, opts_.delta).epsilon;
  };
  const int64_t planned = inner_->total_rounds();
  const double projected = eps_after(planned);
  if (projected <= opts_.budget_epsilon) return Status::Ok();
  const std::string what = std::to_string(planned) + " rounds at noise_multiplier " + std::to_string(z) +
                           ", sample rate " + std::to_string(per_round_.sample_rate) + " give epsilon " +
                           std::to_string(projected) + " at delta " + std::to_string(opts_.delta) +
                           ", above strategy.dp.budget_epsilon = " + std::to_string(opts_.budget_epsilon);
  if (!opts_.stop_at_budget)
    return FailedPrecondition("privacy budget exceeded before the run starts: " + what +
                              "; raise noise_multiplier, lower rounds, or set strategy.dp.stop_at_budget: true");
  int64_t lo = 0, hi = planned;  // eps_after(lo) <= budget < eps_after(hi)
  while (hi - lo > 1) {
    const int64_t mid = (lo + hi) / 2;
    (eps_after(mid) <= opts_.budget_epsilon ? lo : hi) = mid;
  }
  if (lo == 0) return FailedPrecondition("privacy budget too small for a single round: " + what);
  max_rounds_ = lo;
  return Status::Ok();
}

Result<Actions> CentralDp::Start(ModelSnapshot initial, StrategyContext& ctx) {
  total_weight_ = 0;
  for (int64_t n : ctx.client_samples)
    total_weight_ += opts_.weight_cap > 0 ? std::min(static_cast<double>(n) / opts_.weight_cap, 1.0) : 1.0;
  auto first = inner_->Start(std::move(initial), ctx);
  if (!first.ok()) return first;
  RETURN_IF_ERROR(SetUpAccounting(ctx, static_cast<int>(first->dispatch.size())));
  return Track(std::move(first), ctx);
}

Result<Actions> CentralDp::Track(Result<Actions> r, const StrategyContext& ctx) {
  if (!r.ok()) return r;
  Actions a = std::move(r).value();
  if (opts_.level != DpLevel::kCentralClient)  // accounting only: one event per closed round
    for (; released_ < inner_->rounds_done(); ++released_) accountant_.AddRdp(per_round_.rdp);
  if (inner_->rounds_done() >= max_rounds_ && !a.done) {
    a.dispatch.clear();
    a.wake_after_us.reset();
    a.done = true;  // the budget is spent: the next round would exceed it
    return a;
  }
  if (!a.dispatch.empty()) {
    open_.clear();
    for (const Task& t : a.dispatch) open_.insert(t.task_id);
    dispatched_ = static_cast<int>(a.dispatch.size());
    deadline_at_us_ = a.wake_after_us ? ctx.now_us + *a.wake_after_us : -1;
  }
  return a;
}

Result<Actions> CentralDp::OnResult(ClientResult&& r, StrategyContext& ctx) {
  if (opts_.level != DpLevel::kCentralClient || !open_.erase(r.task_id))
    return Track(inner_->OnResult(std::move(r), ctx), ctx);  // pass-through, or stale (ignored inside)
  const double n = static_cast<double>(r.update.num_samples);
  held_weights_.push_back(opts_.weight_cap > 0 ? std::min(n / opts_.weight_cap, 1.0) : 1.0);
  const double norm = ctx.backend->ClipByNorm(r.update.delta, clip_);
  if (norm <= clip_) ++held_unclipped_;
  held_.push_back(std::move(r));
  if (open_.empty()) return Flush(ctx);
  return Actions{};
}

Result<Actions> CentralDp::OnFailure(const ClientFailure& f, StrategyContext& ctx) {
  const bool ours = opts_.level == DpLevel::kCentralClient && open_.erase(f.task_id) > 0;
  ASSIGN_OR_RETURN(Actions a, Track(inner_->OnFailure(f, ctx), ctx));
  if (ours && open_.empty() && !held_.empty()) {
    ASSIGN_OR_RETURN(Actions b, Flush(ctx));
    a.Merge(std::move(b));
  }
  return a;
}

Result<Actions> CentralDp::OnWake(StrategyContext& ctx) {
  Actions a;
  if (!held_.empty() && deadline_at_us_ >= 0 && ctx.now_us >= deadline_at_us_) {
    open_.clear();  // stragglers will be dropped by the wrapped strategy
    ASSIGN_OR_RETURN(a, Flush(ctx));
  }
  ASSIGN_OR_RETURN(Actions b, Track(inner_->OnWake(ctx), ctx));
  a.Merge(std::move(b));
  return a;
}

Result<Actions> CentralDp::Flush(StrategyContext& ctx) {
  const Backend& be = *ctx.backend;
  const double held = static_cast<double>(held_.size()), q = per_round_.sample_rate;
  double wsum = 0;
  for (double w : held_weights_) wsum += w;
  double denom, sum_noise_std;
  if (opts_.fixed_denominator) {
    denom = q * total_weight_;
    sum_noise_std = z_update_ * clip_;  // sensitivity of the weighted sum is C (w_k <= 1)
  } else {
    const double w_min = opts_.min_weight_fraction * total_weight_;
    denom = std::max(q * w_min, wsum);
    sum_noise_std = denom * 2 * z_update_ * clip_ / (q * w_min);  // estimator sensitivity 2C/(q W_min)
  }
  const RngStream rng(ctx.seed, held_.front().round, -1, RngPurpose::kNoise);
  std::vector<float> noise(held_.front().update.delta.size());
  be.GaussianFill(rng.key(), 0, 0.0f, static_cast<float>(sum_noise_std), noise);
  for (size_t i = 0; i < held_.size(); ++i) {
    // The wrapped strategy averages the forwarded deltas: scaling each by
    // held/denom makes that mean (sum_k w_k clip(D_k) + noise) / denom.
    const double s = held / denom;
    be.Scale(static_cast<float>(s * held_weights_[i]), held_[i].update.delta);
    if (i == 0) be.Axpy(static_cast<float>(s), noise, held_[i].update.delta);
    held_[i].update.num_samples = 1;
  }
  if (opts_.adaptive_clipping) {
    float bit_noise = 0;
    be.GaussianFill(rng.key(), noise.size(), 0.0f, static_cast<float>(sigma_bits_), std::span<float>(&bit_noise, 1));
    const double centred = held_unclipped_ - 0.5 * held + bit_noise;
    last_quantile_ = std::clamp(centred / std::max(dispatched_, 1) + 0.5, 0.0, 1.0);
    clip_ *= std::exp(-opts_.clip_lr * (last_quantile_ - opts_.target_quantile));
  }
  accountant_.AddRdp(per_round_.rdp);
  ++released_;
  std::vector<ClientResult> results = std::move(held_);
  held_.clear();
  held_weights_.clear();
  held_unclipped_ = 0;
  Actions out;
  for (ClientResult& r : results) {
    auto a = inner_->OnResult(std::move(r), ctx);
    if (!a.ok()) return a.status();
    out.Merge(std::move(a).value());
  }
  return Track(std::move(out), ctx);
}

double CentralDp::epsilon() const {
  if (released_ == 0) return 0;
  return accountant_.Epsilon(opts_.delta).epsilon;
}

void CentralDp::ReportMetrics(MetricsRow& row) const {
  inner_->ReportMetrics(row);
  row.Set("epsilon", epsilon());
  row.Set("dp_delta", opts_.delta);
  row.Set("dp_level", std::string(kDpLevelNames[static_cast<int>(opts_.level)]));
  if (max_rounds_ < inner_->total_rounds()) row.Set("dp_budget_rounds", max_rounds_);  // stop_at_budget shortened the run
  if (opts_.level != DpLevel::kCentralClient) return;
  row.Set("dp_clip_norm", clip_);
  row.Set("dp_noise_multiplier", z_update_);
  if (opts_.adaptive_clipping && last_quantile_ >= 0) row.Set("dp_unclipped_fraction", last_quantile_);
}

}  // namespace shoal::privacy
