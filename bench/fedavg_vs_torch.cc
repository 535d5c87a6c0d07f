// End-to-end speed benchmark: Shoal's FedAvg against the PyTorch peer
// (../shared/peers/torch_fedavg.py) on the same configuration: Fashion-MNIST,
// 100 clients (Dirichlet 0.5), 10 per round, B = 32, E = 1, lr = 0.05.
//
// usage: bench_fedavg_vs_torch [--model mlp|cnn] [--rounds R] [--threads T]
//                              [--peer PATH] [--no-peer]
// Prints Shoal's seconds per round (training only, evaluation excluded) next
// to the peer's, measured in the same run, and the speed ratio.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "sim/scenario.h"
#include "sim/simulator.h"

using namespace shoal;

namespace {

double RunShoal(const std::string& model, int rounds, int threads, double* acc) {
  std::string scenario = std::string(SHOAL_SOURCE_DIR) + "/scenarios/fedavg_fmnist.yaml";
  auto sc = sim::LoadScenario(scenario, {"model.name=" + model, "strategy.rounds=" + std::to_string(rounds)});
  if (!sc.ok()) {
    std::cerr << sc.status().ToString() << "\n";
    std::exit(1);
  }
  auto exp = sim::BuildExperiment(*sc);
  if (!exp.ok()) {
    std::cerr << exp.status().ToString() << "\n";
    std::exit(1);
  }
  sim::SimOptions o;
  o.threads = threads;
  o.seed = sc->seed;
  o.eval_every = 1000000;  // evaluate only the final round; its time is subtracted below
  MemorySink sink;
  sim::Simulator simulator(*exp, o, sink);
  auto t0 = std::chrono::steady_clock::now();
  auto sum = simulator.Run();
  double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!sum.ok()) {
    std::cerr << sum.status().ToString() << "\n";
    std::exit(1);
  }
  auto t1 = std::chrono::steady_clock::now();
  simulator.Evaluate(sum->final_model, exp->data.test);
  double eval = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  *acc = sum->final_test_acc;
  return (total - eval) / rounds;
}

double RunPeer(const std::string& peer, const std::string& model, int rounds, int threads, double* acc) {
  std::string cmd = "/usr/bin/python3 " + peer + " --model " + model + " --rounds " + std::to_string(rounds) +
                    " --threads " + std::to_string(threads) + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char line[4096];
  double spr = -1;
  while (fgets(line, sizeof line, p)) {
    std::string s(line);
    auto k = s.find("\"seconds_per_round\": ");
    if (k != std::string::npos) spr = std::stod(s.substr(k + 21));
    auto a = s.find("\"final_test_acc\": ");
    if (a != std::string::npos) *acc = std::stod(s.substr(a + 18));
    if (s.find("Error") != std::string::npos) std::cerr << "peer: " << s;
  }
  pclose(p);
  return spr;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = "mlp", peer = std::string(SHOAL_SOURCE_DIR) + "/../shared/peers/torch_fedavg.py";
  int rounds = 5, threads = 2;
  bool run_peer = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--model" && i + 1 < argc) model = argv[++i];
    else if (a == "--rounds" && i + 1 < argc) rounds = std::stoi(argv[++i]);
    else if (a == "--threads" && i + 1 < argc) threads = std::stoi(argv[++i]);
    else if (a == "--peer" && i + 1 < argc) peer = argv[++i];
    else if (a == "--no-peer") run_peer = false;
    else {
      std::cerr << "usage: bench_fedavg_vs_torch [--model mlp|cnn] [--rounds R] [--threads T] [--peer PATH] [--no-peer]\n";
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::warn);
  double shoal_acc = 0, peer_acc = 0;
  double shoal_spr = RunShoal(model, rounds, threads, &shoal_acc);
  std::printf("model %s, %d rounds, %d threads (100 clients, 10/round, B=32, E=1)\n", model.c_str(), rounds, threads);
  std::printf("shoal      : %8.4f s/round  (final test acc %.4f)\n", shoal_spr, shoal_acc);
  if (!run_peer) return 0;
  double peer_spr = RunPeer(peer, model, rounds, threads, &peer_acc);
  if (peer_spr <= 0) {
    std::printf("torch peer : not run (needs /usr/bin/python3 with python3-torch and %s)\n", peer.c_str());
    return 0;
  }
  std::printf("torch peer : %8.4f s/round  (final test acc %.4f)\n", peer_spr, peer_acc);
  std::printf("speed-up   : %8.2fx\n", peer_spr / shoal_spr);
  return 0;
}
