#include "sim/device_profiles.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>

namespace shoal::sim {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) {
    cell.erase(0, cell.find_first_not_of(" \t\r"));
    cell.erase(cell.find_last_not_of(" \t\r") + 1);
    out.push_back(cell);
  }
  return out;
}

}  // namespace

Distribution Distribution::Parse(const ConfigNode& parent, const std::string& key, double def, bool positive) {
  Distribution d;
  d.value = def;
  auto nonneg = [positive](const double& v) { return positive ? v > 0 : v >= 0; };
  const std::string expect = positive ? "> 0" : ">= 0";
  ConfigNode n = parent.Child(key);  // a scalar here is an error naming the key
  if (!n.defined()) return d;
  std::string kind = n.Get<std::string>(
      "dist", "constant",
      [](const std::string& v) { return v == "constant" || v == "uniform" || v == "lognormal"; },
      "one of constant, uniform, lognormal");
  if (kind == "constant") {
    d.value = n.Require<double>("value", nonneg, expect);
  } else if (kind == "uniform") {
    d.kind = Kind::kUniform;
    d.low = n.Require<double>("low", nonneg, expect);
    d.high = n.Require<double>("high", [&d](const double& v) { return v >= d.low; }, ">= low");
  } else {
    d.kind = Kind::kLognormal;
    d.mean = n.Require<double>("mean", [](const double& v) { return v > 0; }, "> 0");
    d.sigma = n.Get<double>("sigma", 0.5, [](const double& v) { return v >= 0 && v <= 5; }, "in [0, 5]");
  }
  return d;
}

double Distribution::Draw(RngStream& rng) const {
  switch (kind) {
    case Kind::kConstant:
      return value;
    case Kind::kUniform:
      return low + (high - low) * rng.NextDouble();
    case Kind::kLognormal:
      return std::exp(std::log(mean) - 0.5 * sigma * sigma + sigma * rng.NextGaussian());
  }
  return value;
}

Result<DeviceOptions> DeviceOptions::Parse(const ConfigNode& n) {
  DeviceOptions o;
  o.configured = n.defined();
  if (!o.configured) return o;
  o.trace = n.Get<std::string>("trace", "");
  o.speed = Distribution::Parse(n, "speed", 1000.0, true);
  o.bandwidth_down = Distribution::Parse(n, "bandwidth_down", 0.0, false);
  o.bandwidth_up = Distribution::Parse(n, "bandwidth_up", 0.0, false);
  o.latency = Distribution::Parse(n, "latency", 0.0, false);
  ConfigNode st = n.Child("stragglers");
  o.straggler_fraction = st.Get<double>("fraction", 0.0, [](const double& v) { return v >= 0 && v <= 1; }, "in [0, 1]");
  o.straggler_slowdown = st.Get<double>("slowdown", 1.0, [](const double& v) { return v >= 1; }, ">= 1");
  ConfigNode av = n.Child("availability");
  o.availability = av.Get<double>("probability", 1.0, [](const double& v) { return v >= 0 && v <= 1; }, "in [0, 1]");
  o.on_mean_s = av.Get<double>("on_s", 0.0, [](const double& v) { return v >= 0; }, ">= 0 (0 = always on)");
  o.off_mean_s = av.Get<double>("off_s", 0.0, [](const double& v) { return v >= 0; }, ">= 0");
  o.dropout = n.Get<double>("dropout", 0.0, [](const double& v) { return v >= 0 && v < 1; }, "in [0, 1)");
  o.failure_detect_s = n.Get<double>("failure_detect_s", 1.0, [](const double& v) { return v > 0; }, "> 0");
  RETURN_IF_ERROR(n.status());
  if (!o.trace.empty()) {
    for (const char* k : {"speed", "bandwidth_down", "bandwidth_up", "latency", "stragglers", "availability", "dropout"})
      if (n.Has(k)) return InvalidArgument(n.Where(k) + ": cannot be combined with devices.trace (the trace gives it)");
    auto rows = DeviceProfiles::ReadTrace(o.trace);
    if (!rows.ok()) return rows.status().WithContext(n.Where("trace"));
  }
  return o;
}

DeviceProfiles DeviceProfiles::Homogeneous(int num_clients, double speed, double bandwidth, double failure_detect_s) {
  DeviceProfiles p;
  DeviceProfile d;
  d.speed = speed;
  d.bandwidth_down = d.bandwidth_up = bandwidth;
  p.profiles_.assign(static_cast<size_t>(std::max(0, num_clients)), d);
  p.failure_detect_s_ = failure_detect_s;
  return p;
}

Result<std::vector<std::pair<int, DeviceProfile>>> DeviceProfiles::ReadTrace(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("device trace '" + path + "': cannot open file");
  std::string line;
  if (!std::getline(in, line)) return InvalidArgument("device trace '" + path + "': empty file (expected a header row)");
  std::vector<std::string> header = SplitCsv(line);
  static const char* kColumns[] = {"client", "speed", "bandwidth_up", "bandwidth_down", "latency", "availability",
                                   "dropout"};
  std::map<std::string, size_t> col;
  for (const char* c : kColumns) {
    auto it = std::find(header.begin(), header.end(), c);
    if (it == header.end())
      return InvalidArgument("device trace '" + path + "': missing column '" + c +
                             "' (expected columns client,speed,bandwidth_up,bandwidth_down,latency,availability,dropout)");
    col[c] = static_cast<size_t>(it - header.begin());
  }
  std::vector<std::pair<int, DeviceProfile>> rows;
  for (int lineno = 2; std::getline(in, line); ++lineno) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::vector<std::string> cells = SplitCsv(line);
    auto field = [&](const char* name, double lo, double hi, double* out) -> Status {
      size_t i = col[name];
      std::string where = "device trace '" + path + "' line " + std::to_string(lineno) + " column '" + name + "'";
      if (i >= cells.size()) return InvalidArgument(where + ": missing value");
      char* end = nullptr;
      double v = std::strtod(cells[i].c_str(), &end);
      if (cells[i].empty() || *end != '\0' || !std::isfinite(v) || v < lo || v > hi)
        return InvalidArgument(where + ": expected a number in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                               "], got '" + cells[i] + "'");
      *out = v;
      return Status::Ok();
    };
    DeviceProfile p;
    double client = 0;
    RETURN_IF_ERROR(field("client", 0, 1e9, &client));
    RETURN_IF_ERROR(field("speed", 1e-12, kInf, &p.speed));
    RETURN_IF_ERROR(field("bandwidth_up", 0, kInf, &p.bandwidth_up));
    RETURN_IF_ERROR(field("bandwidth_down", 0, kInf, &p.bandwidth_down));
    RETURN_IF_ERROR(field("latency", 0, kInf, &p.latency_s));
    RETURN_IF_ERROR(field("availability", 0, 1, &p.availability));
    RETURN_IF_ERROR(field("dropout", 0, 0.999999, &p.dropout));
    rows.emplace_back(static_cast<int>(client), p);
  }
  return rows;
}

Result<DeviceProfiles> DeviceProfiles::Make(const DeviceOptions& o, int num_clients, uint64_t seed) {
  DeviceProfiles p;
  p.failure_detect_s_ = o.failure_detect_s;
  p.seed_ = seed;
  p.profiles_.resize(static_cast<size_t>(num_clients));
  if (!o.trace.empty()) {
    ASSIGN_OR_RETURN(auto rows, ReadTrace(o.trace));
    std::vector<bool> seen(static_cast<size_t>(num_clients), false);
    for (const auto& [c, prof] : rows) {
      if (c >= num_clients) continue;  // a trace may describe more clients than the run uses
      p.profiles_[static_cast<size_t>(c)] = prof;
      seen[static_cast<size_t>(c)] = true;
    }
    for (int c = 0; c < num_clients; ++c)
      if (!seen[static_cast<size_t>(c)])
        return InvalidArgument("device trace '" + o.trace + "': no row for client " + std::to_string(c) + " (the run has " +
                               std::to_string(num_clients) + " clients)");
    return p;
  }
  for (int c = 0; c < num_clients; ++c) {
    RngStream rng(seed, -1, c, RngPurpose::kDevice);
    DeviceProfile& d = p.profiles_[static_cast<size_t>(c)];
    d.speed = o.speed.Draw(rng);
    d.bandwidth_down = o.bandwidth_down.Draw(rng);
    d.bandwidth_up = o.bandwidth_up.Draw(rng);
    d.latency_s = o.latency.Draw(rng);
    d.availability = o.availability;
    d.dropout = o.dropout;
    d.on_s = o.on_mean_s;
    d.off_s = o.off_mean_s;
    d.phase_s = (o.on_mean_s + o.off_mean_s) * rng.NextDouble();
  }
  // Exactly round(f * N) stragglers, chosen by a keyed shuffle of the clients.
  const int stragglers = static_cast<int>(std::llround(o.straggler_fraction * num_clients));
  std::vector<int> ids(static_cast<size_t>(num_clients));
  std::iota(ids.begin(), ids.end(), 0);
  RngStream pick(seed, -1, -1, RngPurpose::kDevice);
  pick.Shuffle(std::span<int>(ids));
  for (int i = 0; i < stragglers; ++i) {
    DeviceProfile& d = p.profiles_[static_cast<size_t>(ids[static_cast<size_t>(i)])];
    d.speed /= o.straggler_slowdown;
    d.straggler = true;
  }
  return p;
}

bool DeviceProfiles::AvailableAt(int client, double t_s, uint64_t task_id) const {
  const DeviceProfile& d = of(client);
  if (d.on_s > 0) {
    double period = d.on_s + d.off_s;
    if (std::fmod(t_s + d.phase_s, period) >= d.on_s) return false;
  }
  if (d.availability >= 1.0) return true;
  RngStream rng(seed_, static_cast<int64_t>(task_id), client, RngPurpose::kDevice);
  return rng.NextDouble() < d.availability;
}

double DeviceProfiles::OnlineUntil(int client, double t_s) const {
  const DeviceProfile& d = of(client);
  if (d.on_s <= 0 || d.off_s <= 0) return kInf;
  double period = d.on_s + d.off_s;
  double pos = std::fmod(t_s + d.phase_s, period);
  return t_s + (d.on_s - pos);
}

bool DeviceProfiles::DropsOut(int client, uint64_t task_id, double* fraction) const {
  const DeviceProfile& d = of(client);
  if (d.dropout <= 0) return false;
  RngStream rng(seed_, static_cast<int64_t>(task_id), client, RngPurpose::kDevice);
  rng.set_position(2);  // words 0-1 belong to the availability draw
  if (rng.NextDouble() >= d.dropout) return false;
  *fraction = rng.NextDouble();
  return true;
}

}  // namespace shoal::sim
