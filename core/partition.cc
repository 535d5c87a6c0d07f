// Label-based federated partitions of one dataset.
//
// - IID: shuffle, then cut into K near-equal contiguous chunks.
// - Dirichlet(alpha) label skew (Hsu et al. 2019, "Measuring the effects of
//   non-identical data distribution"): per class k, shuffle its indices, draw
//   p ~ Dir(alpha * 1_K) and cut at floor(cumsum(p) * count_k); matches the
//   peer shared/peers/torch_fedavg.py dirichlet_partition. Small alpha puts
//   each class on few clients.
// - Shards (McMahan et al. 2017, pathological non-IID): sort by label, cut
//   into K * shards_per_client shards, deal shuffled shards to clients.
// - Quantity skew: client sizes proportional to Pareto(power) weights
//   w = u^(-1/power), each at least min_samples, filled from a shuffled list.
//
// Streams are kPartition keyed by the seed (client slot = class for the
// per-class Dirichlet streams, -1 for the rest); SplitClientData uses one
// kSplit stream per client.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "core/data.h"
#include "core/rng.h"

namespace shoal {
namespace {

using Clients = std::vector<std::vector<int64_t>>;
using Method = PartitionOptions::Method;

constexpr int64_t kGlobalSlot = -1;

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

Status Validate(const std::vector<int32_t>& labels, int num_classes, int num_clients, const PartitionOptions& o) {
  const int64_t n = static_cast<int64_t>(labels.size());
  if (num_clients < 1) return InvalidArgument("partition.num_clients must be >= 1, got " + std::to_string(num_clients));
  if (num_classes < 1) return InvalidArgument("partition.num_classes must be >= 1, got " + std::to_string(num_classes));
  if (!(o.alpha > 0) || !std::isfinite(o.alpha))
    return InvalidArgument("partition.alpha must be > 0, got " + Num(o.alpha));
  if (o.shards_per_client < 1) {
    return InvalidArgument("partition.shards_per_client must be >= 1, got " + std::to_string(o.shards_per_client));
  }
  if (!(o.power > 0) || !std::isfinite(o.power))
    return InvalidArgument("partition.power must be > 0, got " + Num(o.power));
  if (o.min_samples < 1)
    return InvalidArgument("partition.min_samples must be >= 1, got " + std::to_string(o.min_samples));
  for (int64_t i = 0; i < n; ++i) {
    if (labels[i] < 0 || labels[i] >= num_classes) {
      return InvalidArgument("partition: labels[" + std::to_string(i) + "] = " + std::to_string(labels[i]) +
                             " is outside [0, " + std::to_string(num_classes) + ")");
    }
  }
  const std::string samples = " must be <= the number of samples (" + std::to_string(n) + ")";
  if (o.method == Method::kIid && num_clients > n) {
    return InvalidArgument("partition.num_clients (" + std::to_string(num_clients) + ")" + samples);
  }
  if (o.method == Method::kShards && int64_t{num_clients} * o.shards_per_client > n) {
    return InvalidArgument("partition.shards_per_client * num_clients (" +
                           std::to_string(int64_t{num_clients} * o.shards_per_client) + ")" + samples);
  }
  if (o.method == Method::kQuantitySkew && int64_t{num_clients} * o.min_samples > n) {
    return InvalidArgument("partition.min_samples * num_clients (" +
                           std::to_string(int64_t{num_clients} * o.min_samples) + ")" + samples);
  }
  return Status::Ok();
}

// Start of chunk c when n items are cut into k near-equal contiguous chunks.
int64_t ChunkBegin(int64_t n, int64_t k, int64_t c) { return c * n / k; }

std::vector<int64_t> ShuffledIota(int64_t n, RngStream& rng) {
  std::vector<int64_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  rng.Shuffle(std::span<int64_t>(v));
  return v;
}

// log of a Gamma(shape, 1) draw (Marsaglia & Tsang 2000). For shape < 1 the
// boost G(a) = G(a + 1) * U^(1/a) is applied in log space, because U^(1/a)
// underflows to 0 for tiny a and would leave a Dirichlet with a zero sum.
double LogGammaDraw(RngStream& rng, double shape) {
  if (shape < 1) {
    double u = 1.0 - rng.NextDouble();  // (0, 1], so the log is finite
    return LogGammaDraw(rng, shape + 1.0) + std::log(u) / shape;
  }
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = rng.NextGaussian();
      v = 1.0 + c * x;
    } while (v <= 0);
    v = v * v * v;
    double u = rng.NextDouble();
    if (u < 1.0 - 0.0331 * x * x * x * x || std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) {
      return std::log(d * v);
    }
  }
}

// Dir(alpha * 1_k) as normalised Gamma(alpha) draws, via log-sum-exp.
std::vector<double> DirichletDraw(RngStream& rng, double alpha, int k) {
  std::vector<double> p(k);
  for (double& g : p) g = LogGammaDraw(rng, alpha);
  double max_log = *std::max_element(p.begin(), p.end());
  double sum = 0;
  for (double& g : p) sum += (g = std::exp(g - max_log));
  for (double& g : p) g /= sum;
  return p;
}

Clients PartitionIid(int64_t n, int k, uint64_t seed) {
  RngStream rng(seed, /*round=*/-1, kGlobalSlot, RngPurpose::kPartition);
  std::vector<int64_t> order = ShuffledIota(n, rng);
  Clients clients(k);
  for (int c = 0; c < k; ++c) {
    clients[c].assign(order.begin() + ChunkBegin(n, k, c), order.begin() + ChunkBegin(n, k, c + 1));
  }
  return clients;
}

Clients PartitionDirichlet(const std::vector<int32_t>& labels, int num_classes, int k, double alpha, uint64_t seed) {
  std::vector<std::vector<int64_t>> by_class(num_classes);
  for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(static_cast<int64_t>(i));
  Clients clients(k);
  for (int cls = 0; cls < num_classes; ++cls) {
    std::vector<int64_t>& ids = by_class[cls];
    if (ids.empty()) continue;
    RngStream rng(seed, /*round=*/-1, /*client=*/cls, RngPurpose::kPartition);
    rng.Shuffle(std::span<int64_t>(ids));
    std::vector<double> p = DirichletDraw(rng, alpha, k);
    const int64_t count = static_cast<int64_t>(ids.size());
    double cum = 0;
    int64_t begin = 0;
    for (int c = 0; c < k; ++c) {
      cum += p[c];
      // The last client takes the rest, so rounding in cumsum loses nothing.
      int64_t end = c + 1 == k ? count : std::min(count, static_cast<int64_t>(std::floor(cum * count)));
      clients[c].insert(clients[c].end(), ids.begin() + begin, ids.begin() + end);
      begin = std::max(begin, end);
    }
  }
  return clients;
}

Clients PartitionShards(const std::vector<int32_t>& labels, int k, int per_client, uint64_t seed) {
  const int64_t n = static_cast<int64_t>(labels.size());
  std::vector<int64_t> by_label(n);
  std::iota(by_label.begin(), by_label.end(), 0);
  std::stable_sort(by_label.begin(), by_label.end(), [&](int64_t a, int64_t b) { return labels[a] < labels[b]; });
  const int64_t num_shards = int64_t{k} * per_client;
  RngStream rng(seed, /*round=*/-1, kGlobalSlot, RngPurpose::kPartition);
  std::vector<int64_t> shard_ids = ShuffledIota(num_shards, rng);
  Clients clients(k);
  for (int64_t s = 0; s < num_shards; ++s) {
    int64_t shard = shard_ids[s];
    std::vector<int64_t>& dst = clients[s / per_client];
    dst.insert(dst.end(), by_label.begin() + ChunkBegin(n, num_shards, shard),
               by_label.begin() + ChunkBegin(n, num_shards, shard + 1));
  }
  return clients;
}

// Client sizes: min_samples each plus the remaining samples split in
// proportion to Pareto weights, rounded by largest remainder so they sum to n.
std::vector<int64_t> SkewedSizes(int64_t n, int k, double power, int min_samples, RngStream& rng) {
  std::vector<double> w(k);
  for (double& wi : w) wi = std::pow(1.0 - rng.NextDouble(), -1.0 / power);
  const double total_w = std::accumulate(w.begin(), w.end(), 0.0);
  const int64_t extra = n - int64_t{k} * min_samples;
  std::vector<int64_t> sizes(k);
  std::vector<double> frac(k);
  int64_t assigned = 0;
  for (int c = 0; c < k; ++c) {
    double share = w[c] / total_w * static_cast<double>(extra);
    int64_t whole = std::min(extra - assigned, static_cast<int64_t>(std::floor(share)));
    sizes[c] = min_samples + whole;
    frac[c] = share - static_cast<double>(whole);
    assigned += whole;
  }
  std::vector<int> by_frac(k);
  std::iota(by_frac.begin(), by_frac.end(), 0);
  std::stable_sort(by_frac.begin(), by_frac.end(), [&](int a, int b) { return frac[a] > frac[b]; });
  for (int64_t r = 0; assigned < extra; ++r, ++assigned) ++sizes[by_frac[r % k]];
  return sizes;
}

Clients PartitionQuantitySkew(int64_t n, int k, double power, int min_samples, uint64_t seed) {
  RngStream rng(seed, /*round=*/-1, kGlobalSlot, RngPurpose::kPartition);
  std::vector<int64_t> sizes = SkewedSizes(n, k, power, min_samples, rng);
  std::vector<int64_t> order = ShuffledIota(n, rng);
  Clients clients(k);
  int64_t begin = 0;
  for (int c = 0; c < k; ++c) {
    clients[c].assign(order.begin() + begin, order.begin() + begin + sizes[c]);
    begin += sizes[c];
  }
  return clients;
}

}  // namespace

Result<std::vector<std::vector<int64_t>>> Partition(const std::vector<int32_t>& labels, int num_classes,
                                                    int num_clients, const PartitionOptions& opts, uint64_t seed) {
  RETURN_IF_ERROR(Validate(labels, num_classes, num_clients, opts));
  const int64_t n = static_cast<int64_t>(labels.size());
  Clients clients;
  switch (opts.method) {
    case Method::kIid:
      clients = PartitionIid(n, num_clients, seed);
      break;
    case Method::kDirichlet:
      clients = PartitionDirichlet(labels, num_classes, num_clients, opts.alpha, seed);
      break;
    case Method::kShards:
      clients = PartitionShards(labels, num_clients, opts.shards_per_client, seed);
      break;
    case Method::kQuantitySkew:
      clients = PartitionQuantitySkew(n, num_clients, opts.power, opts.min_samples, seed);
      break;
    default:
      return InvalidArgument("partition.method has unknown value " + std::to_string(static_cast<int>(opts.method)));
  }
  for (std::vector<int64_t>& c : clients) std::sort(c.begin(), c.end());
  return clients;
}

void SplitClientData(FederatedData& data, double test_fraction, uint64_t seed) {
  SHOAL_CHECK(data.client_test.empty());
  SHOAL_CHECK(test_fraction >= 0 && test_fraction < 1);
  data.client_test.resize(data.client_train.size());
  for (size_t c = 0; c < data.client_train.size(); ++c) {
    std::vector<int64_t>& train = data.client_train[c];
    const int64_t n = static_cast<int64_t>(train.size());
    if (n < 2) continue;  // a lone sample stays for training
    RngStream rng(seed, /*round=*/-1, /*client=*/static_cast<int64_t>(c), RngPurpose::kSplit);
    rng.Shuffle(std::span<int64_t>(train));
    // Same rule as the synthetic generator: floor of the train share, at least 1.
    int64_t n_train = static_cast<int64_t>(std::floor((1.0 - test_fraction) * static_cast<double>(n) + 1e-9));
    n_train = std::clamp<int64_t>(n_train, 1, n);
    data.client_test[c].assign(train.begin() + n_train, train.end());
    train.resize(n_train);
    std::sort(train.begin(), train.end());
    std::sort(data.client_test[c].begin(), data.client_test[c].end());
  }
  data.client_test_in_train = true;
}

}  // namespace shoal
