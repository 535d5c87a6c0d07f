// The gRPC face of the Coordinator: the Aggregator service (callback API) and
// the ClientLink it implements.
//
// Threads: gRPC reactions run on gRPC's threads and never block; everything
// that touches the Coordinator or the mailboxes is posted to one Boost.Asio
// io_context (the event loop) and runs there, one event at a time. Uploads
// are received into a buffer sized by the declared length only after the
// Coordinator admitted the header (registered client, open task, size limit)
// and the upload budget has room, so neither a flood of clients nor one
// oversized upload makes the server allocate beyond its limits.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "proto/shoal.grpc.pb.h"
#include "server/coordinator.h"

namespace shoal::server {

inline constexpr uint32_t kProtocolVersion = 1;

struct ServiceOptions {
  int chunk_bytes = 1 << 20;             // model/update chunk size, in [4 KiB, 16 MiB]
  int64_t upload_budget_bytes = 0;       // bytes of uploads being received at once; 0 = unlimited
  // Bytes admitted uploads may hold in gRPC's buffers at once (within its
  // memory quota), each charged min(size, stream_in_flight_bytes); 0 = no bound.
  int64_t transport_allowance_bytes = 0;
  int64_t stream_in_flight_bytes = 0;    // per-upload bound (0 = its whole size)
  std::map<int, std::string> tokens;     // client id -> bearer token; empty = no token check
  int max_concurrent_downloads = 8;      // task streams being written at once (>= 1); others queue
  int max_wait_ms = 10000;               // longest GetTask long-poll
  int heartbeat_interval_ms = 1000;      // told to clients at Register
  int64_t max_update_bytes = 0;          // told to clients at Register
  std::string procedure;                 // the client procedure clients must run
};

grpc::Status ToGrpc(const Status& st);

// SubmitResult is a raw method: the service parses each ResultChunk itself so
// an update's bytes go from gRPC's receive slices straight into the ingest
// buffer (one copy), instead of through a parsed message and its string.
// GetTask is raw too: model chunks are slices that point into the task's
// immutable model (each holding a reference to the task), so a download
// copies nothing however many clients fetch the same model.
using AggregatorBase = shoal::v1::Aggregator::WithRawCallbackMethod_GetTask<
    shoal::v1::Aggregator::WithRawCallbackMethod_SubmitResult<shoal::v1::Aggregator::CallbackService>>;

class AggregatorService final : public AggregatorBase, public ClientLink {
 public:
  AggregatorService(ServiceOptions opts, boost::asio::io_context& loop);
  ~AggregatorService() override;
  // The coordinator must outlive the service's calls; set before serving.
  void Attach(Coordinator* coordinator) { coord_ = coordinator; }

  grpc::ServerUnaryReactor* Register(grpc::CallbackServerContext* ctx, const shoal::v1::RegisterRequest* req,
                                     shoal::v1::RegisterReply* reply) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* GetTask(grpc::CallbackServerContext* ctx,
                                                      const grpc::ByteBuffer* request) override;
  grpc::ServerReadReactor<grpc::ByteBuffer>* SubmitResult(grpc::CallbackServerContext* ctx,
                                                          grpc::ByteBuffer* reply) override;
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* ctx, const shoal::v1::HeartbeatRequest* req,
                                      shoal::v1::HeartbeatReply* reply) override;

  // ClientLink (event-loop thread).
  void Send(std::shared_ptr<const Task> task) override;
  void Withdraw(int client, uint64_t task_id) override;
  void Finish() override;
  void Recycle(std::vector<float>&& buffer) override { ReturnBuffer(std::move(buffer)); }

  // Event-loop thread: clients told that training finished.
  int finished_notified() const { return static_cast<int>(notified_.size()); }
  // Largest number of upload bytes held at once (any thread; approximate).
  int64_t peak_upload_bytes() const { return uploads_.peak.load(); }

  // Checks the bearer token of `client` (any thread).
  Status Authenticate(const grpc::CallbackServerContext* ctx, int client) const;

  class TaskWriter;
  class ResultReader;

 private:
  friend class TaskWriter;
  friend class ResultReader;
  void Post(std::function<void()> fn);
  // A budget shared by calls (event-loop thread): Acquire runs `admitted`
  // once `amount` fits (immediately when nothing is held), Release frees it
  // and admits waiters in FIFO order.
  struct Gate {
    int64_t budget = 0;  // 0 = unlimited
    int64_t in_use = 0;
    std::deque<std::pair<int64_t, std::function<void()>>> queue;
    std::atomic<int64_t> peak{0};
    void Acquire(int64_t amount, std::function<void()> admitted);
    void Release(int64_t amount);
  };

  ServiceOptions opts_;
  boost::asio::io_context& loop_;
  Coordinator* coord_ = nullptr;
  // Event-loop state.
  std::map<int, std::deque<std::shared_ptr<const Task>>> mailbox_;
  std::map<int, TaskWriter*> waiters_;
  std::set<int> notified_;
  bool finished_ = false;
  Gate uploads_;    // bytes of upload buffers
  Gate transport_;  // bytes admitted uploads may have in flight in gRPC
  Gate downloads_;  // task streams being written
  // Ingest buffers are float vectors so a dense update is decoded in place
  // and becomes the delta (Coordinator::DecodeAndCheck). Buffers a codec left
  // (compressed updates) and deltas the strategy left (Recycle) are kept for
  // reuse, at most the upload budget in all (event-loop thread): a reused
  // buffer needs no allocation, no page faults and no zero-fill.
  std::vector<std::vector<float>> spare_;
  std::vector<float> TakeBuffer(int64_t bytes);
  void ReturnBuffer(std::vector<float> b);
};

}  // namespace shoal::server
