#include "server/grpc/grpc_server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <algorithm>
#include <fstream>
#include <malloc.h>
#include <future>
#include <sstream>

#include "server/grpc/asio_world.h"

namespace shoal::server {
namespace {

Result<std::string> ReadText(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<std::shared_ptr<grpc::ServerCredentials>> Credentials(const ServerConfig& cfg, bool insecure) {
  if (insecure) {
    spdlog::warn("--insecure: serving PLAIN TEXT on {}; updates and tokens travel unencrypted", cfg.address);
    return grpc::InsecureServerCredentials();
  }
  if (!cfg.tls()) return FailedPrecondition("no tls.cert/tls.key in the server config; pass --insecure for plain text");
  grpc::SslServerCredentialsOptions o(cfg.require_client_cert
                                          ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                          : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  ASSIGN_OR_RETURN(pair.private_key, ReadText(cfg.tls_key));
  ASSIGN_OR_RETURN(pair.cert_chain, ReadText(cfg.tls_cert));
  o.pem_key_cert_pairs.push_back(pair);
  if (!cfg.tls_client_ca.empty()) {
    ASSIGN_OR_RETURN(o.pem_root_certs, ReadText(cfg.tls_client_ca));
  }
  return grpc::SslServerCredentials(o);
}

}  // namespace

void ConfigureServerAllocator(int64_t update_bytes) {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(std::clamp<int64_t>(2 * update_bytes, 8 << 20, 64 << 20)));
  mallopt(M_ARENA_MAX, 1);
}

Result<std::unique_ptr<GrpcServer>> GrpcServer::Start(const ServerConfig& cfg, bool insecure, bool resume,
                                                      ServerParts parts) {
  std::unique_ptr<GrpcServer> s(new GrpcServer());
  s->cfg_ = cfg;
  s->parts_ = std::move(parts);
  ASSIGN_OR_RETURN(auto creds, Credentials(cfg, insecure));
  GrpcServer* self = s.get();
  s->work_ = std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
      s->loop_.get_executor());
  s->clock_ = std::make_unique<SteadyClock>();
  s->timers_ = std::make_unique<AsioTimers>(s->loop_, [self](uint64_t token) {
    Status st = self->coord_->OnTimer(token);
    if (!st.ok()) self->RequestStop(st);
    self->CheckFinished();
  });
  ServiceOptions so = cfg.service;
  so.transport_allowance_bytes = TransportAllowanceBytes(cfg);
  so.stream_in_flight_bytes = StreamInFlightBytes(cfg);
  so.procedure = s->parts_.algorithm->procedure->name();
  s->service_ = std::make_unique<AggregatorService>(so, s->loop_);
  s->coord_ = std::make_unique<Coordinator>(cfg.coordinator, *s->parts_.algorithm, *s->parts_.backend,
                                            *s->parts_.layout, s->parts_.client_samples, *s->service_, *s->clock_,
                                            *s->timers_, *s->parts_.sink, s->parts_.evaluate);
  s->service_->Attach(s->coord_.get());
  RETURN_IF_ERROR(s->coord_->Init(std::move(s->parts_.initial), resume));  // the model is held once

  grpc::ServerBuilder b;
  b.AddListeningPort(cfg.address, creds, &s->port_);
  b.RegisterService(s->service_.get());
  // One chunk plus framing: a bigger single message is refused by gRPC
  // before it is buffered.
  b.SetMaxReceiveMessageSize(cfg.service.chunk_bytes + (64 << 10));
  b.SetMaxSendMessageSize(cfg.service.chunk_bytes + (64 << 10));
  // Bound what the transport buffers for streams we are not reading yet
  // (uploads waiting for the upload budget): one memory quota for all
  // connections, and optionally fixed 64 KiB stream windows instead of
  // BDP-grown ones, so server memory does not grow with the number of clients.
  b.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, cfg.transport_bdp_probe ? 1 : 0);
  if (cfg.transport_stream_window_bytes > 0)
    b.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, cfg.transport_stream_window_bytes);
  grpc::ResourceQuota quota("shoal-server");
  quota.Resize(static_cast<size_t>(cfg.transport_memory_bytes));
  b.SetResourceQuota(quota);
  s->server_ = b.BuildAndStart();
  if (!s->server_ || s->port_ == 0) return Unavailable(cfg.address + ": cannot listen (address in use or invalid?)");
  s->loop_thread_ = std::thread([self] { self->loop_.run(); });
  spdlog::info("shoal-server listening on {} (port {}, {}{})", cfg.address, s->port_, insecure ? "plain text" : "TLS",
               cfg.require_client_cert ? ", mutual TLS" : "");
  // Watch for the end of training.
  boost::asio::post(s->loop_, [self] { self->CheckFinished(); });
  return s;
}

void GrpcServer::CheckFinished() {
  if (!coord_->done()) {
    auto t = std::make_shared<boost::asio::steady_timer>(loop_, std::chrono::milliseconds(50));
    t->async_wait([this, t](const boost::system::error_code&) { CheckFinished(); });
    return;
  }
  const int64_t now = clock_->NowUs();
  if (done_at_us_ < 0) done_at_us_ = now;
  int joined = 0;
  for (int c = 0; c < static_cast<int>(parts_.client_samples.size()); ++c) joined += coord_->registered(c);
  if (service_->finished_notified() >= joined || now - done_at_us_ > static_cast<int64_t>(cfg_.finish_grace_s * 1e6)) {
    RequestStop(Status::Ok());
    return;
  }
  auto t = std::make_shared<boost::asio::steady_timer>(loop_, std::chrono::milliseconds(50));
  t->async_wait([this, t](const boost::system::error_code&) { CheckFinished(); });
}

void GrpcServer::RequestStop(Status st) {
  std::lock_guard<std::mutex> l(mu_);
  if (!st.ok() && fatal_.ok()) fatal_ = st;
  stop_ = true;
  cv_.notify_all();
}

void GrpcServer::Stop() { RequestStop(Status::Ok()); }

Status GrpcServer::Wait() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [this] { return stop_; });
  return fatal_;
}

void GrpcServer::Inspect(const std::function<void(Coordinator&, AggregatorService&)>& fn) {
  std::promise<void> done;
  boost::asio::post(loop_, [&] {
    fn(*coord_, *service_);
    done.set_value();
  });
  done.get_future().wait();
}

GrpcServer::~GrpcServer() {
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  work_.reset();
  loop_.stop();
  if (loop_thread_.joinable()) loop_thread_.join();
  // Reactors whose deletion was posted to the stopped loop are freed here.
  loop_.restart();
  loop_.poll();
  server_.reset();
}

}  // namespace shoal::server
