#include "server/grpc/server_config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace shoal::server {
namespace {

namespace fs = std::filesystem;

std::string Resolve(const fs::path& base, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (base / p).string();
}

Result<std::map<int, std::string>> ReadTokens(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot open tokens file");
  std::map<int, std::string> tokens;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    int id = -1;
    std::string tok, extra;
    if (!(ss >> id >> tok) || (ss >> extra) || id < 0)
      return InvalidArgument(path + ":" + std::to_string(n) + ": expected '<client id> <token>'");
    tokens[id] = tok;
  }
  return tokens;
}

}  // namespace

int64_t DefaultUploadBudgetBytes(int64_t num_params) { return 2 * (4 * num_params + (64 << 10)); }

int64_t TransportAllowanceBytes(const ServerConfig& cfg) {
  return cfg.transport_memory_bytes - cfg.transport_memory_bytes / 4;  // ceil(3/4 x quota)
}

int64_t StreamInFlightBytes(const ServerConfig& cfg) {
  if (cfg.transport_bdp_probe) return 0;  // unbounded: charge whole uploads
  const int64_t window = cfg.transport_stream_window_bytes > 0 ? cfg.transport_stream_window_bytes : 65535;
  return window + cfg.service.chunk_bytes + (64 << 10);
}

Result<ServerConfig> LoadServerConfig(const std::string& path, int64_t num_params) {
  ServerConfig c;
  ConfigNode root;
  fs::path base = ".";
  if (!path.empty()) {
    ASSIGN_OR_RETURN(root, ConfigNode::LoadFile(path));
    base = fs::path(path).parent_path();
  }
  c.address = root.Get<std::string>("address", c.address);
  ConfigNode tls = root.Child("tls");
  c.tls_cert = Resolve(base, tls.Get<std::string>("cert", ""));
  c.tls_key = Resolve(base, tls.Get<std::string>("key", ""));
  c.tls_client_ca = Resolve(base, tls.Get<std::string>("client_ca", ""));
  c.require_client_cert = tls.Get<bool>("require_client_cert", false);
  c.tokens_file = Resolve(base, root.Get<std::string>("tokens_file", ""));
  ConfigNode ck = root.Child("checkpoint");
  CoordinatorOptions& co = c.coordinator;
  co.checkpoint_dir = Resolve(base, ck.Get<std::string>("dir", ""));
  co.checkpoint_every = ck.Get<int>("every", 1, [](const int& v) { return v >= 1; }, ">= 1");
  ConfigNode lim = root.Child("limits");
  const int64_t model_bytes = num_params * 4;
  co.max_update_bytes = lim.Get<int64_t>("max_update_bytes", 4 * model_bytes + (1 << 20),
                                         [](const int64_t& v) { return v > 0; }, "> 0");
  c.service.chunk_bytes = lim.Get<int>("chunk_bytes", 1 << 20, [](const int& v) { return v >= 4096 && v <= (16 << 20); },
                                       "in [4096, 16777216]");
  c.service.upload_budget_bytes = lim.Get<int64_t>("upload_budget_bytes", DefaultUploadBudgetBytes(num_params),
                                                   [](const int64_t& v) { return v >= 0; }, ">= 0 (0 = unlimited)");
  c.service.max_concurrent_downloads = lim.Get<int>("max_concurrent_downloads", 8, [](const int& v) { return v >= 1; },
                                                   ">= 1");
  c.transport_memory_bytes = lim.Get<int64_t>("transport_memory_bytes", c.transport_memory_bytes,
                                              [](const int64_t& v) { return v >= (1 << 20); }, ">= 1048576");
  c.transport_bdp_probe = lim.Get<bool>("transport_bdp_probe", false);
  c.transport_stream_window_bytes = lim.Get<int>(
      "transport_stream_window_bytes", c.transport_stream_window_bytes,
      [](const int& v) { return v == 0 || (v >= (64 << 10) && v <= (64 << 20)); }, "0 or in [65536, 67108864]");
  co.reorder_window = lim.Get<int>("reorder_window", 8, [](const int& v) { return v >= 1; }, ">= 1");
  std::string order = root.Get<std::string>(
      "commit_order", "simulator", [](const std::string& v) { return v == "simulator" || v == "arrival"; },
      "'simulator' or 'arrival'");
  co.ordered_commit = order == "simulator";
  co.min_clients = root.Get<int>("min_clients", 0, [](const int& v) { return v >= 0; }, ">= 0");
  co.client_timeout_us = static_cast<int64_t>(
      1e6 * root.Get<double>("client_timeout_s", 0.0, [](const double& v) { return v >= 0; }, ">= 0 (0 = off)"));
  c.finish_grace_s = root.Get<double>("finish_grace_s", 5.0, [](const double& v) { return v >= 0; }, ">= 0");
  RETURN_IF_ERROR(root.CheckUnknownKeys());
  if (const int64_t one = StreamInFlightBytes(c); one > 0 && TransportAllowanceBytes(c) < one)
    return InvalidArgument(lim.Where("transport_memory_bytes") + ": expected at least " +
                           std::to_string(4 * (one - 1) / 3 + 1) +
                           " bytes (4/3 x one upload in flight: transport_stream_window_bytes + chunk_bytes + 64 KiB), "
                           "got " + std::to_string(c.transport_memory_bytes));
  if (c.tls_cert.empty() != c.tls_key.empty())
    return InvalidArgument(tls.Where("cert") + ": tls.cert and tls.key must be given together");
  if (c.require_client_cert && c.tls_client_ca.empty())
    return InvalidArgument(tls.Where("require_client_cert") + ": mutual TLS needs tls.client_ca");
  for (const std::string* p : {&c.tls_cert, &c.tls_key, &c.tls_client_ca})
    if (!p->empty() && !fs::exists(*p)) return NotFound(path + ": TLS file '" + *p + "' does not exist");
  if (!c.tokens_file.empty()) {
    ASSIGN_OR_RETURN(c.service.tokens, ReadTokens(c.tokens_file));
  }
  c.service.max_update_bytes = co.max_update_bytes;
  return c;
}

}  // namespace shoal::server
