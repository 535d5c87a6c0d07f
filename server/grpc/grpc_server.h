// GrpcServer: a running shoal-server: event loop thread + Coordinator +
// Aggregator service + grpc::Server. Used by the shoal-server main and by the
// in-process tests (loopback port 0 picks a free port).
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "server/grpc/server_config.h"

namespace grpc {
class Server;
}

namespace shoal::server {

// What the coordinator runs; every borrowed piece must outlive the server.
struct ServerParts {
  Algorithm* algorithm = nullptr;
  const Backend* backend = nullptr;
  const ParamLayout* layout = nullptr;
  std::vector<int64_t> client_samples;
  std::vector<float> initial;
  MetricsSink* sink = nullptr;
  Evaluator evaluate;
};

// Sets glibc malloc for a server process: call once first thing in main, and
// again with the update size once the model is known. Allocations up to
// 32 MiB (gRPC's chunk slices, update-sized buffers) come from the heap
// rather than a fresh mmap each; freed heap up to two update sizes (at least
// 8 MiB, at most 64 MiB) stays mapped, so the next upload reuses warm pages
// (page faults and unmaps cost more than the copies: perf, bench_grpc_ingest)
// while what is kept stays a fixed multiple of the model; and one arena for
// all threads, so an upload buffer freed on the event loop is reused by the
// next allocation whatever thread makes it (per-thread arenas kept 30 MB more
// resident with 200 clients, at the same ingest rate).
void ConfigureServerAllocator(int64_t update_bytes = 0);

class GrpcServer {
 public:
  // Starts listening on cfg.address (TLS unless `insecure`). With `resume`,
  // continues from the checkpoint in cfg.coordinator.checkpoint_dir.
  static Result<std::unique_ptr<GrpcServer>> Start(const ServerConfig& cfg, bool insecure, bool resume,
                                                   ServerParts parts);
  ~GrpcServer();
  int port() const { return port_; }
  // Blocks until training finished and every client heard it (or the grace
  // period passed), or Stop() was called. Returns the first fatal error.
  Status Wait();
  // Requests shutdown (any thread).
  void Stop();
  // Runs `fn` on the event loop with the coordinator and waits for it.
  void Inspect(const std::function<void(Coordinator&, AggregatorService&)>& fn);

 private:
  GrpcServer() = default;
  void CheckFinished();
  void RequestStop(Status st);

  ServerConfig cfg_;
  ServerParts parts_;
  boost::asio::io_context loop_;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::unique_ptr<Clock> clock_;
  std::unique_ptr<Timers> timers_;
  std::unique_ptr<AggregatorService> service_;
  std::unique_ptr<Coordinator> coord_;
  std::unique_ptr<grpc::Server> server_;
  std::thread loop_thread_;
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;      // guarded by mu_
  Status fatal_;           // guarded by mu_
  int64_t done_at_us_ = -1;  // loop thread
};

}  // namespace shoal::server
