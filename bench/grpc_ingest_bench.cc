// gRPC ingest benchmark: N concurrent clients (threads) on localhost each
// submit a P-parameter dense update per round to a shoal-server running
// FedAvg (arrival-order commits) in a child process. Prints updates
// aggregated per second, ingest GB/s over the upload phase of each round,
// and the server's peak RSS, with and without TLS, beside the rate of plain
// TCP sockets over loopback (the same N connections each writing the same
// bytes to one reading process) measured in the same run, and beside the
// transport floor (grpc_ingest_floor.cc: the same clients uploading to a
// gRPC server that reads and drops every upload; --floor 0 skips it). The
// server's peak RSS is split into a fixed part (the same server and clients
// with a 1000-parameter model) and the part above it; the server's CPU time
// per update, in all (downloads included) and within the upload phases, is
// less sensitive to other load on the machine than the rates; a second run
// with a model of twice the size fits RSS = slope x model + intercept
// (--fit 0 skips it).
//
//   bench_grpc_ingest [--clients 200] [--params 1000000] [--rounds 3] [--fit 1] [--floor 1]
//   SHOAL_BENCH_WINDOWS=1 prints the upload windows (CLOCK_MONOTONIC) to
//   filter a `perf record -k CLOCK_MONOTONIC -a` profile to uploads alone.
#include "bench/grpc_ingest_bench.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "client/grpc/server_link.h"
#include "proto/grpc_runtime.h"
#include "server/grpc/certs.h"
#include "server/grpc/grpc_server.h"

using namespace shoal;
using namespace shoal::bench;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

// Child process: serve `rounds` rounds of FedAvg over `clients` clients.
int Serve(int clients, int64_t params, int rounds, const std::string& certs, const std::string& port_file,
          const std::string& rss_file, const Knobs& k) {
  ParamLayout layout;
  layout.Add("w", {params});
  auto root = ConfigNode::Parse("strategy: {name: fedavg, rounds: " + std::to_string(rounds) +
                                    ", clients_per_round: " + std::to_string(clients) + "}\nclient: {}\n",
                                "bench.yaml")
                  .value();
  Algorithm alg = MakeAlgorithm(root.Child("strategy"), root.Child("client")).value();
  server::ServerConfig cfg;
  cfg.address = "127.0.0.1:0";
  if (!certs.empty()) {
    cfg.tls_cert = certs + "/server.crt";
    cfg.tls_key = certs + "/server.key";
  }
  cfg.coordinator.ordered_commit = false;
  cfg.coordinator.max_update_bytes = params * 4 + (1 << 20);
  // shoal-server's default budget is two dense updates; --budget-models
  // scales it (0 = unlimited).
  cfg.service.upload_budget_bytes =
      static_cast<int64_t>(k.budget_models / 2 * static_cast<double>(server::DefaultUploadBudgetBytes(params)));
  cfg.transport_bdp_probe = k.bdp != 0;
  cfg.transport_stream_window_bytes = k.lookahead;
  cfg.service.max_update_bytes = cfg.coordinator.max_update_bytes;
  cfg.service.max_concurrent_downloads = k.downloads;
  cfg.service.chunk_bytes = k.chunk;
  cfg.finish_grace_s = 30;
  cfg.transport_memory_bytes = static_cast<int64_t>(k.quota_mb) << 20;
  MemorySink sink;
  server::ServerParts parts;
  parts.algorithm = &alg;
  parts.backend = GetBackend("auto").value();
  parts.layout = &layout;
  parts.client_samples.assign(static_cast<size_t>(clients), 1);
  parts.initial.assign(static_cast<size_t>(params), 0.0f);
  parts.sink = &sink;
  server::ConfigureServerAllocator(params * 4);                           // as shoal-server, once the model is known
  if (k.mmap_threshold > 0) mallopt(M_MMAP_THRESHOLD, k.mmap_threshold);  // the --mmap-threshold knob wins
  auto s = server::GrpcServer::Start(cfg, certs.empty(), false, std::move(parts));
  if (!s.ok()) {
    spdlog::error("{}", s.status().ToString());
    return 1;
  }
  std::ofstream(port_file + ".tmp") << (*s)->port() << "\n";
  fs::rename(port_file + ".tmp", port_file);
  Status st = (*s)->Wait();
  s->reset();
  std::ofstream(rss_file) << PeakRssKb() << "\n";
  return st.ok() ? 0 : 1;
}

// User + system CPU seconds of process `pid` so far (/proc, 10 ms ticks).
double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i)
    if (i >= 14) ticks += std::stod(field);  // utime, stime
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

struct Figures {
  double seconds = 0;  // summed upload phases
  int64_t bytes = 0, updates = 0, rss_kb = 0;
  double upload_cpu_s = 0;  // the server's CPU time within the upload phases
  double server_cpu_s = 0;  // the server process's user + system CPU time, start to exit
};

// Plain TCP: `clients` connections, each writes `bytes` per round; one
// reader thread per connection discards into a reused buffer.
Figures PlainSocket(int clients, int64_t bytes, int rounds) {
  int ls = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  ::bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  ::listen(ls, clients);
  ::getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len);
  std::vector<std::thread> readers, writers;
  std::atomic<int> accepted{0};
  std::thread acceptor([&] {
    for (int i = 0; i < clients; ++i) {
      int fd = ::accept(ls, nullptr, nullptr);
      ++accepted;
      readers.emplace_back([fd] {
        std::vector<char> buf(1 << 20);
        while (::read(fd, buf.data(), buf.size()) > 0) {
        }
        ::close(fd);
      });
    }
  });
  std::vector<int> fds(static_cast<size_t>(clients));
  for (auto& fd : fds) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  }
  acceptor.join();
  std::vector<char> payload(static_cast<size_t>(bytes), 1);
  Figures f;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = Clock::now();
    writers.clear();
    for (int fd : fds)
      writers.emplace_back([&, fd] {
        for (int64_t off = 0; off < bytes;) {
          ssize_t n = ::write(fd, payload.data() + off, static_cast<size_t>(bytes - off));
          if (n <= 0) return;
          off += n;
        }
      });
    for (auto& w : writers) w.join();
    f.seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    f.bytes += bytes * clients;
    f.updates += clients;
  }
  for (int fd : fds) ::close(fd);
  for (auto& t : readers) t.join();
  ::close(ls);
  return f;
}

// `discard`: the transport floor (ServeDiscard) instead of shoal-server.
Figures Grpc(const std::string& self, int clients, int64_t params, int rounds, const std::string& certs, const Knobs& k,
             bool discard = false) {
  const std::string dir = fs::temp_directory_path() / ("shoal_bench_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string port_file = dir + "/port", rss_file = dir + "/rss";
  fs::remove(port_file);
  pid_t child = ::fork();
  if (child == 0) {
    std::vector<std::string> args = {self, discard ? "discard" : "serve"};
    const std::pair<const char*, std::string> flags[] = {{"--clients", std::to_string(clients)},
                                                         {"--params", std::to_string(params)},
                                                         {"--rounds", std::to_string(rounds)},
                                                         {"--port-file", port_file},
                                                         {"--rss-file", rss_file},
                                                         {"--certs", certs},
                                                         {"--budget-models", std::to_string(k.budget_models)},
                                                         {"--bdp", std::to_string(k.bdp)},
                                                         {"--lookahead", std::to_string(k.lookahead)},
                                                         {"--mmap-threshold", std::to_string(k.mmap_threshold)},
                                                         {"--downloads", std::to_string(k.downloads)},
                                                         {"--chunk", std::to_string(k.chunk)},
                                                         {"--floor-admit", std::to_string(k.floor_admit)},
                                                         {"--floor-work", std::to_string(k.floor_work)},
                                                         {"--quota-mb", std::to_string(k.quota_mb)}};
    for (const auto& [flag, value] : flags) args.insert(args.end(), {flag, value});
    // SHOAL_BENCH_SERVER_WRAPPER (e.g. "heaptrack") runs the server under a tool.
    if (const char* w = std::getenv("SHOAL_BENCH_SERVER_WRAPPER"); w && *w) args.insert(args.begin(), w);
    std::vector<char*> argv;
    for (auto& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::_Exit(127);
  }
  while (!fs::exists(port_file)) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  int port = 0;
  std::ifstream(port_file) >> port;
  // One pre-encoded update shared by all clients (P zeros: finite, valid).
  ClientUpdate u;
  u.delta.assign(static_cast<size_t>(params), 0.0f);
  u.num_samples = 1;
  ParamLayout layout;
  layout.Add("w", {params});
  TransformContext tc{GetBackend("auto").value(), &layout, 0, 0, 0, 0};
  const std::vector<uint8_t> payload = DenseCodec()->Encode(u, tc).value();
  std::vector<std::pair<Clock::time_point, Clock::time_point>> phase(
      static_cast<size_t>(rounds), {Clock::time_point::max(), Clock::time_point::min()});
  std::mutex mu;
  std::atomic<int64_t> submitted{0};
  // Every client downloads its task, then all submit together: the upload
  // phase measures ingest alone.
  // The server's CPU time over each upload phase: read when the last client
  // reaches the round's barrier and when the round's last upload returns.
  std::vector<double> cpu_lo(static_cast<size_t>(rounds) + 1, 0), cpu_hi(static_cast<size_t>(rounds) + 1, 0);
  std::vector<std::atomic<int>> left(static_cast<size_t>(rounds) + 1);
  for (auto& l : left) l = clients;
  size_t barrier_phase = 0;
  auto on_phase = [&]() noexcept {
    if (barrier_phase < cpu_lo.size()) cpu_lo[barrier_phase++] = ProcessCpuSeconds(child);
  };
  auto uploaded = [&](int64_t round) {
    if (round >= 0 && round <= rounds && --left[static_cast<size_t>(round)] == 0)
      cpu_hi[static_cast<size_t>(round)] = ProcessCpuSeconds(child);
  };
  std::barrier sync(clients, on_phase);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      client::LinkOptions o;
      o.address = "127.0.0.1:" + std::to_string(port);
      o.insecure = certs.empty();
      o.ca = certs.empty() ? "" : certs + "/ca.crt";
      o.server_name = "localhost";
      o.chunk_bytes = k.chunk;
      auto link = client::ServerLink::Connect(o).value();
      // One upload, timed into its round's phase (retried while the server
      // answers UNAVAILABLE: reorder window or budget).
      auto upload = [&](const Task& t) {
        sync.arrive_and_wait();
        const auto t0 = Clock::now();
        Status st = link->Submit(t, payload, 1);
        while (st.code() == StatusCode::kUnavailable) st = link->Submit(t, payload, 1);
        const auto t1 = Clock::now();
        if (!st.ok()) spdlog::warn("client {}: {}", c, st.ToString());
        ++submitted;
        uploaded(t.round);
        std::lock_guard<std::mutex> l(mu);
        auto& [lo, hi] = phase[static_cast<size_t>(t.round)];
        lo = std::min(lo, t0);
        hi = std::max(hi, t1);
      };
      if (discard) {  // no registration, no tasks: rounds of uploads alone
        for (int r = 0; r < rounds; ++r) {
          Task t;
          t.client = c;
          t.round = r;
          t.task_id = static_cast<uint64_t>(r) * static_cast<uint64_t>(clients) + static_cast<uint64_t>(c);
          upload(t);
        }
        return;
      }
      shoal::v1::RegisterRequest req;
      req.set_protocol_version(1);
      req.set_client_id(c);
      req.set_num_samples(1);
      req.set_procedure("fedavg");
      req.set_num_params(params);
      if (!link->Register(req).ok()) return;
      for (;;) {
        auto f = link->GetTask(c, 10000);
        if (!f.ok() || f->kind == client::ServerLink::Fetched::Kind::kFinished) return;
        if (f->kind == client::ServerLink::Fetched::Kind::kTask) upload(f->task);
      }
    });
  for (auto& t : threads) t.join();
  int status = 0;
  rusage ru{};
  ::wait4(child, &status, 0, &ru);
  Figures fig;
  fig.server_cpu_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  for (const auto& [lo, hi] : phase) fig.seconds += std::chrono::duration<double>(hi - lo).count();
  // SHOAL_BENCH_WINDOWS=1: the upload windows on CLOCK_MONOTONIC (steady_clock
  // here), for `perf record -k CLOCK_MONOTONIC` profiles of uploads alone.
  if (std::getenv("SHOAL_BENCH_WINDOWS"))
    for (const auto& [lo, hi] : phase)
      std::fprintf(stderr, "upload window %.6f %.6f\n", std::chrono::duration<double>(lo.time_since_epoch()).count(),
                   std::chrono::duration<double>(hi.time_since_epoch()).count());
  fig.updates = submitted.load();
  for (size_t r = 0; r < cpu_lo.size(); ++r)
    if (cpu_hi[r] > 0) fig.upload_cpu_s += cpu_hi[r] - cpu_lo[r];
  fig.bytes = fig.updates * static_cast<int64_t>(payload.size());
  std::ifstream(rss_file) >> fig.rss_kb;
  fs::remove_all(dir);
  return fig;
}

// `fixed_kb`: the peak RSS of the same server serving a 1000-parameter
// model to the same clients (libraries, threads, connections, gRPC's
// transport quota); what lies above it scales with the model.
void Print(const char* name, const Figures& f, const Figures& base, int64_t fixed_kb = 0, double model_mb = 0) {
  const double gbs = static_cast<double>(f.bytes) / f.seconds / 1e9;
  const double base_gbs = static_cast<double>(base.bytes) / base.seconds / 1e9;
  std::printf("%-14s %10.1f updates/s  %7.3f GB/s  %5.1f%% of plain socket", name,
              static_cast<double>(f.updates) / f.seconds, gbs, 100.0 * gbs / base_gbs);
  if (f.server_cpu_s > 0)
    std::printf("  server CPU %.2f ms/update (%.2f in upload phases)",
                1e3 * f.server_cpu_s / static_cast<double>(f.updates),
                1e3 * f.upload_cpu_s / static_cast<double>(f.updates));
  if (f.rss_kb > 0) std::printf("  server peak RSS %.1f MB", static_cast<double>(f.rss_kb) / 1024.0);
  if (f.rss_kb > 0 && fixed_kb > 0 && model_mb > 0) {
    const double above = static_cast<double>(f.rss_kb - fixed_kb) / 1024.0;
    std::printf(" = fixed %.1f + %.1f MB (%.2f x model)", static_cast<double>(fixed_kb) / 1024.0, above,
                above / model_mb);
  }
  std::printf("\n");
}

// The transport floor beside the plain socket, and the server it bounds as a
// share of it.
void PrintFloor(const char* name, const Figures& f, const Figures& base, const Figures& server) {
  const double gbs = static_cast<double>(f.bytes) / f.seconds / 1e9;
  const double base_gbs = static_cast<double>(base.bytes) / base.seconds / 1e9;
  const double server_gbs = static_cast<double>(server.bytes) / server.seconds / 1e9;
  std::printf(
      "%-14s %10.1f updates/s  %7.3f GB/s  %5.1f%% of plain socket  server CPU %.2f ms/update (%.2f in "
      "upload phases); shoal-server ingests at %.1f%% of it\n",
      name, static_cast<double>(f.updates) / f.seconds, gbs, 100.0 * gbs / base_gbs,
      1e3 * f.server_cpu_s / static_cast<double>(f.updates), 1e3 * f.upload_cpu_s / static_cast<double>(f.updates),
      100.0 * server_gbs / gbs);
}

// Peak RSS at model sizes m and 2m: slope (model sizes per model) and
// intercept of the line through both points; the rate of the 2m run too.
void PrintFit(const char* name, const Figures& f1, const Figures& f2, double model_mb) {
  const double r1 = static_cast<double>(f1.rss_kb) / 1024.0, r2 = static_cast<double>(f2.rss_kb) / 1024.0;
  const double slope = (r2 - r1) / model_mb, intercept = r1 - slope * model_mb;
  std::printf(
      "%-14s RSS fit over %.1f and %.1f MB models: %.1f and %.1f MB -> %.2f x model + %.1f MB (target "
      "slope < 4); %.3f GB/s at %.1f MB\n",
      name, model_mb, 2 * model_mb, r1, r2, slope, intercept, static_cast<double>(f2.bytes) / f2.seconds / 1e9,
      2 * model_mb);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gRPC ingest benchmark"};
  int clients = 200, rounds = 3;
  int64_t params = 1000000;
  std::string port_file, rss_file, certs, mode = "all";
  Knobs k;
  app.add_option("--budget-models", k.budget_models, "server upload budget, in dense update sizes (default 2, shoal-server's default; 0 = unlimited)");
  app.add_option("--bdp", k.bdp, "gRPC BDP probing on the server: 0 (default) or 1");
  app.add_option("--lookahead", k.lookahead, "server gRPC stream lookahead bytes (0 = default)");
  app.add_option("--mmap-threshold", k.mmap_threshold, "malloc mmap threshold");
  app.add_option("--downloads", k.downloads, "server's concurrent task downloads (default 8)");
  app.add_option("--quota-mb", k.quota_mb, "server's gRPC transport memory quota, MiB (default 16)");
  app.add_option("--floor-admit", k.floor_admit, "uploads the floor reads at once; 0 (default) = all");
  app.add_option("--floor-work", k.floor_work,
                 "1: the floor also scans each chunk and adds it into an aggregate "
                 "as it streams in (the least an aggregating server does)");
  app.add_option("--chunk", k.chunk, "stream chunk bytes, server and clients (default 1 MiB)");
  app.add_option("mode", mode, "all | serve | discard (the last two internal)");
  app.add_option("--clients", clients);
  app.add_option("--params", params);
  app.add_option("--rounds", rounds);
  app.add_option("--port-file", port_file);
  app.add_option("--rss-file", rss_file);
  app.add_option("--certs", certs);
  int fit = 1;
  app.add_option("--fit", fit,
                 "also run gRPC with a model of 2 x --params to fit RSS = slope x model + intercept "
                 "(1, default) or not (0)");
  std::string only = "insecure,tls";
  app.add_option("--only", only, "gRPC transports to run: insecure,tls (the plain socket always runs)");
  int floor = 1;
  app.add_option("--floor", floor,
                 "also run the transport floor: a gRPC server that reads each upload and drops it "
                 "(1, default) or not (0)");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  // As shoal-server and shoal-client do (the clients in this process too).
  ConfigureGrpcRuntime();
  server::ConfigureServerAllocator();
  if (k.mmap_threshold > 0) mallopt(M_MMAP_THRESHOLD, k.mmap_threshold);
  if (mode == "serve") return Serve(clients, params, rounds, certs, port_file, rss_file, k);
  if (mode == "discard") return ServeDiscard(clients, params, rounds, certs, port_file, rss_file, k);
  const std::string self = fs::canonical("/proc/self/exe").string();
  const std::string cert_dir = fs::temp_directory_path() / ("shoal_bench_certs_" + std::to_string(::getpid()));
  if (Status st = server::GenerateCerts(cert_dir); !st.ok()) {
    std::fprintf(stderr, "%s\n", st.ToString().c_str());
    return 1;
  }
  const int64_t bytes = params * 4;
  std::printf(
      "%d clients x %lld parameters (%.1f MB update) x %d rounds, %u hardware threads, upload budget %.1f "
      "updates, BDP %s, stream window %d\n",
      clients, static_cast<long long>(params), static_cast<double>(bytes) / 1e6, rounds,
      std::thread::hardware_concurrency(), k.budget_models, k.bdp ? "on" : "off", k.lookahead);
  // The plain socket runs before and after the gRPC runs and the percentages
  // use both together, so load that changes during the run (a shared
  // machine) biases neither side.
  Figures before = PlainSocket(clients, bytes, rounds);
  Figures insecure, tls;
  if (only.find("insecure") != std::string::npos) insecure = Grpc(self, clients, params, rounds, "", k);
  if (only.find("tls") != std::string::npos) tls = Grpc(self, clients, params, rounds, cert_dir, k);
  // The floors run after the server they bound, in the same conditions.
  Figures floor_insecure, floor_tls;
  if (floor && insecure.updates > 0) floor_insecure = Grpc(self, clients, params, rounds, "", k, true);
  if (floor && tls.updates > 0) floor_tls = Grpc(self, clients, params, rounds, cert_dir, k, true);
  // The fixed overhead: the same server and clients with a 1000-parameter
  // model (TLS has its own: per-connection TLS state and record buffers).
  Figures fixed, fixed_tls;
  if (insecure.updates > 0) fixed = Grpc(self, clients, 1000, rounds, "", k);
  if (tls.updates > 0) fixed_tls = Grpc(self, clients, 1000, rounds, cert_dir, k);
  // The slope: the same runs with a model twice the size. A 1000-parameter
  // model leaves gRPC's receive buffers nearly idle, but under a stream of
  // 1 MiB chunks they hold a few MB whatever the model size; the fit
  // RSS = slope x model + intercept over the two sizes separates what
  // scales with the model from that load-dependent constant.
  Figures insecure2, tls2;
  if (fit && insecure.updates > 0) insecure2 = Grpc(self, clients, 2 * params, rounds, "", k);
  if (fit && tls.updates > 0) tls2 = Grpc(self, clients, 2 * params, rounds, cert_dir, k);
  Figures after = PlainSocket(clients, bytes, rounds);
  Figures plain{before.seconds + after.seconds, before.bytes + after.bytes, before.updates + after.updates, 0};
  Print("plain (before)", before, plain);
  Print("plain (after)", after, plain);
  Print("plain socket", plain, plain);
  const double model_mb = static_cast<double>(bytes) / 1048576.0;
  if (insecure.updates > 0) Print("grpc insecure", insecure, plain, fixed.rss_kb, model_mb);
  if (tls.updates > 0) Print("grpc tls", tls, plain, fixed_tls.rss_kb, model_mb);
  if (floor_insecure.updates > 0)
    PrintFloor(k.floor_work ? "floor+add ins." : "floor insecure", floor_insecure, plain, insecure);
  if (floor_tls.updates > 0) PrintFloor(k.floor_work ? "floor+add tls" : "floor tls", floor_tls, plain, tls);
  if (floor_insecure.updates > 0 || floor_tls.updates > 0)
    std::printf(
        "floor = the same clients uploading to a gRPC server that reads and drops each upload (%s admitted at "
        "once%s)\n",
        k.floor_admit > 0 ? std::to_string(k.floor_admit).c_str() : "all",
        k.floor_work ? "; +add: each chunk scanned and added into an aggregate from gRPC's slices" : "");
  if (insecure2.updates > 0) PrintFit("grpc insecure", insecure, insecure2, model_mb);
  if (tls2.updates > 0) PrintFit("grpc tls", tls, tls2, model_mb);
  std::printf(
      "model %.1f MB; fixed = peak RSS of the same server with a 1000-parameter model; "
      "RSS target < 4 x model + fixed overhead\n",
      model_mb);
  fs::remove_all(cert_dir);
  return 0;
}
