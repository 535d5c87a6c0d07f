// shoal-sim: the simulator's command line.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "algorithms/optimizers/optimizer.h"
#include "algorithms/registry.h"
#include "core/backend.h"
#include "core/backend_cpu_simd.h"
#include "sim/cmd_attack.h"
#include "sim/cmd_privacy.h"
#include "sim/partition_stats.h"
#include "sim/scenario.h"
#include "sim/simulator.h"

namespace fs = std::filesystem;
using namespace shoal;

namespace {

int Fail(const Status& st) {
  spdlog::error("{}", st.message());
  return 1;
}

int CmdRun(const std::string& path, const std::vector<std::string>& sets, const std::string& out_arg, int threads_arg) {
  auto sc = sim::LoadScenario(path, sets);
  if (!sc.ok()) return Fail(sc.status());
  const sim::Scenario& s = *sc;
  int threads = threads_arg > 0 ? threads_arg : (s.threads > 0 ? s.threads : static_cast<int>(std::thread::hardware_concurrency()));
  auto exp = sim::BuildExperiment(s);
  if (!exp.ok()) return Fail(exp.status());
  spdlog::info("scenario {} ({}): model {} with {} parameters, {} clients, backend {} (CPU target {}), {} threads",
               s.name, path, s.model, exp->model->num_params(), exp->data.num_clients(), exp->backend->name(),
               CpuSimdBackend::CpuTarget(), threads);
  fs::path out = out_arg.empty() ? fs::path(s.out_dir) / s.name : fs::path(out_arg);
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) return Fail(Unavailable(out.string() + ": cannot create output directory: " + ec.message()));
  { std::ofstream(out / "config.resolved.yaml") << s.root.Dump() << "\n"; }
  auto jsonl = MakeJsonlSink((out / "metrics.jsonl").string());
  if (!jsonl.ok()) return Fail(jsonl.status());
  auto csv = MakeCsvSink((out / "metrics.csv").string());
  if (!csv.ok()) return Fail(csv.status());
  auto console = MakeConsoleSink(exp->algorithm.strategy->total_rounds());
  MultiSink sink;
  sink.Add(jsonl->get());
  sink.Add(csv->get());
  sink.Add(console.get());
  sim::SimOptions opts;
  opts.threads = threads;
  opts.eval_every = s.eval_every;
  opts.eval_max_samples = s.eval_max_samples;
  opts.seed = s.seed;
  opts.devices = exp->devices;
  sim::Simulator simulator(*exp, opts, sink);
  auto sum = simulator.Run();
  Status closed = sink.Close();
  if (!sum.ok()) return Fail(sum.status());
  if (!closed.ok()) return Fail(closed);
  nlohmann::ordered_json j;
  j["scenario"] = s.name;
  j["rounds"] = sum->rounds;
  j["final_test_acc"] = sum->final_test_acc;
  j["final_test_loss"] = sum->final_test_loss;
  j["wall_seconds"] = sum->wall_seconds;
  j["rounds_per_second"] = sum->wall_seconds > 0 ? sum->rounds / sum->wall_seconds : 0.0;
  j["virtual_seconds"] = sum->virtual_seconds;
  j["bytes_up"] = sum->bytes_up;
  j["bytes_down"] = sum->bytes_down;
  j["threads"] = threads;
  j["backend"] = std::string(exp->backend->name());
  { std::ofstream(out / "summary.json") << j.dump(2) << "\n"; }
  {  // The final global model as raw little-endian float32 (same format as shoal-server's).
    std::ofstream f(out / "final_model.bin", std::ios::binary);
    f.write(reinterpret_cast<const char*>(sum->final_model.data()),
            static_cast<std::streamsize>(sum->final_model.size() * sizeof(float)));
  }
  spdlog::info("done: {} rounds, final test accuracy {:.4f} (loss {:.4f}), wall {:.2f} s ({:.2f} rounds/s), "
               "virtual {:.1f} s, up {:.1f} MB, down {:.1f} MB; results in {}",
               sum->rounds, sum->final_test_acc, sum->final_test_loss, sum->wall_seconds,
               j["rounds_per_second"].get<double>(), sum->virtual_seconds, sum->bytes_up / 1e6, sum->bytes_down / 1e6,
               out.string());
  return 0;
}

int CmdValidate(const std::string& path, const std::vector<std::string>& sets) {
  auto sc = sim::LoadScenario(path, sets);
  if (!sc.ok()) return Fail(sc.status());
  std::cout << path << ": OK (" << sc->name << ")\n";
  return 0;
}

int CmdPartitionStats(const std::string& path, const std::vector<std::string>& sets, const std::string& plot) {
  auto sc = sim::LoadScenario(path, sets);
  if (!sc.ok()) return Fail(sc.status());
  auto data = sim::LoadFederatedData(*sc);
  if (!data.ok()) return Fail(data.status());
  std::cout << sim::FormatPartitionStats(*data);
  if (!plot.empty()) {
    Status st = sim::PlotPartition(*data, plot);
    if (!st.ok()) return Fail(st);
    std::cout << "plot written to " << plot << "\n";
  }
  return 0;
}

int CmdList(const std::string& what) {
  if (what == "optimizers") {
    for (const auto& o : ListOptimizers()) {
      std::cout << o.name << ": " << o.summary << "\n   ";
      for (const auto& [k, v] : o.defaults) std::cout << " " << k << "=" << v;
      std::cout << "\n";
    }
  } else if (what == "strategies") {
    for (const auto& n : StrategyNames()) std::cout << n << "\n";
  } else if (what == "models") {
    for (const auto& n : Model<float>::ArchitectureNames()) std::cout << n << "\n";
  } else if (what == "backends") {
    for (const auto& n : BackendNames()) std::cout << n << "\n";
  } else {
    return Fail(InvalidArgument("list: unknown category '" + what + "'; expected optimizers, strategies, models or backends"));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");
  CLI::App app{"shoal-sim: federated learning simulator"};
  app.require_subcommand(1);
  std::string scenario, out, plot, what;
  std::vector<std::string> sets;
  int threads = 0;
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "debug logging");

  auto* run = app.add_subcommand("run", "run a scenario");
  run->add_option("SCENARIO", scenario, "scenario YAML file")->required();
  run->add_option("--out", out, "output directory (default: runs/<name>)");
  run->add_option("--threads", threads, "worker threads (default: scenario 'threads' or all cores)");
  run->add_option("--set", sets, "override a scenario key: key.path=value (repeatable)");

  auto* validate = app.add_subcommand("validate", "check a scenario without running it");
  validate->add_option("SCENARIO", scenario, "scenario YAML file")->required();
  validate->add_option("--set", sets, "override a scenario key: key.path=value (repeatable)");

  auto* stats = app.add_subcommand("partition-stats", "summarise the per-client data partition of a scenario");
  stats->add_option("SCENARIO", scenario, "scenario YAML file")->required();
  stats->add_option("--set", sets, "override a scenario key: key.path=value (repeatable)");
  stats->add_option("--plot", plot, "also draw label histograms and sizes to this PNG (needs python3-matplotlib)");

  sim::AttackCliArgs attack_args;
  auto* attack = sim::RegisterAttackCommand(app, attack_args);
  sim::PrivacyCliArgs privacy_args;
  auto* privacy = sim::RegisterPrivacyCommand(app, privacy_args);
  auto* backends = app.add_subcommand("backends", "print the compute backends detected");
  auto* list = app.add_subcommand("list", "list registered components");
  list->add_option("WHAT", what, "optimizers | strategies | models | backends")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (verbose) spdlog::set_level(spdlog::level::debug);
  if (*run) return CmdRun(scenario, sets, out, threads);
  if (*validate) return CmdValidate(scenario, sets);
  if (*attack) return sim::RunAttackCommand(attack_args);
  if (*privacy) return sim::RunPrivacyCommand(privacy_args);
  if (*stats) return CmdPartitionStats(scenario, sets, plot);
  if (*backends) {
    std::cout << DescribeBackends();
    return 0;
  }
  if (*list) return CmdList(what);
  return 1;
}
