// shoal-client: one federated client process.
//
//   shoal-client --server 127.0.0.1:50051 --data scenario:<path>:client=<id> [--config client.yaml]
//                [--insecure] [--set key=value ...]
//
// The data spec names the scenario the server runs: the client loads the same
// dataset, runs the same partitioner with the same seed and keeps partition
// <id>; it trains with the scenario's client procedure, optimizer and update
// pipeline, so its updates are the simulator's bit for bit. `--set` must match
// the server's overrides.
//
// client.yaml (paths relative to the file):
//   tls: {ca: ca.crt, cert: client.crt, key: client.key, server_name: localhost}
//   token_file: client0.token       # bearer token (first line)
//   retry: {initial_ms: 100, max_ms: 2000, give_up_s: 120, wait_ms: 5000}
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "client/grpc/client_loop.h"
#include "core/backend_cpu_simd.h"
#include "proto/grpc_runtime.h"
#include "sim/scenario.h"

namespace fs = std::filesystem;
using namespace shoal;

namespace {

int Fail(const Status& st) {
  spdlog::error("{}", st.ToString());
  return st.code() == StatusCode::kUnavailable ? 3 : 1;
}

struct DataSpec {
  std::string scenario;
  int client = -1;
};

Result<DataSpec> ParseDataSpec(const std::string& spec) {
  const std::string prefix = "scenario:", key = ":client=";
  const size_t at = spec.rfind(key);
  if (spec.rfind(prefix, 0) != 0 || at == std::string::npos || at <= prefix.size())
    return InvalidArgument("--data '" + spec + "': expected scenario:<path>:client=<id>");
  DataSpec d;
  d.scenario = spec.substr(prefix.size(), at - prefix.size());
  try {
    size_t used = 0;
    d.client = std::stoi(spec.substr(at + key.size()), &used);
    if (used != spec.size() - at - key.size() || d.client < 0) throw std::invalid_argument("id");
  } catch (const std::exception&) {
    return InvalidArgument("--data '" + spec + "': client id must be a non-negative integer");
  }
  return d;
}

Result<client::LinkOptions> LoadClientConfig(const std::string& path, client::RetryOptions* retry) {
  client::LinkOptions o;
  if (path.empty()) return o;
  ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::LoadFile(path));
  const fs::path base = fs::path(path).parent_path();
  auto resolve = [&](const std::string& p) { return p.empty() || fs::path(p).is_absolute() ? p : (base / p).string(); };
  ConfigNode tls = root.Child("tls");
  o.ca = resolve(tls.Get<std::string>("ca", ""));
  o.cert = resolve(tls.Get<std::string>("cert", ""));
  o.key = resolve(tls.Get<std::string>("key", ""));
  o.server_name = tls.Get<std::string>("server_name", "");
  const std::string token_file = resolve(root.Get<std::string>("token_file", ""));
  ConfigNode r = root.Child("retry");
  retry->initial_ms = r.Get<int>("initial_ms", 100, [](const int& v) { return v >= 1; }, ">= 1");
  retry->max_ms = r.Get<int>("max_ms", 2000, [](const int& v) { return v >= 1; }, ">= 1");
  retry->give_up_s = r.Get<double>("give_up_s", 120, [](const double& v) { return v > 0; }, "> 0");
  retry->wait_ms = r.Get<int>("wait_ms", 5000, [](const int& v) { return v >= 0; }, ">= 0");
  RETURN_IF_ERROR(root.CheckUnknownKeys());
  if (o.cert.empty() != o.key.empty()) return InvalidArgument(tls.Where("cert") + ": tls.cert and tls.key go together");
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in || !std::getline(in, o.token) || o.token.empty())
      return InvalidArgument(root.Where("token_file") + ": cannot read a token from '" + token_file + "'");
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  shoal::ConfigureGrpcRuntime();
  CLI::App app{"shoal-client: a federated learning client"};
  std::string address, data, config;
  std::vector<std::string> sets;
  bool insecure = false, verbose = false;
  app.add_option("--server", address, "server host:port")->required();
  app.add_option("--data", data, "scenario:<path>:client=<id>")->required();
  app.add_option("--config", config, "client YAML (tls, token_file, retry)");
  app.add_option("--set", sets, "scenario override, as given to the server (repeatable)");
  app.add_flag("--insecure", insecure, "plain text (the server must run --insecure)");
  int crash_after_tasks = -1;
  app.add_option("--crash-after-tasks", crash_after_tasks, "fault injection for tests: SIGKILL self on task N+1");
  app.add_flag("-v,--verbose", verbose, "debug logging");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (verbose) spdlog::set_level(spdlog::level::debug);
  auto spec = ParseDataSpec(data);
  if (!spec.ok()) return Fail(spec.status());
  spdlog::set_pattern("[%H:%M:%S.%e] [client " + std::to_string(spec->client) + "] [%^%l%$] %v");
  client::RetryOptions retry;
  retry.crash_after_tasks = crash_after_tasks;
  auto link_opts = LoadClientConfig(config, &retry);
  if (!link_opts.ok()) return Fail(link_opts.status());
  link_opts->address = address;
  link_opts->insecure = insecure;
  if (insecure) spdlog::warn("--insecure: talking PLAIN TEXT to {}", address);
  auto sc = sim::LoadScenario(spec->scenario, sets);
  if (!sc.ok()) return Fail(sc.status());
  auto exp = sim::BuildExperiment(*sc);
  if (!exp.ok()) return Fail(exp.status());
  if (spec->client >= exp->data.num_clients())
    return Fail(InvalidArgument("--data: client " + std::to_string(spec->client) + " but the scenario has " +
                                std::to_string(exp->data.num_clients()) + " clients"));
  spdlog::info("scenario {}: model {} ({} parameters), {} local samples, backend {} (CPU target {})", sc->name,
               sc->model, exp->model->num_params(), exp->data.client_train[static_cast<size_t>(spec->client)].size(),
               exp->backend->name(), CpuSimdBackend::CpuTarget());
  static const UpdatePipeline kDense;
  const UpdatePipeline& pipeline = exp->algorithm.pipeline ? *exp->algorithm.pipeline : kDense;
  client::ClientRuntime runtime(*exp->algorithm.procedure, pipeline, *exp->model, *exp->backend, exp->data.train,
                                exp->data.client_train[static_cast<size_t>(spec->client)], sc->seed, spec->client);
  auto link = client::ServerLink::Connect(*link_opts);
  if (!link.ok()) return Fail(link.status());

  // Heartbeats on their own thread while the main thread trains.
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::thread heartbeat([&] {
    std::unique_lock<std::mutex> l(mu);
    while (!cv.wait_for(l, std::chrono::seconds(1), [&] { return stop; })) {
      l.unlock();
      (void)(*link)->Heartbeat(spec->client);
      l.lock();
    }
  });
  auto result = client::RunSession(**link, runtime, retry);
  {
    std::lock_guard<std::mutex> l(mu);
    stop = true;
  }
  cv.notify_all();
  heartbeat.join();
  if (!result.ok()) return Fail(result.status());
  spdlog::info("done: {} tasks, {} rejected, {} retries", result->tasks, result->rejected, result->retries);
  return 0;
}
