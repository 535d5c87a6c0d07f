// shoal-server's gRPC layer in process on a loopback port: real clients
// (ServerLink + ClientRuntime) against a real GrpcServer, plain text.
#include "server/grpc/grpc_server.h"

#include <gtest/gtest.h>

#include <grpcpp/grpcpp.h>

#include <cmath>
#include <span>
#include <thread>

#include "client/grpc/client_loop.h"
#include "sim/simulator.h"
#include "tests/sim/sim_fixture.h"

namespace shoal::server {
namespace {

constexpr char kYaml[] =
    "strategy: {name: fedavg, rounds: 3, clients_per_round: 2}\n"
    "client: {epochs: 1, batch_size: 8, optimizer: {name: sgd, lr: 0.1}}\n";
constexpr uint64_t kSeed = 11;

// One server over a 2-client blobs experiment; tokens "t0", "t1".
struct Harness {
  explicit Harness(int64_t max_update_bytes = 0) {
    exp = testing::MakeExperiment(testing::MakeBlobs(2, 40), "logreg", kYaml);
    cfg.address = "127.0.0.1:0";
    cfg.service.tokens = {{0, "t0"}, {1, "t1"}};
    cfg.coordinator.seed = kSeed;
    if (max_update_bytes > 0) cfg.coordinator.max_update_bytes = max_update_bytes;
    cfg.finish_grace_s = 2;
    ServerParts parts;
    parts.algorithm = &exp.algorithm;
    parts.backend = exp.backend;
    parts.layout = &exp.model->layout();
    for (const auto& idx : exp.data.client_train) parts.client_samples.push_back(static_cast<int64_t>(idx.size()));
    parts.initial.resize(static_cast<size_t>(exp.model->num_params()));
    exp.model->Init(parts.initial, kSeed);
    parts.sink = &sink;
    auto s = GrpcServer::Start(cfg, /*insecure=*/true, /*resume=*/false, std::move(parts));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    server = std::move(s).value();
  }
  std::unique_ptr<client::ServerLink> Link(const std::string& token) {
    client::LinkOptions o;
    o.address = "127.0.0.1:" + std::to_string(server->port());
    o.insecure = true;
    o.token = token;
    return client::ServerLink::Connect(o).value();
  }
  std::unique_ptr<client::ClientRuntime> Runtime(int c) {
    static const UpdatePipeline kDense;
    return std::make_unique<client::ClientRuntime>(*exp.algorithm.procedure, kDense, *exp.model, *exp.backend,
                                                   exp.data.train, exp.data.client_train[static_cast<size_t>(c)],
                                                   kSeed, c);
  }
  Status Register(client::ServerLink& link, int c) {
    shoal::v1::RegisterRequest req;
    req.set_protocol_version(1);
    req.set_client_id(c);
    req.set_num_samples(40);
    req.set_procedure("fedavg");
    req.set_num_params(exp.model->num_params());
    return link.Register(req).status();
  }
  std::vector<float> Global() {
    std::vector<float> g;
    server->Inspect([&](Coordinator& c, AggregatorService&) { g = *c.global_model().params; });
    return g;
  }
  sim::Experiment exp;
  ServerConfig cfg;
  MemorySink sink;
  std::unique_ptr<GrpcServer> server;
};

TEST(GrpcServer, TwoClientsOverLoopbackMatchTheSimulatorBitForBit) {
  Harness h;
  std::vector<std::thread> clients;
  std::vector<Status> results(2);
  for (int c = 0; c < 2; ++c)
    clients.emplace_back([&, c] {
      auto link = h.Link("t" + std::to_string(c));
      auto rt = h.Runtime(c);
      auto r = client::RunSession(*link, *rt, client::RetryOptions{});
      results[static_cast<size_t>(c)] = r.status();
    });
  for (auto& t : clients) t.join();
  for (const auto& st : results) EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(h.server->Wait().ok());
  std::vector<float> served = h.Global();

  sim::Experiment ref = testing::MakeExperiment(testing::MakeBlobs(2, 40), "logreg", kYaml);
  MemorySink sink;
  sim::SimOptions so;
  so.seed = kSeed;
  so.threads = 2;
  auto sum = sim::Simulator(ref, so, sink).Run();
  ASSERT_TRUE(sum.ok()) << sum.status().ToString();
  ASSERT_EQ(served.size(), sum->final_model.size());
  EXPECT_EQ(0, std::memcmp(served.data(), sum->final_model.data(), served.size() * sizeof(float)));
}

TEST(GrpcServer, RejectsUnauthenticatedAndUnregisteredClients) {
  Harness h;
  auto bad = h.Link("wrong");
  Status st = h.Register(*bad, 0);
  EXPECT_EQ(st.code(), StatusCode::kUnauthenticated) << st.ToString();
  auto none = h.Link("");
  EXPECT_EQ(none->GetTask(1, 0).status().code(), StatusCode::kUnauthenticated);
  auto good = h.Link("t1");
  st = good->GetTask(1, 0).status();
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("not registered"), std::string::npos) << st.message();
  EXPECT_TRUE(h.Register(*good, 1).ok());  // and the server still serves
}

// Both clients registered, each holding its round-0 task.
struct Round0 {
  explicit Round0(Harness& h) {
    for (int c = 0; c < 2; ++c) {
      links.push_back(h.Link("t" + std::to_string(c)));
      EXPECT_TRUE(h.Register(*links.back(), c).ok());
    }
    for (int c = 0; c < 2; ++c) {
      auto f = links[static_cast<size_t>(c)]->GetTask(c, 2000);
      EXPECT_TRUE(f.ok() && f->kind == client::ServerLink::Fetched::Kind::kTask);
      tasks.push_back(f->task);
      rts.push_back(h.Runtime(c));
      payloads.push_back(rts.back()->Run(tasks.back()).value());
    }
    before = h.Global();
  }
  std::vector<std::unique_ptr<client::ServerLink>> links;
  std::vector<std::unique_ptr<client::ClientRuntime>> rts;
  std::vector<Task> tasks;
  std::vector<std::vector<uint8_t>> payloads;
  std::vector<float> before;
};

TEST(GrpcServer, TruncatedWrongRoundDuplicateAndNanUploadsAreRejected) {
  Harness h;
  Round0 r(h);
  client::ServerLink& l0 = *r.links[0];
  // Stream ends before the declared length.
  Status st = l0.Submit(r.tasks[0], r.payloads[0], 40, static_cast<int64_t>(r.payloads[0].size()) + 100);
  EXPECT_EQ(st.code(), StatusCode::kDataLoss) << st.ToString();
  EXPECT_NE(st.message().find("truncated"), std::string::npos);
  // Wrong round.
  Task wrong = r.tasks[0];
  wrong.round = 4;
  st = l0.Submit(wrong, r.payloads[0], 40);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_EQ(h.Global(), r.before);
  // The real upload is accepted after those, then a duplicate is refused.
  EXPECT_TRUE(l0.Submit(r.tasks[0], r.payloads[0], 40).ok());
  st = l0.Submit(r.tasks[0], r.payloads[0], 40);
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.ToString();
  // Client 1 sends Inf in place of its update: rejected, model unchanged.
  ClientUpdate u;
  u.delta.assign(static_cast<size_t>(h.exp.model->num_params()), 0.0f);
  u.delta[3] = std::numeric_limits<float>::infinity();
  u.num_samples = 40;
  TransformContext tc{h.exp.backend, &h.exp.model->layout(), kSeed, 0, 1, r.tasks[1].task_id};
  std::vector<uint8_t> inf = DenseCodec()->Encode(u, tc).value();
  st = r.links[1]->Submit(r.tasks[1], inf, 40);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("NaN/Inf"), std::string::npos);
  // Round 0 closed with client 0 alone: x + (40 d) * (1/40) in float, as
  // FedAvg's rule computes it (weighted sum, scale by 1/sum of weights).
  std::vector<float> g = h.Global();
  ClientUpdate u0 = DenseCodec()->Decode(r.payloads[0], h.exp.model->num_params(), tc).value();
  const float inv = static_cast<float>(1.0 / 40.0);
  for (size_t i = 0; i < g.size(); ++i) ASSERT_EQ(g[i], r.before[i] + (40.0f * u0.delta[i]) * inv) << i;
}

TEST(GrpcServer, OversizedUploadRefusedWithoutAllocating) {
  Harness h(/*max_update_bytes=*/4096);
  Round0 r(h);
  Status st = r.links[0]->Submit(r.tasks[0], r.payloads[0], 40, int64_t{1} << 40);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted) << st.ToString();
  int64_t peak = -1;
  h.server->Inspect([&](Coordinator&, AggregatorService& s) { peak = s.peak_upload_bytes(); });
  EXPECT_EQ(peak, 0);  // no upload buffer was ever reserved
  // A single message above the per-message limit is refused by gRPC itself.
  r.links[0]->set_chunk_bytes(4 << 20);
  std::vector<uint8_t> big(3 << 20, 0);
  st = r.links[0]->Submit(r.tasks[0], big, 40, 4000);
  EXPECT_NE(st.code(), StatusCode::kOk);
  EXPECT_EQ(h.Global(), r.before);
}

// The server parses upload chunks itself (raw SubmitResult, one copy from
// gRPC's slices into the ingest buffer). Hand-framed protobuf messages probe
// that parser: a header then `chunks` as raw bytes. Returns the call status.
Status RawSubmit(Harness& h, const std::string& token, const Task& task, int64_t total,
                 const std::vector<std::vector<uint8_t>>& chunks) {
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(h.server->port()),
                                     grpc::InsecureChannelCredentials());
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + token);
  shoal::v1::SubmitReply reply;
  grpc::internal::RpcMethod method("/shoal.v1.Aggregator/SubmitResult", grpc::internal::RpcMethod::CLIENT_STREAMING,
                                   channel);
  std::unique_ptr<grpc::ClientWriter<grpc::ByteBuffer>> w(
      grpc::internal::ClientWriterFactory<grpc::ByteBuffer>::Create(channel.get(), method, &ctx, &reply));
  shoal::v1::ResultChunk head;
  head.set_protocol_version(1);
  head.mutable_header()->set_client_id(task.client);
  head.mutable_header()->set_task_id(task.task_id);
  head.mutable_header()->set_round(task.round);
  head.mutable_header()->set_total_bytes(total);
  head.mutable_header()->set_num_samples(40);
  grpc::ByteBuffer hb;
  bool own = false;
  EXPECT_TRUE(grpc::SerializationTraits<shoal::v1::ResultChunk>::Serialize(head, &hb, &own).ok());
  bool ok = w->Write(hb);
  if (ok) w->WaitForInitialMetadata();
  for (const auto& c : chunks) {
    if (!ok) break;
    grpc::Slice slice(c.data(), c.size());
    ok = w->Write(grpc::ByteBuffer(&slice, 1));
  }
  w->WritesDone();
  return client::FromGrpc(w->Finish());
}

// protobuf wire form of ResultChunk fields: version (1), data (3), field 7.
std::vector<uint8_t> Framed(std::span<const uint8_t> data, bool version = true, int data_fields = 1,
                            bool unknown = false, int64_t claimed_extra = 0) {
  std::vector<uint8_t> m;
  auto varint = [&](uint64_t v) {
    for (; v >= 0x80; v >>= 7) m.push_back(static_cast<uint8_t>(v | 0x80));
    m.push_back(static_cast<uint8_t>(v));
  };
  if (unknown) m.insert(m.end(), {0x38, 0x2a});  // field 7, varint 42
  if (version) m.insert(m.end(), {0x08, 0x01});
  for (int i = 0; i < data_fields; ++i) {
    m.push_back(0x1a);
    varint(data.size() + static_cast<uint64_t>(claimed_extra));
    m.insert(m.end(), data.begin(), data.end());
  }
  return m;
}

TEST(GrpcServer, HandFramedChunksAreParsedStrictlyAndUnknownFieldsSkipped) {
  Harness h;
  Round0 r(h);
  const std::vector<uint8_t>& p = r.payloads[0];
  const int64_t total = static_cast<int64_t>(p.size());
  const std::span<const uint8_t> first(p.data(), p.size() / 2), rest(p.data() + p.size() / 2, p.size() - p.size() / 2);
  struct Bad {
    const char* what;
    std::vector<std::vector<uint8_t>> chunks;
    const char* message;
    StatusCode code = StatusCode::kInvalidArgument;
  };
  const std::vector<Bad> bad = {
      {"two data fields in one message", {Framed(first, true, 2)}, "two data fields"},
      {"length beyond the message", {Framed(first, true, 1, false, 5)}, "shorter than its length"},
      {"more bytes than declared", {Framed(p), Framed(first)}, "more bytes than the declared"},
      {"no protocol version", {Framed(first, false), Framed(rest)}, "protocol_version 0", StatusCode::kFailedPrecondition},
      {"garbage", {std::vector<uint8_t>{0xff, 0xff, 0xff}}, "malformed"},
  };
  for (const Bad& b : bad) {
    Status st = RawSubmit(h, "t0", r.tasks[0], total, b.chunks);
    EXPECT_EQ(st.code(), b.code) << b.what << ": " << st.ToString();
    EXPECT_NE(st.message().find(b.message), std::string::npos) << b.what << ": " << st.message();
    EXPECT_EQ(h.Global(), r.before) << b.what;
  }
  // Unknown fields are skipped, as protobuf does: the upload is accepted and
  // counts exactly as the client library's own upload would.
  EXPECT_TRUE(RawSubmit(h, "t0", r.tasks[0], total, {Framed(first, true, 1, true), Framed(rest)}).ok());
  EXPECT_TRUE(r.links[1]->Submit(r.tasks[1], r.payloads[1], 40).ok());
  std::vector<float> g = h.Global();
  EXPECT_NE(g, r.before);  // round 0 closed with both uploads
}

}  // namespace
}  // namespace shoal::server
