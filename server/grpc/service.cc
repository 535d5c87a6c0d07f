#include "server/grpc/service.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

#include "core/finite.h"

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

namespace {

// A TaskChunk{protocol_version, data} whose data slice points into the
// task's model memory; the slice holds a reference to the task, so the bytes
// live as long as gRPC needs them, whatever happens to the call.
grpc::ByteBuffer ModelChunk(const std::shared_ptr<const Task>& task, const uint8_t* data, size_t n) {
  uint8_t pre[16];
  size_t k = 0;
  pre[k++] = 0x08;  // field 1 (protocol_version), varint
  pre[k++] = static_cast<uint8_t>(kProtocolVersion);
  static_assert(kProtocolVersion < 0x80);
  pre[k++] = 0x1a;  // field 3 (data), length-delimited
  for (uint64_t v = n;; v >>= 7) {
    pre[k++] = static_cast<uint8_t>((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
    if (v < 0x80) break;
  }
  auto* keep = new std::shared_ptr<const Task>(task);
  grpc::Slice slices[2] = {
      grpc::Slice(pre, k),
      grpc::Slice(const_cast<uint8_t*>(data), n, [](void* p) { delete static_cast<std::shared_ptr<const Task>*>(p); },
                  keep)};
  return grpc::ByteBuffer(slices, 2);
}

}  // namespace

// One GetTask call: waits (long-poll) for the client's task on the event
// loop, then streams header + data chunks from the immutable task.
class AggregatorService::TaskWriter final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  TaskWriter(AggregatorService* svc, grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request)
      : svc_(svc), timer_(svc->loop_) {
    shoal::v1::GetTaskRequest req;
    grpc::ByteBuffer copy(*request);  // Deserialize consumes its input
    Status st = grpc::SerializationTraits<shoal::v1::GetTaskRequest>::Deserialize(&copy, &req).ok()
                    ? Status::Ok()
                    : InvalidArgument("GetTask: the request does not parse as a GetTaskRequest");
    client_ = req.client_id();
    if (st.ok()) st = CheckVersion(req.protocol_version(), "GetTask");
    if (st.ok()) st = svc->Authenticate(ctx, client_);
    if (!st.ok()) {
      Finish(ToGrpc(st));
      return;
    }
    const int wait_ms = std::clamp(req.wait_ms(), 0, svc->opts_.max_wait_ms);
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
    bool own = false;
    out_.Clear();
    grpc::SerializationTraits<TaskChunk>::Serialize(chunk_, &out_, &own);
    if (kind != TaskHeader::KIND_TASK) {
      StartWriteAndFinish(&out_, grpc::WriteOptions(), grpc::Status::OK);
      return;
    }
    StartWrite(&out_);
  }

  // Streams the model then the extras, chunk_bytes at a time.
  void WriteNext() {
    const size_t chunk = static_cast<size_t>(svc_->opts_.chunk_bytes);
    while (piece_ < pieces_.size() && offset_ >= pieces_[piece_].size_bytes()) ++piece_, offset_ = 0;
    if (piece_ >= pieces_.size()) return Finish(grpc::Status::OK);
    const auto bytes = std::as_bytes(pieces_[piece_]);
    const size_t n = std::min(chunk, bytes.size() - offset_);
    out_ = ModelChunk(task_, reinterpret_cast<const uint8_t*>(bytes.data()) + offset_, n);
    offset_ += n;
    StartWrite(&out_);
  }

  AggregatorService* svc_;
  int client_ = -1;
  boost::asio::steady_timer timer_;
  bool waiting_ = false;          // event-loop thread only
  bool holds_download_ = false;   // set on the loop before the first write
  std::shared_ptr<const Task> task_;
  std::vector<std::span<const float>> pieces_;
  size_t piece_ = 0, offset_ = 0;
  TaskChunk chunk_;        // the header
  grpc::ByteBuffer out_;   // the message being written
};

namespace {

// Where an upload's bytes go: the first `prefix_len` to `prefix`, the rest to
// `body` (UpdateCodec::InPlacePrefixBytes: a dense update's floats land at
// body[0], ready to become the delta).
struct IngestTarget {
  uint8_t* prefix = nullptr;
  int64_t prefix_len = 0;
  uint8_t* body = nullptr;
  int64_t total = 0;   // declared bytes
  int64_t filled = 0;  // bytes received so far
};

// Parses one ResultChunk that must carry data: its bytes field is copied from
// gRPC's receive slices straight into `t` (the length is checked against what
// is left of the declared total before any byte is copied). Unknown fields
// are skipped, as protobuf does; a header, two data fields or malformed
// framing are errors.
Status ReadDataChunk(grpc::ByteBuffer* bb, IngestTarget& t, uint32_t* version) {
  using WFL = google::protobuf::internal::WireFormatLite;
  grpc::ProtoBufferReader reader(bb);
  google::protobuf::io::CodedInputStream in(&reader);
  bool data = false;
  *version = 0;
  while (const uint32_t tag = in.ReadTag()) {
    const int field = WFL::GetTagFieldNumber(tag);
    const auto type = WFL::GetTagWireType(tag);
    if (field == 1 && type == WFL::WIRETYPE_VARINT) {
      if (!in.ReadVarint32(version)) return InvalidArgument("malformed protocol_version in a data chunk");
    } else if (field == 3 && type == WFL::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t len = 0;
      if (data) return InvalidArgument("two data fields in one chunk");
      if (!in.ReadVarint32(&len)) return InvalidArgument("malformed data length in a chunk");
      if (static_cast<int64_t>(len) > t.total - t.filled)
        return InvalidArgument("more bytes than the declared total_bytes");
      int64_t left = len;
      if (t.filled < t.prefix_len) {
        const int64_t k = std::min(left, t.prefix_len - t.filled);
        if (!in.ReadRaw(t.prefix + t.filled, static_cast<int>(k)))
          return InvalidArgument("a data chunk shorter than its length");
        t.filled += k, left -= k;
      }
      if (left > 0 && !in.ReadRaw(t.body + (t.filled - t.prefix_len), static_cast<int>(left)))
        return InvalidArgument("a data chunk shorter than its length");
      t.filled += left;
      data = true;
    } else if (field == 2) {
      return InvalidArgument("a second header in one upload");
    } else if (!WFL::SkipField(&in, tag)) {
      return InvalidArgument("malformed chunk (field " + std::to_string(field) + ")");
    }
  }
  if (!in.ConsumedEntireMessage()) return InvalidArgument("malformed chunk");
  if (!data) return InvalidArgument("a chunk without data");
  return Status::Ok();
}

}  // namespace

// One SubmitResult call: header -> admission on the event loop -> chunks
// parsed in place into an ingest buffer of exactly the declared size ->
// Coordinator::Submit.
class AggregatorService::ResultReader final : public grpc::ServerReadReactor<grpc::ByteBuffer> {
 public:
  ResultReader(AggregatorService* svc, grpc::CallbackServerContext* ctx, grpc::ByteBuffer* reply)
      : svc_(svc), ctx_(ctx), reply_(reply) {
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return EndOfStream();
    if (!have_header_) {
      shoal::v1::ResultChunk chunk;
      if (!grpc::SerializationTraits<shoal::v1::ResultChunk>::Deserialize(&in_, &chunk).ok())
        return Reject(InvalidArgument("SubmitResult: the first message does not parse as a ResultChunk"));
      Status st = CheckVersion(chunk.protocol_version(), "SubmitResult");
      if (!st.ok()) return Reject(st);
      if (!chunk.has_header()) return Reject(InvalidArgument("SubmitResult: the first message must be a header"));
      header_ = chunk.header();
      have_header_ = true;
      st = svc_->Authenticate(ctx_, header_.client_id());
      if (!st.ok()) return Reject(st);
      svc_->Post([this] { Admit(); });
      return;
    }
    uint32_t version = 0;
    Status st = ReadDataChunk(&in_, target_, &version);
    in_.Clear();
    if (st.ok()) st = CheckVersion(version, "SubmitResult");
    if (!st.ok()) return Reject(st.WithContext(Who()));
    CheckFinite();
    StartRead(&in_);
  }
  void OnDone() override { delete this; }

 private:
  std::string Who() const {
    return "client " + std::to_string(header_.client_id()) + " round " + std::to_string(header_.round());
  }

  void Admit() {  // event loop
    Status st = svc_->coord_->Admit(header_.client_id(), header_.round(), header_.task_id(), header_.total_bytes());
    if (!st.ok()) return Reject(st);
    // Two budgets, always taken in this order: the upload buffers, then the
    // bytes the upload may have in flight in gRPC's buffers (within its
    // memory quota, which would otherwise reset admitted streams).
    svc_->uploads_.Acquire(header_.total_bytes(), [this] {
      held_ = header_.total_bytes();
      const int64_t bound = svc_->opts_.stream_in_flight_bytes;
      const int64_t charge = bound > 0 ? std::min(held_, bound) : held_;
      svc_->transport_.Acquire(charge, [this, charge] {
        in_flight_ = charge;
        const int64_t prefix = std::min<int64_t>({static_cast<int64_t>(svc_->coord_->ingest_prefix_bytes()),
                                                  static_cast<int64_t>(sizeof(prefix_)), held_});
        buf_ = svc_->TakeBuffer(held_ - prefix);
        target_ = IngestTarget{prefix_, prefix, reinterpret_cast<uint8_t*>(buf_.data()), held_, 0};
        // "Go": the initial metadata tells the client its upload is admitted.
        // A client waits for it before sending data, so uploads queued for the
        // budgets hold no bytes in the server (nor in gRPC's stream windows).
        StartSendInitialMetadata();
        StartRead(&in_);
      });
    });
  }

  // NaN/Inf scan of the body's floats that this chunk completed, while they
  // are still in cache; stops at the first non-finite value (the full check
  // in DecodeAndCheck then finds and reports it). Only for a codec that
  // decodes in place (a prefix kept apart): otherwise the body is not the
  // delta and DecodeAndCheck scans the decoded update anyway.
  void CheckFinite() {
    if (finite_stopped_ || target_.prefix_len == 0 || target_.filled <= target_.prefix_len) return;
    const size_t whole = static_cast<size_t>(target_.filled - target_.prefix_len) / sizeof(float);
    const size_t n = FinitePrefix(std::span<const float>(buf_.data() + finite_, whole - finite_));
    finite_ += n;
    finite_stopped_ = finite_ < whole;
  }

  void EndOfStream() {
    if (!have_header_) return Reject(InvalidArgument("SubmitResult: stream ended before the header"));
    if (target_.filled != header_.total_bytes())
      return Reject(DataLoss(Who() + ": upload truncated: received " + std::to_string(target_.filled) + " of " +
                             std::to_string(header_.total_bytes()) + " bytes"));
    // Decode and check here, on the gRPC thread that received the upload (the
    // pipeline is const and thread-safe): the event loop only admits and
    // commits, so uploads are checked in parallel with the aggregation.
    const size_t prefix = static_cast<size_t>(target_.prefix_len);
    auto checked = std::make_shared<Coordinator::Checked>(svc_->coord_->DecodeAndCheck(
        header_.client_id(), header_.round(), header_.task_id(), std::span<const uint8_t>(prefix_, prefix), buf_,
        static_cast<size_t>(target_.filled) - prefix, finite_));
    svc_->Post([this, checked] {
      Status st = svc_->coord_->SubmitChecked(header_.client_id(), header_.round(), header_.task_id(),
                                              target_.filled, std::move(*checked));
      Release();
      if (!st.ok()) return Reject(st);
      reply_msg_.set_protocol_version(kProtocolVersion);
      reply_msg_.set_accepted(true);
      Reply();
      Finish(grpc::Status::OK);
    });
  }

  void Reject(const Status& st) {
    if (st.code() != StatusCode::kUnavailable) spdlog::warn("rejected upload: {}", st.ToString());
    reply_msg_.set_protocol_version(kProtocolVersion);
    reply_msg_.set_accepted(false);
    auto* e = reply_msg_.mutable_error();
    e->set_code(static_cast<int>(st.code()));
    e->set_message(st.message());
    e->set_round(header_.round());
    e->set_client_id(header_.client_id());
    Reply();
    Release();
    Finish(ToGrpc(st));
  }

  void Reply() {
    bool own = false;
    grpc::SerializationTraits<shoal::v1::SubmitReply>::Serialize(reply_msg_, reply_, &own);
  }

  // Gives back the upload budget and the ingest buffer (any thread).
  void Release() {
    if (held_ == 0 && in_flight_ == 0 && buf_.capacity() == 0) return;
    const int64_t n = held_, f = in_flight_;
    held_ = in_flight_ = 0;
    AggregatorService* svc = svc_;
    svc_->Post([svc, n, f, b = std::make_shared<std::vector<float>>(std::move(buf_))]() mutable {
      svc->ReturnBuffer(std::move(*b));
      if (f > 0) svc->transport_.Release(f);  // reverse order of Acquire
      if (n > 0) svc->uploads_.Release(n);
    });
    buf_ = {};
  }

  AggregatorService* svc_;
  grpc::CallbackServerContext* ctx_;
  grpc::ByteBuffer* reply_;
  shoal::v1::SubmitReply reply_msg_;
  grpc::ByteBuffer in_;
  shoal::v1::ResultHeader header_;
  bool have_header_ = false;
  int64_t held_ = 0;       // upload budget held
  int64_t in_flight_ = 0;  // transport allowance held
  std::vector<float> buf_;  // total_bytes() of room once admitted
  uint8_t prefix_[64];       // the upload's first ingest_prefix_bytes()
  IngestTarget target_;      // where the next data bytes go
  size_t finite_ = 0;        // leading floats of buf_ checked finite (CheckFinite)
  bool finite_stopped_ = false;
};

std::vector<float> AggregatorService::TakeBuffer(int64_t bytes) {
  const size_t n = static_cast<size_t>((bytes + 3) / 4) + 1;
  auto best = spare_.end();
  for (auto it = spare_.begin(); it != spare_.end(); ++it)
    if (it->capacity() >= n && (best == spare_.end() || it->capacity() < best->capacity())) best = it;
  std::vector<float> b;
  if (best != spare_.end()) {
    b = std::move(*best);
    spare_.erase(best);
  }
  b.resize(n);  // zero-fills only what a reused buffer did not hold before
  return b;
}

void AggregatorService::ReturnBuffer(std::vector<float> b) {
  if (b.capacity() == 0) return;
  int64_t kept = static_cast<int64_t>(b.capacity() * sizeof(float));
  for (const auto& s : spare_) kept += static_cast<int64_t>(s.capacity() * sizeof(float));
  const int64_t limit = opts_.upload_budget_bytes > 0 ? opts_.upload_budget_bytes
                                                      : 2 * static_cast<int64_t>(b.capacity() * sizeof(float));
  if (kept <= limit) spare_.push_back(std::move(b));
}

AggregatorService::AggregatorService(ServiceOptions opts, boost::asio::io_context& loop)
    : opts_(std::move(opts)), loop_(loop) {
  uploads_.budget = opts_.upload_budget_bytes;
  transport_.budget = opts_.transport_allowance_bytes;
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

grpc::ServerWriteReactor<grpc::ByteBuffer>* AggregatorService::GetTask(grpc::CallbackServerContext* ctx,
                                                                    const grpc::ByteBuffer* request) {
  return new TaskWriter(this, ctx, request);
}

grpc::ServerReadReactor<grpc::ByteBuffer>* AggregatorService::SubmitResult(grpc::CallbackServerContext* ctx,
                                                                           grpc::ByteBuffer* reply) {
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
