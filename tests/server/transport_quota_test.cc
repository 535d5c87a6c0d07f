// Server config defaults and the gRPC transport quota. Admitted uploads'
// bytes in flight must fit in gRPC's memory quota: with TLS, four 1 MB
// uploads admitted at once under a 1 MiB quota were reset by gRPC
// (RESOURCE_EXHAUSTED, "RST_STREAM with error code 11"): only 1-2 of 4 got
// through, and with 200 bench clients rounds never completed. Uploads are
// now admitted only while their bytes in flight fit in 3/4 of the quota, so
// every upload below completes, whatever the upload budget.
#include <gtest/gtest.h>

#include <barrier>
#include <mutex>
#include <filesystem>
#include <fstream>
#include <thread>

#include "client/grpc/server_link.h"
#include "server/grpc/certs.h"
#include "server/grpc/grpc_server.h"
#include "server/grpc/server_config.h"

namespace shoal::server {
namespace {

namespace fs = std::filesystem;

TEST(ServerConfig, DefaultBudgetIsTwoDenseUpdatesAndUploadsAreChargedTheirWindow) {
  auto c = LoadServerConfig("", 1000);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->service.upload_budget_bytes, 2 * (4000 + 65536));
  EXPECT_EQ(c->coordinator.max_update_bytes, 4 * 4000 + (1 << 20));
  EXPECT_EQ(TransportAllowanceBytes(*c), 12 << 20);  // 3/4 of the 16 MiB quota
  // 4 MiB stream window + one 1 MiB chunk + 64 KiB of framing.
  EXPECT_EQ(StreamInFlightBytes(*c), (4 << 20) + (1 << 20) + (64 << 10));
  c->transport_bdp_probe = true;  // windows may grow: whole uploads are charged
  EXPECT_EQ(StreamInFlightBytes(*c), 0);
}

TEST(ServerConfig, LimitsAreReadAndBadBudgetNamesTheKey) {
  const fs::path dir = fs::temp_directory_path() / ("shoal_cfg_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "limits.yaml") << "limits: {upload_budget_bytes: 0, transport_memory_bytes: 2097152, "
                                        "transport_stream_window_bytes: 65536, chunk_bytes: 4096}\n";
  auto c = LoadServerConfig((dir / "limits.yaml").string(), 1000);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->service.upload_budget_bytes, 0);
  EXPECT_EQ(TransportAllowanceBytes(*c), 1572864);
  EXPECT_EQ(StreamInFlightBytes(*c), 65536 + 4096 + 65536);
  std::ofstream(dir / "bad.yaml") << "limits: {upload_budget_bytes: -5}\n";
  auto bad = LoadServerConfig((dir / "bad.yaml").string(), 1000);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.yaml"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("upload_budget_bytes"), std::string::npos) << bad.status().message();
  // One upload in flight (4 MiB window + 1 MiB chunk + 64 KiB = 5308416
  // bytes) must fit in 3/4 of the quota (rounded up): 7077887 bytes is the
  // least quota, one byte less is refused, naming the key.
  std::ofstream(dir / "ok.yaml") << "limits: {transport_memory_bytes: 7077887}\n";
  EXPECT_TRUE(LoadServerConfig((dir / "ok.yaml").string(), 1000).ok());
  std::ofstream(dir / "small.yaml") << "limits: {transport_memory_bytes: 7077886}\n";
  auto small = LoadServerConfig((dir / "small.yaml").string(), 1000);
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.status().message().find("small.yaml"), std::string::npos) << small.status().message();
  EXPECT_NE(small.status().message().find("transport_memory_bytes: expected at least 7077887"), std::string::npos)
      << small.status().message();
  fs::remove_all(dir);
}

struct Outcome {
  int accepted = 0;
  std::string first_error;  // of the uploads not accepted
};

// One FedAvg round over TLS: `clients` clients upload a dense update of
// `params` zeros all at once, in 64 KiB chunks over 64 KiB stream windows,
// under a 1 MiB transport_memory_bytes (each upload may have 192 KiB in
// flight: four at a time fit in the 768 KiB allowance).
Outcome UploadAllAtOnce(const std::string& certs, int clients, int64_t params, int64_t budget_bytes) {
  ParamLayout layout;
  layout.Add("w", {params});
  auto root = ConfigNode::Parse("strategy: {name: fedavg, rounds: 1, clients_per_round: " + std::to_string(clients) +
                                    "}\nclient: {}\n",
                                "quota.yaml")
                  .value();
  Algorithm alg = MakeAlgorithm(root.Child("strategy"), root.Child("client")).value();
  ServerConfig cfg;
  cfg.address = "127.0.0.1:0";
  cfg.tls_cert = certs + "/server.crt";
  cfg.tls_key = certs + "/server.key";
  cfg.coordinator.ordered_commit = false;
  cfg.coordinator.max_update_bytes = params * 4 + (1 << 20);
  cfg.service.max_update_bytes = cfg.coordinator.max_update_bytes;
  cfg.service.upload_budget_bytes = budget_bytes;
  cfg.transport_memory_bytes = 1 << 20;
  cfg.transport_stream_window_bytes = 64 << 10;
  cfg.service.chunk_bytes = 64 << 10;
  cfg.finish_grace_s = 1;
  MemorySink sink;
  ServerParts parts;
  parts.algorithm = &alg;
  parts.backend = GetBackend("cpu_ref").value();
  parts.layout = &layout;
  parts.client_samples.assign(static_cast<size_t>(clients), 1);
  parts.initial.assign(static_cast<size_t>(params), 0.0f);
  parts.sink = &sink;
  auto server = GrpcServer::Start(cfg, /*insecure=*/false, /*resume=*/false, std::move(parts));
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  if (!server.ok()) return {};
  ClientUpdate u;
  u.delta.assign(static_cast<size_t>(params), 0.0f);
  u.num_samples = 1;
  TransformContext tc{GetBackend("cpu_ref").value(), &layout, 0, 0, 0, 0};
  const std::vector<uint8_t> payload = DenseCodec()->Encode(u, tc).value();
  Outcome out;
  std::mutex mu;
  std::barrier together(clients);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      client::LinkOptions o;
      o.address = "127.0.0.1:" + std::to_string((*server)->port());
      o.ca = certs + "/ca.crt";
      o.server_name = "localhost";
      o.chunk_bytes = 64 << 10;
      auto link = client::ServerLink::Connect(o).value();
      shoal::v1::RegisterRequest req;
      req.set_protocol_version(1);
      req.set_client_id(c);
      req.set_num_samples(1);
      req.set_procedure("fedavg");
      req.set_num_params(params);
      bool registered = link->Register(req).ok();
      auto task = registered ? link->GetTask(c, 20000) : Result<client::ServerLink::Fetched>(Unavailable("no task"));
      together.arrive_and_wait();  // all uploads start together
      Status st = !task.ok() ? task.status()
                  : task->kind != client::ServerLink::Fetched::Kind::kTask ? Unavailable("no task")
                                                                           : link->Submit(task->task, payload, 1);
      std::lock_guard<std::mutex> l(mu);
      if (st.ok()) {
        ++out.accepted;
      } else if (out.first_error.empty()) {
        out.first_error = st.ToString();
      }
    });
  for (auto& t : threads) t.join();
  return out;
}

TEST(TransportQuota, UploadsAdmittedBeyondTheBaseQuotaCompleteOverTls) {
  const fs::path certs = fs::temp_directory_path() / ("shoal_quota_certs_" + std::to_string(::getpid()));
  ASSERT_TRUE(GenerateCerts(certs.string()).ok());
  constexpr int kClients = 16;
  constexpr int64_t kParams = 250000;  // 1 MB uploads
  // A budget of all sixteen uploads, then an unlimited one: without the
  // transport allowance all sixteen streams would be read at once against
  // the 1 MiB quota.
  Outcome budget = UploadAllAtOnce(certs.string(), kClients, kParams, kClients * (kParams * 4 + 4096));
  EXPECT_EQ(budget.accepted, kClients) << budget.first_error;
  Outcome unlimited = UploadAllAtOnce(certs.string(), kClients, kParams, 0);
  EXPECT_EQ(unlimited.accepted, kClients) << unlimited.first_error;
  fs::remove_all(certs);
}

}  // namespace
}  // namespace shoal::server
