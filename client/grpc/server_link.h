// ServerLink: the client's connection to shoal-server over gRPC. Wraps the
// Aggregator stub: TLS (optionally with a client certificate for mutual TLS)
// or plain text, the bearer token on every call, protocol versions, and the
// chunked model/update streams. Calls block; one caller at a time per method
// (the stub itself is thread-safe, so a heartbeat thread may share the link).
#pragma once

#include <memory>
#include <span>
#include <string>

#include "algorithms/types.h"
#include "proto/shoal.grpc.pb.h"

namespace shoal::client {

inline constexpr uint32_t kProtocolVersion = 1;

struct LinkOptions {
  std::string address;           // host:port (loopback in tests)
  bool insecure = false;         // plain text
  std::string ca, cert, key;     // PEM paths: server CA; client cert/key for mutual TLS
  std::string server_name;       // TLS name override (default: host of address)
  std::string token;             // bearer token; empty = none
  int chunk_bytes = 1 << 20;     // upload chunk size
};

Status FromGrpc(const grpc::Status& st);

class ServerLink {
 public:
  static Result<std::unique_ptr<ServerLink>> Connect(const LinkOptions& opts);

  Result<shoal::v1::RegisterReply> Register(const shoal::v1::RegisterRequest& req);
  struct Fetched {
    enum class Kind { kTask, kNoTask, kFinished } kind = Kind::kNoTask;
    Task task;
  };
  // One long-poll of at most `wait_ms`.
  Result<Fetched> GetTask(int client, int wait_ms);
  // Streams `bytes` as the result of `task`. `declared_bytes` < 0 declares
  // the true size; tests pass other values to exercise the server's checks.
  Status Submit(const Task& task, std::span<const uint8_t> bytes, int64_t num_samples,
                int64_t declared_bytes = -1);
  Result<shoal::v1::HeartbeatReply> Heartbeat(int client);

  // For tests: a context carrying the bearer token, and the raw stub.
  void Prepare(grpc::ClientContext& ctx) const;
  shoal::v1::Aggregator::Stub& stub() { return *stub_; }
  void set_chunk_bytes(int n) { opts_.chunk_bytes = n; }

 private:
  LinkOptions opts_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<shoal::v1::Aggregator::Stub> stub_;
};

}  // namespace shoal::client
