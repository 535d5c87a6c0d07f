#include "sim/simulator.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <future>
#include <mutex>

#include "core/finite.h"
#include "sim/event_queue.h"
#include "sim/personal_eval.h"
#include "sim/thread_pool.h"

namespace shoal::sim {
namespace {

enum EventKind : int { kTrainDone = 1, kArrive = 2, kWake = 3, kFail = 4 };
constexpr int64_t kHeaderBytes = 16;

int64_t PayloadBytes(const std::vector<float>& v) { return static_cast<int64_t>(v.size() * sizeof(float)); }

int64_t TaskBytes(const Task& t) {
  int64_t b = kHeaderBytes + (t.model.params ? PayloadBytes(*t.model.params) : 0);
  for (const auto& [k, v] : t.extras) b += PayloadBytes(*v);
  return b;
}

// What a client uploads: the encoded update.
using Payload = std::vector<uint8_t>;

}  // namespace

struct Simulator::Impl {
  Impl(Experiment& e, SimOptions o, MetricsSink& s) : exp(e), opts(o), sink(s), pool(o.threads) {
    devices = opts.devices ? *opts.devices
                           : DeviceProfiles::Homogeneous(exp.data.num_clients(), opts.samples_per_second,
                                                         opts.bandwidth_bytes_per_s);
    for (int w = 0; w < pool.size(); ++w) {
      models.push_back(exp.model->Clone());
      ctxs.emplace_back();
      ctxs.back().backend = exp.backend;
      ctxs.back().model = models.back().get();
      ctxs.back().data = &exp.data.train;
      ctxs.back().seed = opts.seed;
    }
    sctx.backend = exp.backend;
    sctx.layout = &exp.model->layout();
    sctx.seed = opts.seed;
    for (const auto& idx : exp.data.client_train) sctx.client_samples.push_back(static_cast<int64_t>(idx.size()));
  }

  struct InFlight {
    Task task;
    std::shared_future<Result<Payload>> result;
    uint64_t event_seq = 0;
    Status fail;  // set when the device fails the task (a kFail event is due)
  };

  Experiment& exp;
  SimOptions opts;
  MetricsSink& sink;
  ThreadPool pool;
  DeviceProfiles devices;
  std::vector<std::unique_ptr<Model<float>>> models;  // one per worker
  std::vector<TrainContext> ctxs;                     // one per worker
  std::mutex states_mu;
  std::map<int, ClientState> states;                  // guarded by states_mu (lookup only)
  // Completion of each client's latest task. Completion only: a future of the
  // payload here would keep every client's last upload alive for the whole run.
  std::map<int, std::shared_future<void>> last_task_of_client;
  std::map<uint64_t, InFlight> inflight;
  EventQueue queue;
  StrategyContext sctx;
  // Per-report accumulators.
  double loss_weighted = 0, loss_weight = 0;
  int64_t results_in_row = 0, failures_in_row = 0;
  int64_t bytes_up_row = 0, bytes_down_row = 0, bytes_up_total = 0, bytes_down_total = 0;
  double optimizer_state_bytes_row = 0;  // per client, largest reported this row
  std::chrono::steady_clock::time_point wall_start;

  const UpdatePipeline& pipeline() const {
    static const UpdatePipeline kDense;
    return exp.algorithm.pipeline ? *exp.algorithm.pipeline : kDense;
  }

  TransformContext TransformCtx(const Task& t) const {
    TransformContext c;
    c.backend = exp.backend;
    c.layout = &exp.model->layout();
    c.seed = opts.seed;
    c.round = t.round;
    c.client = t.client;
    c.task_id = t.task_id;
    return c;
  }

  ClientState& StateOf(int client) {
    std::lock_guard<std::mutex> l(states_mu);
    return states[client];
  }

  double Seconds(double work, double rate) const { return rate > 0 ? work / rate : 0.0; }

  int64_t Us(double secs) const { return static_cast<int64_t>(std::llround(secs * 1e6)); }

  // A task the device does not complete: no compute; the server notices the
  // failure `failure_detect_s` after the client disappears.
  void DispatchFailure(Task&& t, double fail_at_s, Status why) {
    InFlight f;
    f.fail = std::move(why);
    f.event_seq = queue.Push(Us(fail_at_s + devices.failure_detect_s()), kFail, t.task_id);
    uint64_t id = t.task_id;
    f.task = std::move(t);
    inflight.emplace(id, std::move(f));
  }

  void Dispatch(Task&& t) {
    const int c = t.client;
    const DeviceProfile& dev = devices.of(c);
    const double now_s = static_cast<double>(queue.now_us()) * 1e-6;
    const std::string who = "client " + std::to_string(c) + " task " + std::to_string(t.task_id);
    if (!devices.AvailableAt(c, now_s, t.task_id)) {
      DispatchFailure(std::move(t), now_s, Unavailable(who + ": unreachable at dispatch"));
      return;
    }
    const int64_t down = TaskBytes(t);
    const double train_s = dev.latency_s + Seconds(static_cast<double>(down), dev.bandwidth_down) +
                           Seconds(exp.algorithm.procedure->PlannedWork(
                                       t, static_cast<int64_t>(exp.data.client_train[static_cast<size_t>(c)].size())),
                                   dev.speed);
    double fraction = 0;
    if (devices.DropsOut(c, t.task_id, &fraction)) {
      bytes_down_row += down;
      bytes_down_total += down;
      DispatchFailure(std::move(t), now_s + fraction * train_s, Unavailable(who + ": dropped out"));
      return;
    }
    if (double until = devices.OnlineUntil(c, now_s); until < now_s + train_s) {
      bytes_down_row += down;
      bytes_down_total += down;
      DispatchFailure(std::move(t), until, Unavailable(who + ": went offline during training"));
      return;
    }
    auto prom = std::make_shared<std::promise<Result<Payload>>>();
    std::shared_future<Result<Payload>> fut = prom->get_future().share();
    auto done = std::make_shared<std::promise<void>>();
    std::shared_future<void> prev;
    if (auto it = last_task_of_client.find(c); it != last_task_of_client.end()) prev = it->second;
    last_task_of_client[c] = done->get_future().share();
    auto task = std::make_shared<const Task>(t);
    const ClientProcedure* proc = exp.algorithm.procedure.get();
    std::span<const int64_t> idx(exp.data.client_train[static_cast<size_t>(c)]);
    pool.Submit([this, prom, done, prev, task, proc, idx](int w) {
      if (prev.valid()) prev.wait();  // a client's tasks see its state in dispatch order
      TrainContext& ctx = ctxs[static_cast<size_t>(w)];
      ctx.indices = idx;
      ClientState& state = StateOf(task->client);
      Result<ClientUpdate> u = proc->Run(*task, state, ctx);
      if (!u.ok()) {
        prom->set_value(u.status());
        done->set_value();
        return;
      }
      prom->set_value(pipeline().Run(*u, state, TransformCtx(*task)));
      done->set_value();
    });
    bytes_down_row += down;
    bytes_down_total += down;
    InFlight f;
    f.result = fut;
    f.event_seq = queue.Push(queue.now_us() + Us(train_s), kTrainDone, t.task_id);
    uint64_t id = t.task_id;
    f.task = std::move(t);
    inflight.emplace(id, std::move(f));
  }

  Status Carry(Actions&& a, bool* done) {
    for (uint64_t id : a.cancel_tasks) {
      auto it = inflight.find(id);
      if (it == inflight.end()) continue;
      queue.Cancel(it->second.event_seq);
      inflight.erase(it);
    }
    // Report before dispatching: a row covers the round that just closed; the
    // downloads of the next round belong to the next row.
    if (a.model_changed) Report();
    for (auto& t : a.dispatch) Dispatch(std::move(t));
    if (a.wake_after_us) queue.Push(queue.now_us() + *a.wake_after_us, kWake, 0);
    if (a.done) *done = true;
    return Status::Ok();
  }

  bool EvalDue(int64_t r) const {
    const Strategy& s = *exp.algorithm.strategy;
    return r % opts.eval_every == 0 || r >= s.total_rounds();
  }

  double last_acc = 0, last_loss = 0;

  void Report() {
    const Strategy& s = *exp.algorithm.strategy;
    int64_t r = s.rounds_done();
    MetricsRow row;
    row.Set("round", r);
    row.Set("virtual_seconds", static_cast<double>(queue.now_us()) * 1e-6);
    row.Set("wall_seconds",
            std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count());
    if (loss_weight > 0) row.Set("train_loss", loss_weighted / loss_weight);
    row.Set("clients", results_in_row);
    row.Set("failures", failures_in_row);
    row.Set("bytes_up", bytes_up_row);
    row.Set("bytes_down", bytes_down_row);
    row.Set("bytes_up_total", bytes_up_total);
    row.Set("bytes_down_total", bytes_down_total);
    if (optimizer_state_bytes_row > 0) row.Set("optimizer_state_bytes", optimizer_state_bytes_row);
    if (EvalDue(r)) {
      auto [loss, acc] = EvaluateTest(*s.global_model().params);
      last_loss = loss, last_acc = acc;
      row.Set("test_loss", loss);
      row.Set("test_acc", acc);
      // Personalized and per-client global accuracy on the client test
      // splits; client states must be quiescent, so in-flight work finishes first.
      for (auto& [c, f] : last_task_of_client) f.wait();
      EvaluateClients(exp.data, *exp.algorithm.procedure, *s.global_model().params, states, *exp.backend, pool,
                      models, row);
    }
    s.ReportMetrics(row);
    sink.Record(row);
    loss_weighted = loss_weight = 0;
    results_in_row = failures_in_row = bytes_up_row = bytes_down_row = 0;
    optimizer_state_bytes_row = 0;
  }

  std::pair<double, double> EvaluateTest(const std::vector<float>& params) {
    const Dataset& test = exp.data.test;
    std::vector<int64_t> idx;
    if (opts.eval_max_samples > 0 && opts.eval_max_samples < test.size()) {
      idx.resize(static_cast<size_t>(opts.eval_max_samples));
      for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int64_t>(i);
    }
    return Evaluate(params, test, idx);
  }

  std::pair<double, double> Evaluate(std::span<const float> params, const Dataset& data,
                                     std::span<const int64_t> indices) {
    const int64_t n = indices.empty() ? data.size() : static_cast<int64_t>(indices.size());
    if (n == 0) return {0.0, 0.0};
    constexpr int64_t kChunk = 256;
    const int64_t chunks = (n + kChunk - 1) / kChunk;
    std::vector<double> loss(static_cast<size_t>(chunks));
    std::vector<int64_t> correct(static_cast<size_t>(chunks));
    pool.ParallelFor(chunks, [&](int w, int64_t ci) {
      TrainContext& ctx = ctxs[static_cast<size_t>(w)];
      int64_t lo = ci * kChunk, hi = std::min(n, lo + kChunk);
      std::vector<int64_t> rows(static_cast<size_t>(hi - lo));
      for (int64_t i = lo; i < hi; ++i) rows[static_cast<size_t>(i - lo)] = indices.empty() ? i : indices[static_cast<size_t>(i)];
      GatherBatch(data, rows, ctx);
      int64_t ok = 0;
      double l = ctx.model->Loss(*exp.backend, params, ctx.batch_x.data(), ctx.batch_y.data(),
                                 static_cast<int>(hi - lo), &ok);
      loss[static_cast<size_t>(ci)] = l * static_cast<double>(hi - lo);
      correct[static_cast<size_t>(ci)] = ok;
    });
    double ls = 0;
    int64_t cs = 0;
    for (int64_t ci = 0; ci < chunks; ++ci) ls += loss[static_cast<size_t>(ci)], cs += correct[static_cast<size_t>(ci)];
    return {ls / static_cast<double>(n), static_cast<double>(cs) / static_cast<double>(n)};
  }

  // A device failure (unreachable, dropout, offline) reaches the strategy.
  Result<Actions> CommitFailure(uint64_t task_id) {
    auto it = inflight.find(task_id);
    if (it == inflight.end()) return Actions{};
    InFlight f = std::move(it->second);
    inflight.erase(it);
    spdlog::debug("{}", f.fail.ToString());
    ++failures_in_row;
    ClientFailure failure{f.task.task_id, f.task.round, f.task.client, f.fail};
    return exp.algorithm.strategy->OnFailure(failure, sctx);
  }

  Result<Actions> Commit(uint64_t task_id) {
    auto it = inflight.find(task_id);
    if (it == inflight.end()) return Actions{};
    InFlight f = std::move(it->second);
    inflight.erase(it);
    const Result<Payload>& payload = f.result.get();
    Strategy& strat = *exp.algorithm.strategy;
    ClientFailure failure{f.task.task_id, f.task.round, f.task.client, Status()};
    Result<ClientUpdate> r = payload.ok() ? pipeline().Decode(*payload, exp.model->num_params(), TransformCtx(f.task))
                                          : Result<ClientUpdate>(payload.status());
    if (!r.ok()) {
      failure.reason = r.status().WithContext("client " + std::to_string(f.task.client) + " round " +
                                              std::to_string(f.task.round));
    } else if (!AllFinite(r->delta)) {
      failure.reason = InvalidArgument("client " + std::to_string(f.task.client) + " round " +
                                       std::to_string(f.task.round) + ": update contains NaN/Inf; rejected");
    }
    if (!failure.reason.ok()) {
      spdlog::warn("{}", failure.reason.ToString());
      ++failures_in_row;
      return strat.OnFailure(failure, sctx);
    }
    ClientResult res;
    res.task_id = f.task.task_id;
    res.round = f.task.round;
    res.client = f.task.client;
    res.model_version = f.task.model.version;
    res.update = std::move(r).value();
    res.bytes_up = static_cast<int64_t>(payload->size());
    bytes_up_row += res.bytes_up;
    bytes_up_total += res.bytes_up;
    if (auto m = res.update.metrics.find("optimizer_state_bytes"); m != res.update.metrics.end())
      optimizer_state_bytes_row = std::max(optimizer_state_bytes_row, m->second);
    loss_weighted += res.update.train_loss * static_cast<double>(res.update.num_samples);
    loss_weight += static_cast<double>(res.update.num_samples);
    ++results_in_row;
    return strat.OnResult(std::move(res), sctx);
  }

  Result<SimSummary> Run() {
    wall_start = std::chrono::steady_clock::now();
    Strategy& strat = *exp.algorithm.strategy;
    if (devices.size() < exp.data.num_clients())
      return InvalidArgument("device profiles cover " + std::to_string(devices.size()) + " clients, the experiment has " +
                             std::to_string(exp.data.num_clients()));
    auto init = std::make_shared<std::vector<float>>(static_cast<size_t>(exp.model->num_params()));
    exp.model->Init(*init, opts.seed);
    sctx.now_us = 0;
    bool done = false;
    ASSIGN_OR_RETURN(Actions first, strat.Start(ModelSnapshot{0, init}, sctx));
    RETURN_IF_ERROR(Carry(std::move(first), &done));
    while (!done) {
      if (queue.empty()) return Internal("strategy '" + strat.name() + "' stalled: no pending events before done");
      Event e = queue.Pop();
      sctx.now_us = e.time_us;
      Result<Actions> a = Actions{};
      if (e.kind == kTrainDone) {
        auto it = inflight.find(e.payload);
        if (it == inflight.end()) continue;
        const Result<Payload>& r = it->second.result.get();
        int64_t up = r.ok() ? static_cast<int64_t>(r->size()) : 0;
        const int c = it->second.task.client;
        const DeviceProfile& dev = devices.of(c);
        const double t_s = static_cast<double>(e.time_us) * 1e-6;
        const double arrive_s = t_s + dev.latency_s + Seconds(static_cast<double>(up), dev.bandwidth_up);
        if (double until = devices.OnlineUntil(c, t_s); until < arrive_s) {
          it->second.fail = Unavailable("client " + std::to_string(c) + " task " + std::to_string(e.payload) +
                                        ": went offline during upload");
          it->second.event_seq = queue.Push(Us(until + devices.failure_detect_s()), kFail, e.payload);
        } else {
          it->second.event_seq = queue.Push(e.time_us + Us(arrive_s - t_s), kArrive, e.payload);
        }
        continue;
      } else if (e.kind == kArrive) {
        a = Commit(e.payload);
      } else if (e.kind == kFail) {
        a = CommitFailure(e.payload);
      } else {
        a = strat.OnWake(sctx);
      }
      if (!a.ok()) return a.status();
      RETURN_IF_ERROR(Carry(std::move(a).value(), &done));
    }
    // Let abandoned computations finish before the workers' contexts go away.
    for (auto& [id, f] : inflight)
      if (f.result.valid()) f.result.wait();
    for (auto& [c, f] : last_task_of_client) f.wait();
    SimSummary sum;
    sum.rounds = strat.rounds_done();
    sum.final_test_acc = last_acc;
    sum.final_test_loss = last_loss;
    sum.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    sum.virtual_seconds = static_cast<double>(queue.now_us()) * 1e-6;
    sum.bytes_up = bytes_up_total;
    sum.bytes_down = bytes_down_total;
    sum.final_model = *strat.global_model().params;
    return sum;
  }
};

Simulator::Simulator(Experiment& exp, SimOptions opts, MetricsSink& sink)
    : impl_(std::make_unique<Impl>(exp, opts, sink)) {}
Simulator::~Simulator() = default;
Result<SimSummary> Simulator::Run() { return impl_->Run(); }
std::pair<double, double> Simulator::Evaluate(std::span<const float> params, const Dataset& data,
                                              std::span<const int64_t> indices) {
  return impl_->Evaluate(params, data, indices);
}

}  // namespace shoal::sim
