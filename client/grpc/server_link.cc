#include "client/grpc/server_link.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/proto_buffer_reader.h>

#include <cstring>
#include <fstream>
#include <sstream>

namespace shoal::client {
namespace {

Result<std::string> ReadText(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Status FromGrpc(const grpc::Status& st) {
  if (st.ok()) return Status::Ok();
  return Status(static_cast<StatusCode>(st.error_code()), st.error_message());
}

Result<std::unique_ptr<ServerLink>> ServerLink::Connect(const LinkOptions& opts) {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(opts.chunk_bytes + (1 << 20));
  args.SetMaxSendMessageSize(-1);
  // One connection per link, even when a process holds several (benchmarks).
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (opts.insecure) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions o;
    if (opts.ca.empty()) return InvalidArgument("TLS needs tls.ca (the server's CA certificate) or --insecure");
    ASSIGN_OR_RETURN(o.pem_root_certs, ReadText(opts.ca));
    if (!opts.cert.empty()) {
      ASSIGN_OR_RETURN(o.pem_cert_chain, ReadText(opts.cert));
      ASSIGN_OR_RETURN(o.pem_private_key, ReadText(opts.key));
    }
    creds = grpc::SslCredentials(o);
    if (!opts.server_name.empty()) args.SetSslTargetNameOverride(opts.server_name);
  }
  auto link = std::unique_ptr<ServerLink>(new ServerLink());
  link->opts_ = opts;
  link->channel_ = grpc::CreateCustomChannel(opts.address, creds, args);
  link->stub_ = shoal::v1::Aggregator::NewStub(link->channel_);
  return link;
}

void ServerLink::Prepare(grpc::ClientContext& ctx) const {
  if (!opts_.token.empty()) ctx.AddMetadata("authorization", "Bearer " + opts_.token);
}

Result<shoal::v1::RegisterReply> ServerLink::Register(const shoal::v1::RegisterRequest& req) {
  grpc::ClientContext ctx;
  Prepare(ctx);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  shoal::v1::RegisterReply reply;
  RETURN_IF_ERROR(FromGrpc(stub_->Register(&ctx, req, &reply)));
  return reply;
}

Result<ServerLink::Fetched> ServerLink::GetTask(int client, int wait_ms) {
  grpc::ClientContext ctx;
  Prepare(ctx);
  shoal::v1::GetTaskRequest req;
  req.set_protocol_version(kProtocolVersion);
  req.set_client_id(client);
  req.set_wait_ms(wait_ms);
  // Raw messages: data chunks are parsed here and their bytes copied once,
  // from gRPC's receive slices into the model (the generated reader would
  // copy them into a message first).
  static const char kMethod[] = "/shoal.v1.Aggregator/GetTask";
  grpc::internal::RpcMethod method(kMethod, grpc::internal::RpcMethod::SERVER_STREAMING, channel_);
  std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
      grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(channel_.get(), method, &ctx, req));
  grpc::ByteBuffer msg;
  Fetched f;
  shoal::v1::TaskHeader h;
  bool have_header = false;
  std::vector<float> model;
  std::vector<std::vector<float>> extras;
  size_t piece = 0, filled = 0;  // bytes filled of the current piece
  auto piece_bytes = [&](size_t i) -> std::pair<char*, size_t> {
    std::vector<float>& v = i == 0 ? model : extras[i - 1];
    return {reinterpret_cast<char*>(v.data()), v.size() * sizeof(float)};
  };
  using WFL = google::protobuf::internal::WireFormatLite;
  while (reader->Read(&msg)) {
    if (!have_header) {
      shoal::v1::TaskChunk chunk;
      if (!grpc::SerializationTraits<shoal::v1::TaskChunk>::Deserialize(&msg, &chunk).ok())
        return InvalidArgument("task stream: the first message does not parse");
      if (chunk.protocol_version() != kProtocolVersion)
        return FailedPrecondition("task stream: protocol_version " + std::to_string(chunk.protocol_version()));
      if (!chunk.has_header()) return InvalidArgument("task stream: data before the header");
      h = chunk.header();
      have_header = true;
      if (h.num_params() < 0 || h.extra_names_size() != h.extra_sizes_size())
        return InvalidArgument("task stream: malformed header");
      model.resize(static_cast<size_t>(h.num_params()));
      for (int i = 0; i < h.extra_sizes_size(); ++i) extras.emplace_back(static_cast<size_t>(h.extra_sizes(i)));
      continue;
    }
    grpc::ProtoBufferReader zin(&msg);
    google::protobuf::io::CodedInputStream in(&zin);
    uint32_t version = 0;
    bool data = false;
    while (const uint32_t tag = in.ReadTag()) {
      const int field = WFL::GetTagFieldNumber(tag);
      if (field == 1 && WFL::GetTagWireType(tag) == WFL::WIRETYPE_VARINT) {
        if (!in.ReadVarint32(&version)) return InvalidArgument("task stream: malformed chunk");
      } else if (field == 3 && WFL::GetTagWireType(tag) == WFL::WIRETYPE_LENGTH_DELIMITED && !data) {
        uint32_t len = 0;
        if (!in.ReadVarint32(&len)) return InvalidArgument("task stream: malformed chunk");
        for (size_t left = len; left > 0;) {
          while (piece <= extras.size() && filled >= piece_bytes(piece).second) ++piece, filled = 0;
          if (piece > extras.size()) return InvalidArgument("task stream: more data than the header announced");
          auto [dst, size] = piece_bytes(piece);
          const size_t n = std::min(size - filled, left);
          if (!in.ReadRaw(dst + filled, static_cast<int>(n))) return InvalidArgument("task stream: truncated chunk");
          filled += n, left -= n;
        }
        data = true;
      } else if (field == 2 || field == 3) {
        return InvalidArgument("task stream: a second header or two data fields in one chunk");
      } else if (!WFL::SkipField(&in, tag)) {
        return InvalidArgument("task stream: malformed chunk");
      }
    }
    msg.Clear();
    if (!in.ConsumedEntireMessage()) return InvalidArgument("task stream: malformed chunk");
    if (version != kProtocolVersion) return FailedPrecondition("task stream: protocol_version " + std::to_string(version));
  }
  RETURN_IF_ERROR(FromGrpc(reader->Finish()));
  if (!have_header) return DataLoss("task stream ended without a header");
  if (h.kind() == shoal::v1::TaskHeader::KIND_FINISHED) f.kind = Fetched::Kind::kFinished;
  if (h.kind() != shoal::v1::TaskHeader::KIND_TASK) return f;
  while (piece <= extras.size() && filled >= piece_bytes(piece).second) ++piece, filled = 0;
  if (piece <= extras.size()) return DataLoss("task stream truncated: model or extras incomplete");
  f.kind = Fetched::Kind::kTask;
  f.task.task_id = h.task_id();
  f.task.round = h.round();
  f.task.client = client;
  f.task.model.version = h.model_version();
  f.task.model.params = std::make_shared<const std::vector<float>>(std::move(model));
  for (const auto& [k, v] : h.hparams()) f.task.hparams[k] = v;
  for (int i = 0; i < h.extra_names_size(); ++i)
    f.task.extras[h.extra_names(i)] = std::make_shared<const std::vector<float>>(std::move(extras[static_cast<size_t>(i)]));
  return f;
}

namespace {

// A ResultChunk{protocol_version, data = bytes} as a ByteBuffer whose data
// slice points at `bytes` (no copy): the protobuf wire form written by hand,
// field 1 (varint) then field 3 (length-delimited). `bytes` must outlive the
// write; Submit's caller holds it until the call has finished.
grpc::ByteBuffer DataChunk(std::span<const uint8_t> bytes) {
  uint8_t pre[16];
  size_t k = 0;
  pre[k++] = 0x08;  // field 1, varint
  for (uint32_t v = kProtocolVersion; ; v >>= 7) {
    pre[k++] = static_cast<uint8_t>((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
    if (v < 0x80) break;
  }
  pre[k++] = 0x1a;  // field 3, length-delimited
  for (uint64_t v = bytes.size(); ; v >>= 7) {
    pre[k++] = static_cast<uint8_t>((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
    if (v < 0x80) break;
  }
  grpc::Slice slices[2] = {grpc::Slice(pre, k),
                           grpc::Slice(bytes.data(), bytes.size(), grpc::Slice::STATIC_SLICE)};
  return grpc::ByteBuffer(slices, 2);
}

}  // namespace

Status ServerLink::Submit(const Task& task, std::span<const uint8_t> bytes, int64_t num_samples,
                          int64_t declared_bytes) {
  grpc::ClientContext ctx;
  Prepare(ctx);
  shoal::v1::SubmitReply reply;
  // The generated stub would copy every chunk twice (into the message, then
  // into its serialization); writing ByteBuffers sends the update in place.
  static const char kMethod[] = "/shoal.v1.Aggregator/SubmitResult";
  grpc::internal::RpcMethod method(kMethod, grpc::internal::RpcMethod::CLIENT_STREAMING, channel_);
  std::unique_ptr<grpc::ClientWriter<grpc::ByteBuffer>> writer(
      grpc::internal::ClientWriterFactory<grpc::ByteBuffer>::Create(channel_.get(), method, &ctx, &reply));
  shoal::v1::ResultChunk chunk;
  chunk.set_protocol_version(kProtocolVersion);
  auto* h = chunk.mutable_header();
  h->set_client_id(task.client);
  h->set_task_id(task.task_id);
  h->set_round(task.round);
  h->set_total_bytes(declared_bytes >= 0 ? declared_bytes : static_cast<int64_t>(bytes.size()));
  h->set_num_samples(num_samples);
  grpc::ByteBuffer header;
  bool own = false;
  if (!grpc::SerializationTraits<shoal::v1::ResultChunk>::Serialize(chunk, &header, &own).ok())
    return Internal("SubmitResult: cannot serialize the header");
  bool ok = writer->Write(header);
  // The server answers the header with its initial metadata once the upload
  // is admitted (or ends the call with the reason it is not): no data is
  // sent before, so waiting uploads cost the server no memory.
  if (ok && bytes.size() > 0) writer->WaitForInitialMetadata();
  for (size_t off = 0; ok && off < bytes.size(); off += static_cast<size_t>(opts_.chunk_bytes)) {
    const size_t n = std::min(bytes.size() - off, static_cast<size_t>(opts_.chunk_bytes));
    ok = writer->Write(DataChunk(bytes.subspan(off, n)));
  }
  writer->WritesDone();
  return FromGrpc(writer->Finish());
}

Result<shoal::v1::HeartbeatReply> ServerLink::Heartbeat(int client) {
  grpc::ClientContext ctx;
  Prepare(ctx);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  shoal::v1::HeartbeatRequest req;
  req.set_protocol_version(kProtocolVersion);
  req.set_client_id(client);
  shoal::v1::HeartbeatReply reply;
  RETURN_IF_ERROR(FromGrpc(stub_->Heartbeat(&ctx, req, &reply)));
  return reply;
}

}  // namespace shoal::client
