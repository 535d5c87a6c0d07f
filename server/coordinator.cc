#include "server/coordinator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "core/finite.h"
#include "server/checkpoint.h"

namespace shoal::server {
namespace {

constexpr uint64_t kLivenessToken = 0;  // timer token of the client-timeout sweep


int64_t TaskBytes(const Task& t) {
  int64_t b = t.model.params ? static_cast<int64_t>(t.model.params->size() * sizeof(float)) : 0;
  for (const auto& [k, v] : t.extras) b += static_cast<int64_t>(v->size() * sizeof(float));
  return b;
}

}  // namespace

Coordinator::Coordinator(CoordinatorOptions opts, Algorithm& algorithm, const Backend& backend,
                         const ParamLayout& layout, std::vector<int64_t> client_samples, ClientLink& link,
                         Clock& clock, Timers& timers, MetricsSink& sink, Evaluator evaluate)
    : opts_(std::move(opts)), algorithm_(algorithm), layout_(layout), link_(link), clock_(clock), timers_(timers),
      sink_(sink), evaluate_(std::move(evaluate)) {
  sctx_.backend = &backend;
  sctx_.layout = &layout;
  sctx_.seed = opts_.seed;
  sctx_.client_samples = std::move(client_samples);
}

std::string Coordinator::Who(int client, int64_t round) const {
  return "client " + std::to_string(client) + " round " + std::to_string(round);
}

Status Coordinator::Init(std::vector<float> initial, bool resume) {
  if (static_cast<int64_t>(initial.size()) != layout_.total_size())
    return InvalidArgument("initial model has " + std::to_string(initial.size()) + " parameters, expected " +
                           std::to_string(layout_.total_size()));
  initial_ = std::move(initial);
  resume_ = resume;
  // Checkpoint support is known before the first round: a strategy without
  // it (SaveState unimplemented, e.g. FedBuff) cannot be resumed, and its
  // checkpoint directory is ignored, said once at start-up.
  std::vector<uint8_t> probe;
  if (algorithm_.strategy->SaveState(probe).code() == StatusCode::kUnimplemented) {
    const std::string why = "strategy '" + algorithm_.strategy->name() + "' does not support checkpoints";
    if (resume)
      return FailedPrecondition("--resume: " + why + ", so there is no state to resume from; run without --resume");
    if (!opts_.checkpoint_dir.empty()) {
      spdlog::warn("checkpoint.dir {} is ignored: {} (a restarted server begins at round 0)", opts_.checkpoint_dir,
                   why);
      opts_.checkpoint_dir.clear();
    }
  }
  if (resume && !opts_.checkpoint_dir.empty()) {
    Status st = LoadCheckpoint(opts_.checkpoint_dir, *algorithm_.strategy, opts_.seed);
    if (st.code() == StatusCode::kNotFound) {
      spdlog::warn("--resume: no checkpoint in {}; starting from round 0", opts_.checkpoint_dir);
      resume_ = false;
    } else {
      RETURN_IF_ERROR(st);
      spdlog::info("resumed from {} at round {}", CheckpointPath(opts_.checkpoint_dir),
                   algorithm_.strategy->rounds_done());
    }
  }
  start_us_ = clock_.NowUs();
  if (opts_.client_timeout_us > 0) timers_.Arm(opts_.client_timeout_us / 2 + 1, kLivenessToken);
  return Status::Ok();
}

Status Coordinator::Join(int client, int64_t num_samples) {
  if (client < 0 || client >= sctx_.num_clients())
    return InvalidArgument("client " + std::to_string(client) + ": id out of range [0, " +
                           std::to_string(sctx_.num_clients()) + ")");
  const int64_t expected = sctx_.client_samples[static_cast<size_t>(client)];
  if (num_samples != expected)
    return FailedPrecondition("client " + std::to_string(client) + ": registered with " + std::to_string(num_samples) +
                              " samples, the server's partition gives it " + std::to_string(expected) +
                              " (different scenario, seed or data?)");
  joined_.insert(client);
  Seen(client);
  // A client that re-joins gets its open tasks again.
  for (const auto& [id, f] : inflight_)
    if (f.task->client == client) link_.Send(f.task);
  const int need = opts_.min_clients > 0 ? opts_.min_clients : sctx_.num_clients();
  if (!started_ && static_cast<int>(joined_.size()) >= need) return StartTraining();
  return Status::Ok();
}

void Coordinator::Seen(int client) { last_seen_us_[client] = clock_.NowUs(); }

Status Coordinator::StartTraining() {
  started_ = true;
  sctx_.now_us = clock_.NowUs();
  Strategy& s = *algorithm_.strategy;
  ModelSnapshot init = resume_ ? s.global_model()
                               : ModelSnapshot{0, std::make_shared<const std::vector<float>>(std::move(initial_))};
  std::vector<float>().swap(initial_);  // moved into the snapshot: no second copy of the model
  spdlog::info("training starts: {} clients joined, strategy {}, round {}/{}", joined_.size(), s.name(),
               s.rounds_done(), s.total_rounds());
  return Carry(s.Start(std::move(init), sctx_));
}

Status Coordinator::Carry(Result<Actions> result) {
  if (!result.ok()) return result.status().WithContext("strategy " + algorithm_.strategy->name());
  Actions a = std::move(result).value();
  for (uint64_t id : a.cancel_tasks) Forget(id);
  if (a.model_changed) {
    // Checkpoint before reporting: a round that shows up in the metrics is
    // never lost to a crash.
    const int64_t r = rounds_done();
    if (!opts_.checkpoint_dir.empty() && (r % opts_.checkpoint_every == 0 || a.done)) {
      Status st = WriteCheckpoint();
      if (st.code() == StatusCode::kUnimplemented) {
        // A strategy without SaveState (e.g. FedBuff): serve on, uncheckpointed.
        spdlog::warn("{}; checkpoints are off for this run", st.message());
        opts_.checkpoint_dir.clear();
      } else {
        RETURN_IF_ERROR(st);
      }
    }
    Report();
  }
  for (Task& t : a.dispatch) {
    auto task = std::make_shared<const Task>(std::move(t));
    const int64_t n = sctx_.client_samples[static_cast<size_t>(task->client)];
    // The simulator's arrival time under its default profile (no latency,
    // infinite bandwidth, `samples_per_second` compute): dispatched at the
    // virtual time of the event that produced the task, done that much later.
    // Its commit order; with the dispatch time, asynchronous strategies
    // (FedBuff) replay the simulator's interleaving too.
    const double secs = algorithm_.procedure->PlannedWork(*task, n) / opts_.samples_per_second;
    InFlight f{task, {0, 0}};
    f.order = {virtual_now_us_ + static_cast<int64_t>(std::llround(secs * 1e6)), dispatch_seq_++};
    order_.insert({f.order, task->task_id});
    inflight_.emplace(task->task_id, f);
    bytes_down_ += TaskBytes(*task);
    spdlog::debug("round {}: task {} -> client {}", task->round, task->task_id, task->client);
    link_.Send(task);
  }
  if (a.wake_after_us) timers_.Arm(*a.wake_after_us, next_timer_++);
  if (a.done && !done_) {
    done_ = true;
    spdlog::info("training finished after {} rounds", rounds_done());
    link_.Finish();
  }
  return Status::Ok();
}

void Coordinator::Forget(uint64_t task_id) {
  auto it = inflight_.find(task_id);
  if (it == inflight_.end()) return;
  order_.erase({it->second.order, task_id});
  buffer_.erase(task_id);
  link_.Withdraw(it->second.task->client, task_id);
  inflight_.erase(it);
}

Status Coordinator::Admit(int client, int64_t round, uint64_t task_id, int64_t total_bytes) const {
  if (!joined_.count(client))
    return FailedPrecondition("client " + std::to_string(client) + " is not registered; call Register first");
  if (received_.count(task_id))
    return AlreadyExists(Who(client, round) + ": a result for task " + std::to_string(task_id) +
                         " was already received");
  auto it = inflight_.find(task_id);
  if (it == inflight_.end() || it->second.task->client != client)
    return FailedPrecondition(Who(client, round) + ": task " + std::to_string(task_id) +
                              " is not open for this client (server at round " + std::to_string(rounds_done()) + ")");
  if (it->second.task->round != round)
    return FailedPrecondition(Who(client, round) + ": wrong round for task " + std::to_string(task_id) +
                              ", expected round " + std::to_string(it->second.task->round));
  if (total_bytes < 0 || (opts_.max_update_bytes > 0 && total_bytes > opts_.max_update_bytes))
    return ResourceExhausted(Who(client, round) + ": update of " + std::to_string(total_bytes) +
                             " bytes exceeds the limit of " + std::to_string(opts_.max_update_bytes) + " bytes");
  return Status::Ok();
}

Status Coordinator::Submit(int client, int64_t round, uint64_t task_id, std::span<const uint8_t> bytes) {
  return Ingest(client, round, task_id, static_cast<int64_t>(bytes.size()), [&](const TransformContext& tc) {
    Checked c{algorithm_.pipeline->Decode(bytes, layout_.total_size(), tc), Status::Ok()};
    c.verdict = Validate(c.update, client, round);
    return c;
  });
}

Coordinator::Checked Coordinator::DecodeAndCheck(int client, int64_t round, uint64_t task_id,
                                                 std::span<const uint8_t> prefix, std::vector<float>& body,
                                                 size_t body_bytes, size_t known_finite) const {
  if (body_bytes > body.size() * sizeof(float))
    return {InvalidArgument("DecodeAndCheck: body_bytes exceeds the body"), Status::Ok()};
  const TransformContext tc{sctx_.backend, &layout_, opts_.seed, round, client, task_id};
  const float* body_data = body.data();
  Checked c{algorithm_.pipeline->DecodeInPlace(prefix, body, body_bytes, layout_.total_size(), tc), Status::Ok()};
  // The codec took `body` over as the delta: the caller's check covers it.
  const bool known = c.update.ok() && c.update->delta.data() == body_data && known_finite >= c.update->delta.size();
  c.verdict = Validate(c.update, client, round, known);
  return c;
}

Status Coordinator::SubmitChecked(int client, int64_t round, uint64_t task_id, int64_t nbytes, Checked checked) {
  return Ingest(client, round, task_id, nbytes, [&](const TransformContext&) { return std::move(checked); });
}

Status Coordinator::Validate(const Result<ClientUpdate>& u, int client, int64_t round,
                             bool delta_known_finite) const {
  if (!u.ok()) return u.status().WithContext(Who(client, round));
  if (static_cast<int64_t>(u->delta.size()) != layout_.total_size())
    return InvalidArgument(Who(client, round) + ": update has " + std::to_string(u->delta.size()) +
                           " parameters, expected " + std::to_string(layout_.total_size()));
  if (!delta_known_finite && !AllFinite(u->delta))
    return InvalidArgument(Who(client, round) + ": update.delta contains NaN/Inf; rejected");
  for (const auto& [k, v] : u->extras)
    if (!AllFinite(v)) return InvalidArgument(Who(client, round) + ": update extra '" + k + "' contains NaN/Inf");
  return Status::Ok();
}

Status Coordinator::Ingest(int client, int64_t round, uint64_t task_id, int64_t nbytes,
                           const std::function<Checked(const TransformContext&)>& decode) {
  Seen(client);
  RETURN_IF_ERROR(Admit(client, round, task_id, nbytes));
  const InFlight& f = inflight_.at(task_id);
  // Out of turn and the buffer is full: hold nothing, ask for a retry.
  const bool head = !order_.empty() && order_.begin()->second == task_id;
  if (opts_.ordered_commit && !head && static_cast<int>(buffer_.size()) >= opts_.reorder_window)
    return Unavailable(Who(client, round) + ": reorder buffer full (" + std::to_string(buffer_.size()) +
                       " results ahead of their turn); retry");
  TransformContext tc{sctx_.backend, &layout_, opts_.seed, f.task->round, client, task_id};
  Checked c = decode(tc);
  Result<ClientUpdate>& u = c.update;
  const Status bad = c.verdict;
  received_.insert(task_id);
  if (!bad.ok()) {
    spdlog::warn("{}", bad.message());
    RETURN_IF_ERROR(Fail(client, task_id, bad));
    return bad;
  }
  ClientResult r;
  r.task_id = task_id;
  r.round = f.task->round;
  r.client = client;
  r.model_version = f.task->model.version;
  r.update = std::move(u).value();
  r.bytes_up = nbytes;
  link_.Withdraw(client, task_id);
  buffer_.emplace(task_id, std::make_pair(std::move(r), static_cast<int64_t>(0)));
  RETURN_IF_ERROR(Drain(/*flush=*/!opts_.ordered_commit));
  return Status::Ok();
}

Status Coordinator::Drain(bool flush) {
  // Commit buffered results whose turn has come (all of them when flushing).
  while (!order_.empty()) {
    auto head = order_.begin();
    const uint64_t id = head->second;
    auto b = buffer_.find(id);
    if (b == buffer_.end()) {
      if (!flush || buffer_.empty()) break;
      auto next = std::find_if(order_.begin(), order_.end(), [&](const auto& e) { return buffer_.count(e.second); });
      if (next == order_.end()) break;
      head = next;
      b = buffer_.find(head->second);
    }
    ClientResult r = std::move(b->second.first);
    buffer_.erase(b);
    virtual_now_us_ = std::max(virtual_now_us_, head->first.first);
    order_.erase(head);
    inflight_.erase(r.task_id);
    ++results_;
    bytes_up_ += r.bytes_up;
    loss_weighted_ += r.update.train_loss * static_cast<double>(r.update.num_samples);
    loss_weight_ += static_cast<double>(r.update.num_samples);
    spdlog::debug("round {}: commit task {} of client {}", r.round, r.task_id, r.client);
    sctx_.now_us = clock_.NowUs();
    RETURN_IF_ERROR(Carry(algorithm_.strategy->OnResult(std::move(r), sctx_)));
    // OnResult takes the result by reference: what the strategy did not move
    // out of it (FedAvg keeps nothing) goes back to the link for reuse.
    if (r.update.delta.capacity() > 0) link_.Recycle(std::move(r.update.delta));
  }
  return Status::Ok();
}

Status Coordinator::Fail(int client, uint64_t task_id, Status reason) {
  auto it = inflight_.find(task_id);
  if (it == inflight_.end() || it->second.task->client != client) return Status::Ok();
  ClientFailure f{task_id, it->second.task->round, client, std::move(reason)};
  Forget(task_id);
  ++failures_;
  sctx_.now_us = clock_.NowUs();
  RETURN_IF_ERROR(Carry(algorithm_.strategy->OnFailure(f, sctx_)));
  // The failed task may have been the head of the commit order.
  return Drain(!opts_.ordered_commit);
}

Status Coordinator::OnTimer(uint64_t token) {
  const int64_t now = clock_.NowUs();
  if (token == kLivenessToken) {
    std::vector<std::pair<int, uint64_t>> lost;
    for (const auto& [id, f] : inflight_) {
      auto seen = last_seen_us_.find(f.task->client);
      if (buffer_.count(id)) continue;
      if (seen == last_seen_us_.end() || now - seen->second > opts_.client_timeout_us) lost.push_back({f.task->client, id});
    }
    for (auto [c, id] : lost)
      RETURN_IF_ERROR(Fail(c, id, Unavailable("client " + std::to_string(c) + ": no heartbeat within the timeout")));
    if (!done_) timers_.Arm(opts_.client_timeout_us / 2 + 1, kLivenessToken);
    return Status::Ok();
  }
  // A deadline: commit what arrived, in order, then let the strategy close.
  RETURN_IF_ERROR(Drain(/*flush=*/true));
  sctx_.now_us = now;
  return Carry(algorithm_.strategy->OnWake(sctx_));
}

Status Coordinator::WriteCheckpoint() const {
  return SaveCheckpoint(opts_.checkpoint_dir, *algorithm_.strategy, opts_.seed);
}

void Coordinator::Report() {
  const Strategy& s = *algorithm_.strategy;
  const int64_t r = s.rounds_done();
  MetricsRow row;
  row.Set("round", r);
  row.Set("wall_seconds", static_cast<double>(clock_.NowUs() - start_us_) * 1e-6);
  if (loss_weight_ > 0) row.Set("train_loss", loss_weighted_ / loss_weight_);
  row.Set("clients", results_);
  row.Set("failures", failures_);
  row.Set("bytes_up", bytes_up_);
  row.Set("bytes_down", bytes_down_);
  if (evaluate_ && (r % opts_.eval_every == 0 || r >= s.total_rounds())) {
    auto [loss, acc] = evaluate_(*s.global_model().params);
    row.Set("test_loss", loss);
    row.Set("test_acc", acc);
  }
  s.ReportMetrics(row);
  sink_.Record(row);
  loss_weighted_ = loss_weight_ = 0;
  results_ = failures_ = bytes_up_ = bytes_down_ = 0;
}

}  // namespace shoal::server
