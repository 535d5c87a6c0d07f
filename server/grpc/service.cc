#include "server/grpc/service.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

namespace shoal::server {

using shoal::v1::ResultChunk;
using shoal::v1::TaskChunk;
using shoal::v1::TaskHeader;

grpc::Status ToGrpc(const Status& st) {
  if (st.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(st.code()), st.message());
}

namespace {

Status CheckVersion(uint32_t v, const char* what) {
  if (v == kProtocolVersion) return Status::Ok();
  return FailedPrecondition(std::string(what) + ": protocol_version " + std::to_string(v) + ", server speaks " +
                            std::to_string(kProtocolVersion));
}

}  // namespace

// One GetTask call: waits (long-poll) for the client's task on the event
// loop, then streams header + data chunks from the immutable task.
class AggregatorService::TaskWriter final : public grpc::ServerWriteReactor<TaskChunk> {
 public:
  TaskWriter(AggregatorService* svc, grpc::CallbackServerContext* ctx, const shoal::v1::GetTaskRequest* req)
      : svc_(svc), client_(req->client_id()), timer_(svc->loop_) {
    Status st = CheckVersion(req->protocol_version(), "GetTask");
    if (st.ok()) st = svc->Authenticate(ctx, client_);
    if (!st.ok()) {
      Finish(ToGrpc(st));
      return;
    }
    const int wait_ms = std::clamp(req->wait_ms(), 0, svc->opts_.max_wait_ms);
    svc->Post([this, wait_ms] { Start(wait_ms); });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client went away mid-task"));
    WriteNext();
  }
  void OnCancel() override {
    svc_->Post([this] {
      if (!waiting_) return;
      waiting_ = false;
      timer_.cancel();
      svc_->waiters_.erase(client_);
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "GetTask cancelled"));
    });
  }
  void OnDone() override {
    svc_->Post([this] {
      if (holds_download_) svc_->downloads_.Release(1);
      delete this;
    });
  }

  // Event loop: hands over a task (or the end of training).
  void Deliver(std::shared_ptr<const Task> task) {
    waiting_ = false;
    timer_.cancel();
    if (!task) return WriteHeader(TaskHeader::KIND_FINISHED);
    task_ = std::move(task);
    pieces_.push_back(std::span<const float>(*task_->model.params));
    TaskHeader* h = chunk_.mutable_header();
    h->set_task_id(task_->task_id);
    h->set_round(task_->round);
    h->set_model_version(task_->model.version);
    for (const auto& [k, v] : task_->hparams) (*h->mutable_hparams())[k] = v;
    h->set_num_params(static_cast<int64_t>(task_->model.params->size()));
    int64_t total = static_cast<int64_t>(task_->model.params->size() * sizeof(float));
    for (const auto& [k, v] : task_->extras) {
      h->add_extra_names(k);
      h->add_extra_sizes(static_cast<int64_t>(v->size()));
      pieces_.push_back(std::span<const float>(*v));
      total += static_cast<int64_t>(v->size() * sizeof(float));
    }
    h->set_total_bytes(total);
    // Bounded concurrent downloads keep chunk buffers O(1) in the clients.
    svc_->downloads_.Acquire(1, [this] {
      holds_download_ = true;
      WriteHeader(TaskHeader::KIND_TASK);
    });
  }

 private:
  void Start(int wait_ms) {
    Coordinator* c = svc_->coord_;
    if (!c->registered(client_))
      return Finish(ToGrpc(FailedPrecondition("client " + std::to_string(client_) +
                                              " is not registered; call Register first")));
    c->Seen(client_);
    if (svc_->finished_) {
      svc_->notified_.insert(client_);
      return Deliver(nullptr);
    }
    auto& box = svc_->mailbox_[client_];
    if (!box.empty()) return Deliver(box.front());
    if (auto it = svc_->waiters_.find(client_); it != svc_->waiters_.end()) {
      // A newer poll from the same client replaces the old one.
      TaskWriter* old = it->second;
      old->waiting_ = false;
      old->timer_.cancel();
      old->WriteHeader(TaskHeader::KIND_NO_TASK);
    }
    svc_->waiters_[client_] = this;
    waiting_ = true;
    timer_.expires_after(std::chrono::milliseconds(wait_ms));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || !waiting_) return;
      waiting_ = false;
      svc_->waiters_.erase(client_);
      WriteHeader(TaskHeader::KIND_NO_TASK);
    });
  }

  void WriteHeader(TaskHeader::Kind kind) {
    chunk_.set_protocol_version(kProtocolVersion);
    chunk_.mutable_header()->set_kind(kind);
    if (kind != TaskHeader::KIND_TASK) {
      StartWriteAndFinish(&chunk_, grpc::WriteOptions(), grpc::Status::OK);
      return;
    }
    StartWrite(&chunk_);
  }

  // Streams the model then the extras, chunk_bytes at a time.
  void WriteNext() {
    const size_t chunk = static_cast<size_t>(svc_->opts_.chunk_bytes);
    while (piece_ < pieces_.size() && offset_ >= pieces_[piece_].size_bytes()) ++piece_, offset_ = 0;
    if (piece_ >= pieces_.size()) return Finish(grpc::Status::OK);
    const auto bytes = std::as_bytes(pieces_[piece_]);
    const size_t n = std::min(chunk, bytes.size() - offset_);
    chunk_.Clear();
    chunk_.set_protocol_version(kProtocolVersion);
    chunk_.set_data(reinterpret_cast<const char*>(bytes.data()) + offset_, n);
    offset_ += n;
    StartWrite(&chunk_);
  }

  AggregatorService* svc_;
  int client_;
  boost::asio::steady_timer timer_;
  bool waiting_ = false;          // event-loop thread only
  bool holds_download_ = false;   // set on the loop before the first write
  std::shared_ptr<const Task> task_;
  std::vector<std::span<const float>> pieces_;
  size_t piece_ = 0, offset_ = 0;
  TaskChunk chunk_;
};

// One SubmitResult call: header -> admission on the event loop -> chunks into
// a buffer of exactly the declared size -> Coordinator::Submit.
class AggregatorService::ResultReader final : public grpc::ServerReadReactor<ResultChunk> {
 public:
  ResultReader(AggregatorService* svc, grpc::CallbackServerContext* ctx, shoal::v1::SubmitReply* reply)
      : svc_(svc), ctx_(ctx), reply_(reply) {
    StartRead(&chunk_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return EndOfStream();
    Status st = CheckVersion(chunk_.protocol_version(), "SubmitResult");
    if (!st.ok()) return Reject(st);
    if (!have_header_) {
      if (!chunk_.has_header()) return Reject(InvalidArgument("SubmitResult: the first message must be a header"));
      header_ = chunk_.header();
      have_header_ = true;
      st = svc_->Authenticate(ctx_, header_.client_id());
      if (!st.ok()) return Reject(st);
      svc_->Post([this] { Admit(); });
      return;
    }
    if (!chunk_.has_data()) return Reject(InvalidArgument(Who() + ": a second header in one upload"));
    const std::string& d = chunk_.data();
    if (static_cast<int64_t>(buf_.size() + d.size()) > header_.total_bytes())
      return Reject(InvalidArgument(Who() + ": more bytes than the declared total_bytes " +
                                    std::to_string(header_.total_bytes())));
    buf_.insert(buf_.end(), d.begin(), d.end());
    StartRead(&chunk_);
  }
  void OnDone() override { delete this; }

 private:
  std::string Who() const {
    return "client " + std::to_string(header_.client_id()) + " round " + std::to_string(header_.round());
  }

  void Admit() {  // event loop
    Status st = svc_->coord_->Admit(header_.client_id(), header_.round(), header_.task_id(), header_.total_bytes());
    if (!st.ok()) return Reject(st);
    svc_->uploads_.Acquire(header_.total_bytes(), [this] {
      held_ = header_.total_bytes();
      buf_.reserve(static_cast<size_t>(held_));
      // "Go": the initial metadata tells the client its upload is admitted.
      // A client waits for it before sending data, so uploads queued for the
      // budget hold no bytes in the server (nor in gRPC's stream windows).
      StartSendInitialMetadata();
      StartRead(&chunk_);
    });
  }

  void EndOfStream() {
    if (!have_header_) return Reject(InvalidArgument("SubmitResult: stream ended before the header"));
    if (static_cast<int64_t>(buf_.size()) != header_.total_bytes())
      return Reject(DataLoss(Who() + ": upload truncated: received " + std::to_string(buf_.size()) + " of " +
                             std::to_string(header_.total_bytes()) + " bytes"));
    svc_->Post([this] {
      Status st = svc_->coord_->Submit(header_.client_id(), header_.round(), header_.task_id(), std::move(buf_));
      std::vector<uint8_t>().swap(buf_);
      Release();
      if (!st.ok()) return Reject(st);
      reply_->set_protocol_version(kProtocolVersion);
      reply_->set_accepted(true);
      Finish(grpc::Status::OK);
    });
  }

  void Reject(const Status& st) {
    if (st.code() != StatusCode::kUnavailable) spdlog::warn("rejected upload: {}", st.ToString());
    reply_->set_protocol_version(kProtocolVersion);
    reply_->set_accepted(false);
    auto* e = reply_->mutable_error();
    e->set_code(static_cast<int>(st.code()));
    e->set_message(st.message());
    e->set_round(header_.round());
    e->set_client_id(header_.client_id());
    std::vector<uint8_t>().swap(buf_);
    Release();
    Finish(ToGrpc(st));
  }

  void Release() {
    if (held_ == 0) return;
    const int64_t n = held_;
    held_ = 0;
    AggregatorService* svc = svc_;
    svc_->Post([svc, n] { svc->uploads_.Release(n); });
  }

  AggregatorService* svc_;
  grpc::CallbackServerContext* ctx_;
  shoal::v1::SubmitReply* reply_;
  ResultChunk chunk_;
  shoal::v1::ResultHeader header_;
  bool have_header_ = false;
  int64_t held_ = 0;  // upload budget held
  std::vector<uint8_t> buf_;
};

AggregatorService::AggregatorService(ServiceOptions opts, boost::asio::io_context& loop)
    : opts_(std::move(opts)), loop_(loop) {
  uploads_.budget = opts_.upload_budget_bytes;
  downloads_.budget = std::max(1, opts_.max_concurrent_downloads);
}
AggregatorService::~AggregatorService() = default;

void AggregatorService::Post(std::function<void()> fn) { boost::asio::post(loop_, std::move(fn)); }

Status AggregatorService::Authenticate(const grpc::CallbackServerContext* ctx, int client) const {
  if (opts_.tokens.empty()) return Status::Ok();
  auto tok = opts_.tokens.find(client);
  const auto& md = ctx->client_metadata();
  auto it = md.find("authorization");
  if (tok == opts_.tokens.end() || it == md.end() ||
      std::string(it->second.data(), it->second.size()) != "Bearer " + tok->second)
    return Unauthenticated("client " + std::to_string(client) + ": missing or invalid bearer token");
  return Status::Ok();
}

grpc::ServerUnaryReactor* AggregatorService::Register(grpc::CallbackServerContext* ctx,
                                                      const shoal::v1::RegisterRequest* req,
                                                      shoal::v1::RegisterReply* reply) {
  auto* r = ctx->DefaultReactor();
  Status st = CheckVersion(req->protocol_version(), "Register");
  if (st.ok()) st = Authenticate(ctx, req->client_id());
  if (!st.ok()) {
    r->Finish(ToGrpc(st));
    return r;
  }
  Post([this, r, req, reply] {
    const std::string who = "client " + std::to_string(req->client_id());
    Status s;
    if (req->num_params() != coord_->num_params())
      s = FailedPrecondition(who + ": model has " + std::to_string(req->num_params()) + " parameters, server's has " +
                             std::to_string(coord_->num_params()));
    else if (req->procedure() != opts_.procedure)
      s = FailedPrecondition(who + ": runs procedure '" + req->procedure() + "', the server expects '" +
                             opts_.procedure + "'");
    else
      s = coord_->Join(req->client_id(), req->num_samples());
    if (s.ok()) {
      spdlog::info("client {} registered ({} samples)", req->client_id(), req->num_samples());
      reply->set_protocol_version(kProtocolVersion);
      reply->set_num_params(coord_->num_params());
      reply->set_max_update_bytes(opts_.max_update_bytes);
      reply->set_chunk_bytes(opts_.chunk_bytes);
      reply->set_heartbeat_interval_ms(opts_.heartbeat_interval_ms);
    }
    r->Finish(ToGrpc(s));
  });
  return r;
}

grpc::ServerWriteReactor<TaskChunk>* AggregatorService::GetTask(grpc::CallbackServerContext* ctx,
                                                                const shoal::v1::GetTaskRequest* req) {
  return new TaskWriter(this, ctx, req);
}

grpc::ServerReadReactor<ResultChunk>* AggregatorService::SubmitResult(grpc::CallbackServerContext* ctx,
                                                                      shoal::v1::SubmitReply* reply) {
  return new ResultReader(this, ctx, reply);
}

grpc::ServerUnaryReactor* AggregatorService::Heartbeat(grpc::CallbackServerContext* ctx,
                                                       const shoal::v1::HeartbeatRequest* req,
                                                       shoal::v1::HeartbeatReply* reply) {
  auto* r = ctx->DefaultReactor();
  Status st = CheckVersion(req->protocol_version(), "Heartbeat");
  if (st.ok()) st = Authenticate(ctx, req->client_id());
  if (!st.ok()) {
    r->Finish(ToGrpc(st));
    return r;
  }
  Post([this, r, req, reply] {
    if (!coord_->registered(req->client_id()))
      return r->Finish(ToGrpc(FailedPrecondition("client " + std::to_string(req->client_id()) + " is not registered")));
    coord_->Seen(req->client_id());
    reply->set_protocol_version(kProtocolVersion);
    reply->set_round(coord_->rounds_done());
    reply->set_finished(finished_);
    r->Finish(grpc::Status::OK);
  });
  return r;
}

void AggregatorService::Send(std::shared_ptr<const Task> task) {
  const int c = task->client;
  auto& box = mailbox_[c];
  for (const auto& t : box)
    if (t->task_id == task->task_id) return;  // already offered (client re-joined)
  box.push_back(task);
  if (auto it = waiters_.find(c); it != waiters_.end()) {
    TaskWriter* w = it->second;
    waiters_.erase(it);
    w->Deliver(box.front());
  }
}

void AggregatorService::Withdraw(int client, uint64_t task_id) {
  auto& box = mailbox_[client];
  std::erase_if(box, [&](const auto& t) { return t->task_id == task_id; });
}

void AggregatorService::Finish() {
  finished_ = true;
  mailbox_.clear();
  for (auto& [c, w] : waiters_) {
    notified_.insert(c);
    w->Deliver(nullptr);
  }
  waiters_.clear();
}

void AggregatorService::Gate::Acquire(int64_t amount, std::function<void()> admitted) {
  if (budget <= 0 || in_use == 0 || in_use + amount <= budget) {
    in_use += amount;
    if (in_use > peak.load()) peak.store(in_use);
    admitted();
    return;
  }
  queue.emplace_back(amount, std::move(admitted));
}

void AggregatorService::Gate::Release(int64_t amount) {
  in_use -= amount;
  while (!queue.empty()) {
    auto& [n, fn] = queue.front();
    if (budget > 0 && in_use != 0 && in_use + n > budget) break;
    in_use += n;
    if (in_use > peak.load()) peak.store(in_use);
    auto run = std::move(fn);
    queue.pop_front();
    run();
  }
}

}  // namespace shoal::server
