// Coordinator: runs any registered Strategy from transport events, the same
// way for every network driver.
//
// Per event: validate (registered client, open task for that round, not a
// duplicate, size limits) -> decode with the UpdatePipeline codec the
// simulator uses -> check parameter count and finite values -> commit to the
// strategy -> carry out its Actions (send tasks through the ClientLink, arm
// deadlines, evaluate and report, checkpoint). A result that fails decoding or
// checks counts as the task's failure (as in the simulator); the global model
// is untouched and the coordinator keeps serving.
//
// Commit order: with `ordered_commit`, results are committed in the order the
// simulator commits them (virtual arrival under its default uniform device
// profile, then dispatch order; a task is dispatched at the virtual time of
// the commit that produced it, so synchronous rounds and event-driven
// strategies without clock use such as FedBuff both match), using a reorder buffer
// of at most `reorder_window` decoded results; a result beyond the window is
// answered UNAVAILABLE ("retry") so memory stays O(window x model). Otherwise
// results are committed on arrival (O(model) memory; no bit-identity).
//
// Single-threaded: every method must be called from one thread (the driver's
// event loop). Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "algorithms/registry.h"
#include "core/metrics.h"
#include "server/link.h"

namespace shoal::server {

struct CoordinatorOptions {
  uint64_t seed = 0;                  // run seed (TransformContext, model init)
  int64_t max_update_bytes = 0;       // > 0: encoded uploads larger than this are refused
  bool ordered_commit = true;         // commit in simulator order (bit-identical sync runs)
  int reorder_window = 8;             // >= 1: decoded results buffered out of order
  double samples_per_second = 1000.0; // the simulator's default device speed (order keys)
  int min_clients = 0;                // start when this many joined; 0 = all clients
  int64_t client_timeout_us = 0;      // > 0: a client silent this long fails its tasks
  std::string checkpoint_dir;         // empty = no checkpoints
  int checkpoint_every = 1;           // rounds between checkpoints (>= 1); the last is always written
  int eval_every = 5;                 // evaluate every N rounds and at the end
};

// (mean loss, accuracy) of a model on the evaluation set.
using Evaluator = std::function<std::pair<double, double>(std::span<const float> params)>;

class Coordinator {
 public:
  // Borrowed references must outlive the coordinator. `client_samples` is
  // the training-set size of every client (index = client id), from the same
  // partition the clients use.
  Coordinator(CoordinatorOptions opts, Algorithm& algorithm, const Backend& backend, const ParamLayout& layout,
              std::vector<int64_t> client_samples, ClientLink& link, Clock& clock, Timers& timers,
              MetricsSink& sink, Evaluator evaluate);

  // Sets the initial model, or restores the last checkpoint of
  // opts.checkpoint_dir when `resume` (a missing checkpoint starts fresh).
  // Training starts once min_clients joined.
  Status Init(std::vector<float> initial, bool resume);

  // The options in force (Init drops checkpoint_dir for a strategy without
  // checkpoint support).
  const CoordinatorOptions& options() const { return opts_; }
  // A client registered with its sample count (must match the partition).
  Status Join(int client, int64_t num_samples);
  // Records that the client is alive (any call from it).
  void Seen(int client);
  // Cheap checks on a result header before its bytes are received: client
  // registered, an open task with this id and round, no duplicate, size.
  Status Admit(int client, int64_t round, uint64_t task_id, int64_t total_bytes) const;
  // A complete upload (decoded here; the caller keeps the bytes). OK means
  // accepted (committed or buffered); otherwise the status says why it was
  // rejected.
  Status Submit(int client, int64_t round, uint64_t task_id, std::span<const uint8_t> bytes);
  // An upload received into an ingest buffer, in two halves: its first
  // ingest_prefix_bytes() bytes in `prefix`, the rest (`body_bytes`) at the
  // start of `body`. DecodeAndCheck decodes (in place: the codec may take
  // `body` over as the delta, UpdateCodec::DecodeInPlace; what it leaves is
  // the caller's) and validates (size, NaN/Inf) without touching the
  // coordinator's state, so it may run on any thread (the gRPC server runs it
  // on the thread that received the upload); SubmitChecked then admits and
  // commits on the coordinator's thread, and the verdict counts exactly as if
  // Submit had found it. `known_finite`: the caller has checked that the
  // first known_finite floats of `body` are finite (the gRPC server does so
  // chunk by chunk while they are in cache); a delta that is `body` itself
  // then skips that part of the NaN/Inf scan. 0 checks everything here.
  struct Checked {
    Result<ClientUpdate> update;
    Status verdict;  // OK, or why the update is rejected
  };
  Checked DecodeAndCheck(int client, int64_t round, uint64_t task_id, std::span<const uint8_t> prefix,
                         std::vector<float>& body, size_t body_bytes, size_t known_finite = 0) const;
  Status SubmitChecked(int client, int64_t round, uint64_t task_id, int64_t nbytes, Checked checked);
  size_t ingest_prefix_bytes() const { return algorithm_.pipeline->codec().InPlacePrefixBytes(); }
  // The task failed on the client's side (reported or detected).
  Status Fail(int client, uint64_t task_id, Status reason);
  // A timer armed through Timers fired.
  Status OnTimer(uint64_t token);

  bool started() const { return started_; }
  bool done() const { return done_; }
  int64_t rounds_done() const { return algorithm_.strategy->rounds_done(); }
  const ModelSnapshot& global_model() const { return algorithm_.strategy->global_model(); }
  int64_t num_params() const { return layout_.total_size(); }
  bool registered(int client) const { return joined_.count(client) > 0; }
  int64_t buffered() const { return static_cast<int64_t>(buffer_.size()); }
  // Writes the checkpoint now (atomically).
  Status WriteCheckpoint() const;

 private:
  // Admission, decode and check (by `decode`), and commit of one upload.
  Status Ingest(int client, int64_t round, uint64_t task_id, int64_t nbytes,
                const std::function<Checked(const TransformContext&)>& decode);
  // Decode errors, size and the NaN/Inf guard (any thread).
  // `delta_known_finite`: skip the NaN/Inf scan of u->delta (its caller checked it).
  Status Validate(const Result<ClientUpdate>& u, int client, int64_t round, bool delta_known_finite = false) const;
  struct InFlight {
    std::shared_ptr<const Task> task;
    std::pair<int64_t, uint64_t> order;  // (virtual arrival us, dispatch seq)
  };
  Status StartTraining();
  Status Carry(Result<Actions> actions);
  Status Commit(const InFlight& f, Result<ClientUpdate> update, int64_t bytes_up);
  Status Drain(bool flush);
  void Report();
  void Forget(uint64_t task_id);
  std::string Who(int client, int64_t round) const;

  CoordinatorOptions opts_;
  Algorithm& algorithm_;
  const ParamLayout& layout_;
  ClientLink& link_;
  Clock& clock_;
  Timers& timers_;
  MetricsSink& sink_;
  Evaluator evaluate_;
  StrategyContext sctx_;
  std::vector<float> initial_;
  bool resume_ = false, started_ = false, done_ = false;
  std::set<int> joined_;
  std::map<int, int64_t> last_seen_us_;
  std::map<uint64_t, InFlight> inflight_;               // open tasks by id
  std::set<std::pair<std::pair<int64_t, uint64_t>, uint64_t>> order_;  // (order key, task id) of open tasks
  std::map<uint64_t, std::pair<ClientResult, int64_t>> buffer_;        // decoded, waiting for their turn
  std::set<uint64_t> received_;                          // task ids whose result was received
  uint64_t dispatch_seq_ = 0, next_timer_ = 1;
  int64_t virtual_now_us_ = 0;  // simulator time of the last commit (order keys)
  int64_t start_us_ = 0;
  // Per-report accumulators.
  double loss_weighted_ = 0, loss_weight_ = 0;
  int64_t results_ = 0, failures_ = 0, bytes_up_ = 0, bytes_down_ = 0;
};

}  // namespace shoal::server
