#include "algorithms/round_strategy.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace shoal {

RoundOptions RoundOptions::Parse(const ConfigNode& n) {
  RoundOptions o;
  o.rounds = n.Get<int64_t>("rounds", o.rounds, [](const int64_t& v) { return v >= 1; }, ">= 1");
  o.clients_per_round = n.Get<int>("clients_per_round", o.clients_per_round, [](const int& v) { return v >= 1; }, ">= 1");
  o.over_selection = n.Get<double>("over_selection", 0.0, [](const double& v) { return v >= 0 && v <= 10; }, "in [0, 10]");
  o.deadline_s = n.Get<double>("deadline_s", 0.0, [](const double& v) { return v >= 0; }, ">= 0 (0 = no deadline)");
  o.min_results = n.Get<int>("min_results", 1, [](const int& v) { return v >= 1; }, ">= 1");
  return o;
}

std::vector<int> RoundStrategy::SelectClients(int64_t round, int count, StrategyContext& ctx) {
  const int n = ctx.num_clients();
  count = std::min(count, n);
  std::vector<int> ids(static_cast<size_t>(n));
  std::iota(ids.begin(), ids.end(), 0);
  RngStream rng(ctx.seed, round, -1, RngPurpose::kSelect);
  for (int i = 0; i < count; ++i) {  // partial Fisher-Yates
    int j = i + static_cast<int>(rng.NextBelow(static_cast<uint64_t>(n - i)));
    std::swap(ids[static_cast<size_t>(i)], ids[static_cast<size_t>(j)]);
  }
  ids.resize(static_cast<size_t>(count));
  return ids;
}

Result<Actions> RoundStrategy::Start(ModelSnapshot initial, StrategyContext& ctx) {
  global_ = std::move(initial);
  if (ctx.num_clients() == 0) return FailedPrecondition("no clients to train");
  return StartRound(ctx);
}

Result<Actions> RoundStrategy::StartRound(StrategyContext& ctx) {
  Actions a;
  if (round_ >= opts_.rounds) {
    a.done = true;
    return a;
  }
  target_ = std::min(opts_.clients_per_round, ctx.num_clients());
  int select = static_cast<int>(std::ceil(target_ * (1.0 + opts_.over_selection)));
  std::vector<int> clients = SelectClients(round_, select, ctx);
  round_first_task_id_ = next_task_id_;
  BeginRound(ctx);
  accepted_ = 0;
  pending_.clear();
  open_ = true;
  for (int c : clients) {
    Task t;
    t.task_id = next_task_id_++;
    t.round = round_;
    t.client = c;
    t.model = global_;
    ConfigureTask(t, ctx);
    pending_.insert(t.task_id);
    a.dispatch.push_back(std::move(t));
  }
  if (opts_.deadline_s > 0) {
    a.wake_after_us = static_cast<int64_t>(std::llround(opts_.deadline_s * 1e6));
    deadline_at_us_ = ctx.now_us + *a.wake_after_us;
  }
  return a;
}

Result<Actions> RoundStrategy::OnResult(ClientResult&& r, StrategyContext& ctx) {
  if (!open_ || r.round != round_ || !pending_.count(r.task_id)) return Actions{};  // late or stale: ignore
  pending_.erase(r.task_id);
  RETURN_IF_ERROR(Accept(std::move(r), ctx));
  ++accepted_;
  if (pending_.empty() || accepted_ >= target_) return CloseRound(ctx);
  return Actions{};
}

Result<Actions> RoundStrategy::OnFailure(const ClientFailure& f, StrategyContext& ctx) {
  if (!open_ || f.round != round_ || !pending_.count(f.task_id)) return Actions{};
  pending_.erase(f.task_id);
  if (pending_.empty()) return CloseRound(ctx);
  return Actions{};
}

Result<Actions> RoundStrategy::OnWake(StrategyContext& ctx) {
  // Only the deadline of the open round counts; timers of rounds that closed
  // early fire before it and are ignored.
  if (!open_ || deadline_at_us_ < 0 || ctx.now_us < deadline_at_us_) return Actions{};
  return CloseRound(ctx);
}

Result<Actions> RoundStrategy::CloseRound(StrategyContext& ctx) {
  Actions a;
  open_ = false;
  deadline_at_us_ = -1;
  a.cancel_tasks.assign(pending_.begin(), pending_.end());
  pending_.clear();
  last_results_ = accepted_;
  if (accepted_ >= opts_.min_results) {
    ASSIGN_OR_RETURN(std::vector<float> next, Finish(accepted_, ctx));
    global_.params = std::make_shared<const std::vector<float>>(std::move(next));
    ++global_.version;
  }
  ++round_;
  a.model_changed = true;  // a round ended: drivers evaluate/report even if no update was possible
  ASSIGN_OR_RETURN(Actions next_round, StartRound(ctx));
  a.Merge(std::move(next_round));
  return a;
}

namespace {
constexpr uint32_t kRoundStateMagic = 0x53524853;  // "SHRS"
}  // namespace

Status RoundStrategy::SaveState(std::vector<uint8_t>& out) const {
  if (!global_.params) return FailedPrecondition(name() + ": no global model to checkpoint before Start");
  wire::Writer w;
  w.Put<uint32_t>(kRoundStateMagic);
  w.Put<int64_t>(round_);
  w.Put<uint64_t>(open_ ? round_first_task_id_ : next_task_id_);
  w.Put<uint64_t>(global_.version);
  w.PutFloats(*global_.params);
  SaveRoundState(w);
  out.insert(out.end(), w.bytes().begin(), w.bytes().end());
  return Status::Ok();
}

Status RoundStrategy::LoadState(std::span<const uint8_t> in) {
  wire::Reader r(in);
  uint32_t magic = 0;
  RETURN_IF_ERROR(r.Get(&magic, "round state magic"));
  if (magic != kRoundStateMagic) return InvalidArgument(name() + " checkpoint: not a round-strategy state");
  int64_t round = 0;
  uint64_t next_task = 0, version = 0;
  std::vector<float> params;
  RETURN_IF_ERROR(r.Get(&round, "round"));
  RETURN_IF_ERROR(r.Get(&next_task, "next task id"));
  RETURN_IF_ERROR(r.Get(&version, "model version"));
  RETURN_IF_ERROR(r.GetFloats(&params, uint64_t{1} << 34, "global model"));
  if (round < 0 || next_task == 0) return InvalidArgument(name() + " checkpoint: bad round " + std::to_string(round));
  RETURN_IF_ERROR(LoadRoundState(r));
  RETURN_IF_ERROR(r.ExpectEnd());
  round_ = round;
  next_task_id_ = next_task;
  global_ = ModelSnapshot{version, std::make_shared<const std::vector<float>>(std::move(params))};
  open_ = false;
  pending_.clear();
  return Status::Ok();
}

}  // namespace shoal
