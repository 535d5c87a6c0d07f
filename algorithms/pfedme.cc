#include "algorithms/pfedme.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace shoal {
namespace {
constexpr char kPersonal[] = "pfedme.personal";
}  // namespace

PFedMeOptions PFedMeOptions::Parse(const ConfigNode& s, const ConfigNode& c) {
  PFedMeOptions o;
  auto positive = [](const double& v) { return v > 0 && std::isfinite(v); };
  auto at_least_one = [](const int& v) { return v >= 1; };
  auto one_of = [](std::vector<std::string> names) {
    return [names](const std::string& v) { return std::find(names.begin(), names.end(), v) != names.end(); };
  };
  o.lambda = s.Get<double>("lambda", o.lambda, positive, "> 0");
  o.personal_lr = s.Get<double>("personal_lr", o.personal_lr, positive, "> 0");
  o.inner_steps = s.Get<int>("inner_steps", o.inner_steps, at_least_one, ">= 1");
  o.local_rounds = s.Get<int>("local_rounds", o.local_rounds, at_least_one, ">= 1");
  o.beta = s.Get<double>("beta", o.beta, [](const double& v) { return v > 0 && v <= 2; }, "in (0, 2]");
  o.inner_l2 = s.Get<double>("inner_l2", 0.0, [](const double& v) { return v >= 0; }, ">= 0");
  o.uniform_weighting = s.Get<std::string>("weighting", "uniform", one_of({"uniform", "samples"}),
                                           "'uniform' or 'samples'") == "uniform";
  o.eval_local_w = s.Get<std::string>("personal_eval", "theta", one_of({"theta", "local_w"}),
                                      "'theta' or 'local_w'") == "local_w";
  o.reset_theta = s.Get<std::string>("theta_init", "warm", one_of({"warm", "reset"}), "'warm' or 'reset'") == "reset";
  o.train_all = s.Get<std::string>("local_updates", "all", one_of({"all", "sampled"}), "'all' or 'sampled'") == "all";
  o.precision = s.Get<std::string>("state_precision", "f32", one_of({"f32", "bf16"}), "'f32' or 'bf16'") == "bf16"
                    ? StatePrecision::kBf16
                    : StatePrecision::kF32;
  o.batch_size = c.Get<int>("batch_size", o.batch_size, at_least_one, ">= 1");
  o.lr = c.Get<double>("lr", o.lr, positive, "> 0");
  return o;
}

namespace {
RoundOptions TrainingRound(RoundOptions r, bool train_all) {
  if (train_all) {  // dispatch to every client; S_t is drawn separately
    r.clients_per_round = 1 << 30;
    r.over_selection = 0;
  }
  return r;
}
FedAvgOptions ServerMix(const PFedMeOptions& o) {
  FedAvgOptions f;
  f.server_lr = o.beta;
  f.uniform_weighting = o.uniform_weighting;
  return f;
}
}  // namespace

PFedMeStrategy::PFedMeStrategy(RoundOptions round, const PFedMeOptions& opts)
    : FedAvgStrategy(TrainingRound(round, opts.train_all), ServerMix(opts)),
      train_all_(opts.train_all),
      aggregate_count_(round.clients_per_round) {}

std::vector<int> PFedMeStrategy::SelectClients(int64_t round, int count, StrategyContext& ctx) {
  if (!train_all_) return FedAvgStrategy::SelectClients(round, count, ctx);
  std::vector<int> all(static_cast<size_t>(ctx.num_clients()));
  std::iota(all.begin(), all.end(), 0);
  return all;
}

void PFedMeStrategy::BeginRound(StrategyContext& ctx) {
  FedAvgStrategy::BeginRound(ctx);
  aggregated_.clear();
  if (train_all_) {
    // S_t: uniform without replacement, the same stream plain selection uses.
    for (int c : FedAvgStrategy::SelectClients(rounds_done(), aggregate_count_, ctx)) aggregated_.insert(c);
  }
}

Status PFedMeStrategy::Accept(ClientResult&& r, StrategyContext& ctx) {
  if (train_all_ && !aggregated_.count(r.client)) return Status::Ok();  // trained for itself only
  return FedAvgStrategy::Accept(std::move(r), ctx);
}

Result<ClientUpdate> PFedMeClient::Run(const Task& task, ClientState& state, TrainContext& ctx) const {
  const std::vector<float>& x = *task.model.params;
  const Backend& be = *ctx.backend;
  const float lambda = static_cast<float>(opts_.lambda), plr = static_cast<float>(opts_.personal_lr);
  const float mix = static_cast<float>(opts_.lr * opts_.lambda);
  std::vector<float> w(x);
  ctx.params.assign(x.begin(), x.end());  // theta
  ctx.grad.resize(x.size());
  std::span<float> theta(ctx.params), grad(ctx.grad);
  MinibatchStream batches(ctx.indices, opts_.batch_size, ctx.seed, task.round, task.client);
  double loss_sum = 0;
  int64_t evals = 0;
  for (int r = 0; r < opts_.local_rounds && !ctx.indices.empty(); ++r) {
    std::span<const int64_t> batch = batches.Next();
    if (opts_.reset_theta) std::copy(w.begin(), w.end(), theta.begin());
    for (int k = 0; k < opts_.inner_steps; ++k) {
      loss_sum += BatchLossAndGrad(ctx, theta, batch, grad);
      ++evals;
      be.Axpy(lambda + static_cast<float>(opts_.inner_l2), theta, grad);  // + lambda theta + l2 theta
      be.Axpy(-lambda, w, grad);                                          // - lambda w
      be.SgdStep(plr, grad, theta);
    }
    be.Scale(1.0f - mix, w);  // w <- w - eta lambda (w - theta)
    be.Axpy(mix, theta, w);
  }
  PutStateTensor(state, kPersonal, opts_.eval_local_w ? std::span<const float>(w) : std::span<const float>(theta),
                 opts_.precision);
  ClientUpdate u;
  u.delta = std::move(w);
  be.Axpy(-1.0f, x, u.delta);
  u.num_samples = static_cast<int64_t>(ctx.indices.size());
  u.steps = evals;
  u.train_loss = evals > 0 ? loss_sum / static_cast<double>(evals) : 0.0;
  return u;
}

double PFedMeClient::PlannedWork(const Task&, int64_t n) const {
  return static_cast<double>(std::min<int64_t>(n, opts_.batch_size)) * opts_.local_rounds * opts_.inner_steps;
}

bool PFedMeClient::PersonalModel(const ClientState& state, std::span<const float>, std::span<float> out) const {
  return GetStateTensor(state, kPersonal, out);
}

}  // namespace shoal
