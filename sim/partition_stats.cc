#include "sim/partition_stats.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <iomanip>
#include <sstream>

namespace shoal::sim {
namespace {

std::vector<std::vector<int64_t>> Histograms(const FederatedData& d) {
  std::vector<std::vector<int64_t>> h(d.client_train.size(), std::vector<int64_t>(static_cast<size_t>(d.train.num_classes)));
  for (size_t c = 0; c < d.client_train.size(); ++c)
    for (int64_t i : d.client_train[c]) ++h[c][static_cast<size_t>(d.train.y[static_cast<size_t>(i)])];
  return h;
}

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  double pos = q * static_cast<double>(v.size() - 1);
  size_t lo = static_cast<size_t>(pos);
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

}  // namespace

std::string FormatPartitionStats(const FederatedData& d) {
  auto h = Histograms(d);
  std::vector<double> sizes, max_frac, classes_present;
  for (const auto& row : h) {
    int64_t n = 0, mx = 0, present = 0;
    for (int64_t v : row) n += v, mx = std::max(mx, v), present += (v > 0);
    sizes.push_back(static_cast<double>(n));
    if (n > 0) max_frac.push_back(static_cast<double>(mx) / static_cast<double>(n));
    classes_present.push_back(static_cast<double>(present));
  }
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(1);
  o << "clients: " << d.client_train.size() << ", train samples: " << d.train.size()
    << ", classes: " << d.train.num_classes << "\n";
  o << "samples per client: min " << Quantile(sizes, 0) << ", p10 " << Quantile(sizes, 0.1) << ", median "
    << Quantile(sizes, 0.5) << ", p90 " << Quantile(sizes, 0.9) << ", max " << Quantile(sizes, 1) << "\n";
  o.precision(3);
  o << "largest-class fraction: median " << Quantile(max_frac, 0.5) << ", p90 " << Quantile(max_frac, 0.9) << "\n";
  o.precision(1);
  o << "classes present per client: median " << Quantile(classes_present, 0.5) << ", min "
    << Quantile(classes_present, 0) << "\n";
  o << "client  samples  label histogram\n";
  for (size_t c = 0; c < h.size() && c < 20; ++c) {
    o << std::setw(6) << c << std::setw(9) << static_cast<int64_t>(sizes[c]) << "  [";
    for (size_t k = 0; k < h[c].size(); ++k) o << (k ? " " : "") << h[c][k];
    o << "]\n";
  }
  if (h.size() > 20) o << "... (" << h.size() - 20 << " more clients)\n";
  return o.str();
}

Status PlotPartition(const FederatedData& d, const std::string& png) {
  nlohmann::json j;
  j["histograms"] = Histograms(d);
  std::string json_path = png + ".json";
  {
    std::ofstream out(json_path);
    if (!out) return Unavailable(json_path + ": cannot write");
    out << j.dump();
  }
  // Locate the script relative to the binary's source tree or the working directory.
  std::string script = "scripts/plot_partition.py";
#ifdef SHOAL_SOURCE_DIR
  if (!std::filesystem::exists(script)) script = std::string(SHOAL_SOURCE_DIR) + "/scripts/plot_partition.py";
#endif
  std::string cmd = "/usr/bin/python3 '" + script + "' '" + json_path + "' '" + png + "'";
  int rc = std::system(cmd.c_str());
  if (rc != 0) return Unavailable("plotting failed (" + cmd + "); is python3-matplotlib installed?");
  return Status::Ok();
}

}  // namespace shoal::sim
