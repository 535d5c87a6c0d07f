// shoal-server: serves a scenario's strategy to shoal-client processes over
// gRPC (TLS by default), aggregating with the very Strategy the simulator runs.
//
//   shoal-server run SCENARIO --config server.yaml [--resume] [--insecure] [--out DIR] [--set k=v]
//   shoal-server gen-certs DIR     # self-signed CA + localhost server/client certs (openssl CLI)
#include <spdlog/spdlog.h>

#include <malloc.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/backend_cpu_simd.h"
#include "proto/grpc_runtime.h"
#include "server/checkpoint.h"
#include "server/grpc/certs.h"
#include "server/grpc/grpc_server.h"
#include "server/grpc/server_config.h"
#include "sim/scenario.h"

namespace fs = std::filesystem;
using namespace shoal;

namespace {

int Fail(const Status& st) {
  spdlog::error("{}", st.ToString());
  return 1;
}

// (mean loss, accuracy) over the first `max` test rows (all when 0), in
// fixed-size chunks summed in order: the simulator's numbers, on one thread.
std::pair<double, double> Evaluate(const Model<float>& proto, const Backend& be, const Dataset& test, int64_t max,
                                   std::span<const float> params) {
  const int64_t n = max > 0 ? std::min(max, test.size()) : test.size();
  if (n == 0) return {0.0, 0.0};
  constexpr int64_t kChunk = 256;
  std::unique_ptr<Model<float>> model = proto.Clone();
  TrainContext ctx;
  ctx.backend = &be;
  double loss = 0;
  int64_t correct = 0;
  for (int64_t lo = 0; lo < n; lo += kChunk) {
    const int64_t hi = std::min(n, lo + kChunk);
    std::vector<int64_t> rows;
    for (int64_t i = lo; i < hi; ++i) rows.push_back(i);
    GatherBatch(test, rows, ctx);
    int64_t ok = 0;
    loss += model->Loss(be, params, ctx.batch_x.data(), ctx.batch_y.data(), static_cast<int>(hi - lo), &ok) *
            static_cast<double>(hi - lo);
    correct += ok;
  }
  return {loss / static_cast<double>(n), static_cast<double>(correct) / static_cast<double>(n)};
}

int CmdRun(const std::string& scenario, const std::vector<std::string>& sets, const std::string& config_path,
           const std::string& out_arg, bool resume, bool insecure, const std::string& port_file) {
  auto sc = sim::LoadScenario(scenario, sets);
  if (!sc.ok()) return Fail(sc.status());
  auto exp = sim::BuildExperiment(*sc);
  if (!exp.ok()) return Fail(exp.status());
  auto cfg = server::LoadServerConfig(config_path, exp->model->num_params());
  if (!cfg.ok()) return Fail(cfg.status());
  cfg->coordinator.seed = sc->seed;
  cfg->coordinator.eval_every = sc->eval_every;
  spdlog::info("scenario {} ({}): model {} with {} parameters, {} clients, strategy {}, backend {} (CPU target {})",
               sc->name, scenario, sc->model, exp->model->num_params(), exp->data.num_clients(),
               exp->algorithm.strategy->name(), exp->backend->name(), CpuSimdBackend::CpuTarget());
  fs::path out = out_arg.empty() ? fs::path(sc->out_dir) / (sc->name + "_server") : fs::path(out_arg);
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) return Fail(Unavailable(out.string() + ": cannot create output directory: " + ec.message()));
  { std::ofstream(out / "config.resolved.yaml") << sc->root.Dump() << "\n"; }
  auto jsonl = MakeJsonlSink((out / "metrics.jsonl").string());
  if (!jsonl.ok()) return Fail(jsonl.status());
  auto console = MakeConsoleSink(exp->algorithm.strategy->total_rounds());
  MultiSink sink;
  sink.Add(jsonl->get());
  sink.Add(console.get());

  server::ServerParts parts;
  parts.algorithm = &exp->algorithm;
  parts.backend = exp->backend;
  parts.layout = &exp->model->layout();
  for (const auto& idx : exp->data.client_train) parts.client_samples.push_back(static_cast<int64_t>(idx.size()));
  parts.initial.resize(static_cast<size_t>(exp->model->num_params()));
  exp->model->Init(parts.initial, sc->seed);
  parts.sink = &sink;
  const Model<float>& proto = *exp->model;
  const Backend& be = *exp->backend;
  const Dataset& test = exp->data.test;
  const int64_t eval_max = sc->eval_max_samples;
  parts.evaluate = [&proto, &be, &test, eval_max](std::span<const float> p) { return Evaluate(proto, be, test, eval_max, p); };

  server::ConfigureServerAllocator(exp->model->num_params() * static_cast<int64_t>(sizeof(float)));
  auto srv = server::GrpcServer::Start(*cfg, insecure, resume, std::move(parts));
  if (!srv.ok()) return Fail(srv.status());
  if (!port_file.empty()) {  // for launchers that asked for port 0
    const std::string p = std::to_string((*srv)->port()) + "\n";
    Status w = server::WriteFileAtomic(port_file, std::span(reinterpret_cast<const uint8_t*>(p.data()), p.size()));
    if (!w.ok()) return Fail(w);
  }
  // SIGINT/SIGTERM: stop serving (the last checkpoint stays on disk).
  boost::asio::io_context signals_loop;
  boost::asio::signal_set signals(signals_loop, SIGINT, SIGTERM);
  server::GrpcServer* s = srv->get();
  signals.async_wait([s](const boost::system::error_code& e, int sig) {
    if (!e) spdlog::warn("signal {}: shutting down", sig);
    if (!e) s->Stop();
  });
  std::thread sig_thread([&] { signals_loop.run(); });
  Status st = (*srv)->Wait();
  signals_loop.stop();
  sig_thread.join();
  bool done = false;
  std::vector<float> final_model;
  int64_t rounds = 0;
  (*srv)->Inspect([&](server::Coordinator& c, server::AggregatorService&) {
    done = c.done();
    rounds = c.rounds_done();
    final_model = *c.global_model().params;
  });
  srv->reset();
  Status closed = sink.Close();
  if (!st.ok()) return Fail(st);
  if (!closed.ok()) return Fail(closed);
  if (!done) {
    spdlog::warn("stopped before training finished ({} rounds done)", rounds);
    return 2;
  }
  Status w = server::WriteModelFile((out / "final_model.bin").string(), final_model);
  if (!w.ok()) return Fail(w);
  nlohmann::ordered_json j;
  j["scenario"] = sc->name;
  j["rounds"] = rounds;
  j["num_params"] = final_model.size();
  { std::ofstream(out / "summary.json") << j.dump(2) << "\n"; }
  spdlog::info("done: {} rounds; final model in {}", rounds, (out / "final_model.bin").string());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  shoal::ConfigureGrpcRuntime();
  shoal::server::ConfigureServerAllocator();
  spdlog::set_pattern("[%H:%M:%S.%e] [server] [%^%l%$] %v");
  CLI::App app{"shoal-server: federated aggregation server"};
  app.require_subcommand(1);
  std::string scenario, config, out, dir, port_file;
  std::vector<std::string> sets;
  bool resume = false, insecure = false, verbose = false;
  app.add_flag("-v,--verbose", verbose, "debug logging");
  auto* run = app.add_subcommand("run", "serve a scenario");
  run->add_option("SCENARIO", scenario, "scenario YAML file")->required();
  run->add_option("--config", config, "server YAML (address, tls, tokens, checkpoint, limits)");
  run->add_option("--out", out, "output directory (default: runs/<name>_server)");
  run->add_option("--set", sets, "override a scenario key: key.path=value (repeatable)");
  run->add_option("--port-file", port_file, "write the bound port here (use with address port 0)");
  run->add_flag("--resume", resume, "continue from the last checkpoint");
  run->add_flag("--insecure", insecure, "serve plain text instead of TLS (logs a warning)");
  auto* gen = app.add_subcommand("gen-certs", "write a self-signed CA and localhost certificates");
  gen->add_option("DIR", dir, "output directory")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (verbose) spdlog::set_level(spdlog::level::debug);
  if (*run) return CmdRun(scenario, sets, config, out, resume, insecure, port_file);
  if (*gen) {
    Status st = server::GenerateCerts(dir);
    if (!st.ok()) return Fail(st);
    spdlog::info("wrote ca.crt, server.crt/key, client.crt/key to {}", dir);
    return 0;
  }
  return 1;
}
