// shoal-server's own configuration file (server.yaml), kept apart from the
// scenario so that the scenario stays valid for shoal-sim unchanged: the
// scenario says what to train, this file says how to serve it.
//
//   address: 127.0.0.1:50051      # host:port to listen on
//   tls: {cert: server.crt, key: server.key,          # PEM paths (required unless --insecure)
//         client_ca: ca.crt, require_client_cert: false}  # mutual TLS when true
//   tokens_file: tokens.txt       # lines "<client id> <token>"; empty = no bearer tokens
//   checkpoint: {dir: ckpt, every: 1}
//   limits:
//     max_update_bytes: 4 x model + 1 MiB   # larger uploads are refused from their header
//     chunk_bytes: 1048576                  # stream chunk; bigger gRPC messages are refused
//     upload_budget_bytes: 2 x (model + 64 KiB)  # upload bytes received at once: two dense
//                                           # updates; a bigger upload is received alone (0 = unlimited)
//     max_concurrent_downloads: 8           # task streams written at once
//     reorder_window: 8                     # decoded results held out of commit order
//     transport_memory_bytes: 16777216      # gRPC's memory quota for all connections; admitted
//                                           # uploads' bytes in flight stay within 3/4 of it
//     transport_bdp_probe: false            # true: BDP-grown windows (see ServerConfig)
//     transport_stream_window_bytes: 4194304  # gRPC stream receive window (0 = gRPC default)
//   commit_order: simulator       # simulator (bit-identical sync rounds) | arrival
//   min_clients: 0                # start when this many joined (0 = all)
//   client_timeout_s: 0           # fail tasks of clients silent this long (0 = off)
//   finish_grace_s: 5             # how long to wait for clients to hear "finished"
// Relative paths are resolved against the file's directory.
#pragma once

#include <string>

#include "server/coordinator.h"
#include "server/grpc/service.h"

namespace shoal::server {

struct ServerConfig {
  std::string address = "127.0.0.1:50051";
  std::string tls_cert, tls_key, tls_client_ca;
  bool require_client_cert = false;
  std::string tokens_file;
  CoordinatorOptions coordinator;   // seed, eval and data come from the scenario
  ServiceOptions service;
  double finish_grace_s = 5.0;
  // gRPC resource quota for all connections. Under pressure gRPC gives back
  // the read buffers of idle connections; at 64 MiB it kept ~5 update sizes
  // of 64 KiB read slices alive (heaptrack, bench_grpc_ingest), at 16 MiB
  // under 6 MiB at the same ingest rate. Uploads are admitted only while the
  // bytes they may have in flight in gRPC (stream window + one chunk each)
  // fit in 3/4 of it (ServiceOptions::transport_allowance_bytes): with TLS,
  // gRPC reset admitted uploads beyond the quota (RESOURCE_EXHAUSTED; 200
  // bench clients with a large upload budget never finished a round).

  int64_t transport_memory_bytes = 16 << 20;
  // Let gRPC grow stream windows by BDP probing. Off by default: with 200
  // bench clients and the memory quota it stalled the server (not root-caused).
  bool transport_bdp_probe = false;
  // gRPC's per-stream receive window (GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES).
  // Large windows let an admitted upload stream without a window update per
  // 64 KiB; they cost no memory for queued uploads because clients send no
  // data before the server admits them (see service.h). 0 = gRPC's default.
  int transport_stream_window_bytes = 4 << 20;
  bool tls() const { return !tls_cert.empty(); }
};

// The default upload budget: two dense updates of `num_params` floats (each
// with 64 KiB to spare for its framing). The budget decides how many model-
// sized buffers the server holds besides the global model and the aggregate.
int64_t DefaultUploadBudgetBytes(int64_t num_params);

// What GrpcServer::Start gives the service for admission: the transport
// allowance (3/4 of transport_memory_bytes) and each upload's bound on bytes
// in flight in gRPC (its stream window plus one chunk; its whole size when
// BDP probing may grow the window).
int64_t TransportAllowanceBytes(const ServerConfig& cfg);
int64_t StreamInFlightBytes(const ServerConfig& cfg);

// Parses `path` (strict: unknown keys are errors; "" = all defaults) and
// reads the tokens file. `num_params` sizes the defaults: max_update_bytes =
// 4 x model + 1 MiB, upload_budget_bytes = DefaultUploadBudgetBytes.
Result<ServerConfig> LoadServerConfig(const std::string& path, int64_t num_params);

}  // namespace shoal::server
