// Federated partitions: exact cover, the skew each method promises,
// determinism in the seed, and option validation.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "core/data.h"

namespace shoal {
namespace {

using Clients = std::vector<std::vector<int64_t>>;
using Method = PartitionOptions::Method;

// `per_class` samples of each class, interleaved (label = index % classes),
// so label order and index order disagree.
std::vector<int32_t> BalancedLabels(int classes, int per_class) {
  std::vector<int32_t> y(static_cast<size_t>(classes) * per_class);
  for (size_t i = 0; i < y.size(); ++i) y[i] = static_cast<int32_t>(i % classes);
  return y;
}

PartitionOptions Options(Method m) {
  PartitionOptions o;
  o.method = m;
  return o;
}

Clients MustPartition(const std::vector<int32_t>& y, int classes, int clients, const PartitionOptions& o,
                      uint64_t seed) {
  Result<Clients> r = Partition(y, classes, clients, o, seed);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : Clients(clients);
}

// Mean over non-empty clients of the share of the client's most common label.
double MeanMaxClassFraction(const Clients& clients, const std::vector<int32_t>& y, int classes) {
  double total = 0;
  int counted = 0;
  for (const auto& c : clients) {
    if (c.empty()) continue;
    std::vector<int> hist(classes, 0);
    for (int64_t i : c) ++hist[y[i]];
    total += static_cast<double>(*std::max_element(hist.begin(), hist.end())) / c.size();
    ++counted;
  }
  return total / counted;
}

class EveryMethod : public ::testing::TestWithParam<Method> {};

TEST_P(EveryMethod, AssignsEachSampleExactlyOnceInSortedLists) {
  std::vector<int32_t> y = BalancedLabels(10, 103);  // 1030: not a multiple of the client count
  Clients clients = MustPartition(y, 10, 20, Options(GetParam()), 42);
  ASSERT_EQ(clients.size(), 20u);
  std::vector<int64_t> all;
  for (const auto& c : clients) {
    EXPECT_TRUE(std::is_sorted(c.begin(), c.end()));
    all.insert(all.end(), c.begin(), c.end());
  }
  std::sort(all.begin(), all.end());
  std::vector<int64_t> expected(y.size());
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(all, expected);
}

TEST_P(EveryMethod, SameSeedSamePartitionOtherSeedDiffers) {
  std::vector<int32_t> y = BalancedLabels(10, 100);
  PartitionOptions o = Options(GetParam());
  EXPECT_EQ(MustPartition(y, 10, 20, o, 1), MustPartition(y, 10, 20, o, 1));
  EXPECT_NE(MustPartition(y, 10, 20, o, 1), MustPartition(y, 10, 20, o, 2));
}

INSTANTIATE_TEST_SUITE_P(Partition, EveryMethod,
                         ::testing::Values(Method::kIid, Method::kDirichlet, Method::kShards, Method::kQuantitySkew));

TEST(Partition, IidSizesDifferByAtMostOneAndMixLabels) {
  std::vector<int32_t> y = BalancedLabels(10, 103);
  Clients clients = MustPartition(y, 10, 20, Options(Method::kIid), 3);
  auto [lo, hi] = std::minmax_element(clients.begin(), clients.end(),
                                      [](const auto& a, const auto& b) { return a.size() < b.size(); });
  EXPECT_EQ(lo->size(), 51u);  // 1030 / 20 = 51.5
  EXPECT_EQ(hi->size(), 52u);
  EXPECT_LT(MeanMaxClassFraction(clients, y, 10), 0.35);
}

TEST(Partition, DirichletSkewGrowsAsAlphaShrinks) {
  std::vector<int32_t> y = BalancedLabels(10, 1000);
  auto skew = [&](double alpha) {
    PartitionOptions o = Options(Method::kDirichlet);
    o.alpha = alpha;
    double sum = 0;
    for (uint64_t seed = 0; seed < 3; ++seed) sum += MeanMaxClassFraction(MustPartition(y, 10, 20, o, seed), y, 10);
    return sum / 3;
  };
  double s01 = skew(0.1), s1 = skew(1.0), s100 = skew(100.0);
  EXPECT_GT(s01, s1);
  EXPECT_GT(s1, s100);
  EXPECT_GT(s01, 0.6);   // most clients see mainly one class
  EXPECT_LT(s100, 0.2);  // close to the balanced 0.1
}

TEST(Partition, DirichletWithTinyAlphaPutsEachClassOnOneClient) {
  // Gamma(1e-6) draws underflow to 0 in linear space (u^(1/alpha)), which would
  // make the Dirichlet sum 0; the sampler must still give a valid draw.
  std::vector<int32_t> y = BalancedLabels(5, 200);
  PartitionOptions o = Options(Method::kDirichlet);
  o.alpha = 1e-6;
  Clients clients = MustPartition(y, 5, 8, o, 9);
  size_t total = 0;
  for (const auto& c : clients) total += c.size();
  EXPECT_EQ(total, y.size());
  for (int cls = 0; cls < 5; ++cls) {
    int64_t most = 0;
    for (const auto& c : clients) {
      most = std::max<int64_t>(most, std::count_if(c.begin(), c.end(), [&](int64_t i) { return y[i] == cls; }));
    }
    // floor(cumsum * count) may strand one sample on a later client, as in the numpy peer.
    EXPECT_GE(most, 199) << "class " << cls;
  }
}

TEST(Partition, LabelPureShardsGiveAtMostShardsPerClientLabels) {
  // 10 classes x 100 samples, 20 clients x 2 shards: 40 shards of 25, each inside one class.
  std::vector<int32_t> y = BalancedLabels(10, 100);
  PartitionOptions o = Options(Method::kShards);
  o.shards_per_client = 2;
  Clients clients = MustPartition(y, 10, 20, o, 5);
  int two_label_clients = 0;
  for (const auto& c : clients) {
    EXPECT_EQ(c.size(), 50u);
    std::set<int32_t> labels;
    for (int64_t i : c) labels.insert(y[i]);
    EXPECT_LE(labels.size(), 2u);
    two_label_clients += labels.size() == 2;
  }
  EXPECT_GT(two_label_clients, 0) << "shards should be dealt at random, not by label";
}

TEST(Partition, QuantitySkewGivesUnequalSizesAboveTheMinimum) {
  std::vector<int32_t> y = BalancedLabels(10, 1000);
  PartitionOptions o = Options(Method::kQuantitySkew);
  o.min_samples = 20;
  o.power = 1.5;
  Clients clients = MustPartition(y, 10, 20, o, 4);
  size_t lo = y.size(), hi = 0, total = 0;
  for (const auto& c : clients) lo = std::min(lo, c.size()), hi = std::max(hi, c.size()), total += c.size();
  EXPECT_EQ(total, y.size());
  EXPECT_GE(lo, 20u);
  EXPECT_GT(static_cast<double>(hi) / lo, 3.0) << "min " << lo << " max " << hi;
}

TEST(Partition, InvalidOptionsNameTheOption) {
  std::vector<int32_t> y = BalancedLabels(10, 10);
  auto expect_error = [&](const PartitionOptions& o, int clients, const std::string& needle,
                          const std::vector<int32_t>& labels) {
    Result<Clients> r = Partition(labels, 10, clients, o, 0);
    ASSERT_FALSE(r.ok()) << needle;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
  };
  PartitionOptions o = Options(Method::kDirichlet);
  o.alpha = -1;
  expect_error(o, 5, "partition.alpha must be > 0, got -1", y);
  expect_error(Options(Method::kIid), 0, "partition.num_clients", y);
  expect_error(Options(Method::kIid), 101, "partition.num_clients", y);
  o = Options(Method::kShards);
  o.shards_per_client = 0;
  expect_error(o, 5, "partition.shards_per_client", y);
  o.shards_per_client = 30;
  expect_error(o, 5, "partition.shards_per_client", y);  // 150 shards > 100 samples
  o = Options(Method::kQuantitySkew);
  o.power = 0;
  expect_error(o, 5, "partition.power", y);
  o.power = 1.5;
  o.min_samples = 30;
  expect_error(o, 5, "partition.min_samples", y);  // 150 > 100 samples
  std::vector<int32_t> bad = y;
  bad[7] = 10;
  expect_error(Options(Method::kIid), 5, "labels[7]", bad);
}

TEST(SplitClientData, MovesAFractionIntoPerClientTest) {
  FederatedData data;
  data.client_train = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {10}, {}, {11, 12, 13, 14, 15}};
  FederatedData copy = data;
  SplitClientData(data, 0.2, 17);
  SplitClientData(copy, 0.2, 17);
  EXPECT_TRUE(data.client_test_in_train);
  EXPECT_EQ(data.client_train, copy.client_train);
  EXPECT_EQ(data.client_test, copy.client_test);
  ASSERT_EQ(data.client_test.size(), 4u);
  EXPECT_EQ(data.client_train[0].size(), 8u);
  EXPECT_EQ(data.client_test[0].size(), 2u);
  EXPECT_EQ(data.client_train[1], (std::vector<int64_t>{10}));  // a lone sample stays for training
  EXPECT_TRUE(data.client_test[1].empty());
  EXPECT_TRUE(data.client_test[2].empty());
  EXPECT_EQ(data.client_train[3].size(), 4u);  // floor(0.8 * 5)
  EXPECT_EQ(data.client_test[3].size(), 1u);
  for (int c : {0, 3}) {
    std::vector<int64_t> all = data.client_train[c];
    all.insert(all.end(), data.client_test[c].begin(), data.client_test[c].end());
    std::sort(all.begin(), all.end());
    std::vector<int64_t> expected(all.size());
    std::iota(expected.begin(), expected.end(), c == 0 ? 0 : 11);
    EXPECT_EQ(all, expected) << "client " << c;
    EXPECT_TRUE(std::is_sorted(data.client_test[c].begin(), data.client_test[c].end()));
  }
  // Another seed picks other test samples for the 10-sample client (45 possible pairs).
  FederatedData other;
  other.client_train = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}};
  SplitClientData(other, 0.2, 18);
  FederatedData again;
  again.client_train = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}};
  SplitClientData(again, 0.2, 19);
  EXPECT_TRUE(other.client_test[0] != data.client_test[0] || again.client_test[0] != data.client_test[0]);
}

}  // namespace
}  // namespace shoal
