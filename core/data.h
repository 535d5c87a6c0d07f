// Datasets and federated partitions.
//
// A Dataset is loaded once and is immutable afterwards; a client's data is a
// list of indices into it (never a copy). Features are float32 rows of `dim`
// values (images: CHW, scaled to [0, 1]); labels are int32 in [0, num_classes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace shoal {

struct Dataset {
  std::string name;
  std::vector<int> sample_shape;  // {C, H, W} for images, {dim} for vectors
  int64_t dim = 0;                // product of sample_shape
  int num_classes = 0;
  std::vector<float> x;           // size() * dim, row-major
  std::vector<int32_t> y;         // size()

  int64_t size() const { return static_cast<int64_t>(y.size()); }
  const float* row(int64_t i) const { return x.data() + i * dim; }
};

// A federated dataset: global train/test sets plus, per client, indices into
// them. `client_test` is empty unless the source defines per-client test data
// (LEAF, synthetic); see SplitClientData for carving one out of train.
struct FederatedData {
  Dataset train;
  Dataset test;
  std::vector<std::vector<int64_t>> client_train;
  std::vector<std::vector<int64_t>> client_test;
  // True when client_test indexes `train` (made by SplitClientData) rather than `test`.
  bool client_test_in_train = false;
  const Dataset& client_test_source() const { return client_test_in_train ? train : test; }
  int num_clients() const { return static_cast<int>(client_train.size()); }
};

// Reads an IDX image file and its label file (gzip-compressed or raw, chosen
// by the magic bytes). Pixels are scaled to [0, 1]. Errors name the file and
// what was wrong (missing, truncated, bad magic, count mismatch).
Result<Dataset> LoadIdx(const std::string& images_path, const std::string& labels_path);

// Fashion-MNIST from `dir` (Debian: /usr/share/datasets/fashion-mnist):
// train-*-idx?-ubyte.gz and t10k-*. Returns train and test; no client split.
Result<FederatedData> LoadFashionMnist(const std::string& dir);

// LEAF-format JSON ({"users": [...], "num_samples": [...], "user_data":
// {user: {"x": [[...]], "y": [...]}}}). The train file's users become the
// clients, in file order; the test file's users must be a subset of them and
// fill client_test. `sample_shape` reshapes x rows (empty: flat vectors).
Result<FederatedData> LoadLeaf(const std::string& train_json, const std::string& test_json,
                               std::vector<int> sample_shape = {});

// LEAF / pFedMe synthetic(alpha, beta) data, spec in shared/ALGORITHMS.md §10.
struct SyntheticOptions {
  double alpha = 0.5;       // model heterogeneity (std of u_i); >= 0
  double beta = 0.5;        // data heterogeneity (std of B_i); >= 0
  int num_users = 100;      // >= 1
  int dim = 60;             // >= 1
  int num_classes = 10;     // >= 2
  bool iid = false;
  double train_fraction = 0.9;  // per-user split, in (0, 1]
  // Per-user counts: (floor(LogNormal(4, 2)) + 50) * count_scale, capped at max_samples_per_user.
  int count_scale = 5;
  int max_samples_per_user = 1000000;
};
Result<FederatedData> GenerateSynthetic(const SyntheticOptions& opts, uint64_t seed);

// Label-based partitions of one dataset into clients (indices into `labels`).
struct PartitionOptions {
  enum class Method { kIid, kDirichlet, kShards, kQuantitySkew };
  Method method = Method::kIid;
  double alpha = 0.5;          // Dirichlet concentration; > 0
  int shards_per_client = 2;   // pathological shards; >= 1
  double power = 1.5;          // quantity skew: sizes ~ power law with this exponent; > 0
  int min_samples = 1;         // quantity skew: every client gets at least this many
};
// Every index appears in exactly one client (except Dirichlet clients that
// draw nothing, which keep an empty list). Deterministic in `seed`.
Result<std::vector<std::vector<int64_t>>> Partition(const std::vector<int32_t>& labels,
                                                     int num_classes, int num_clients,
                                                     const PartitionOptions& opts, uint64_t seed);

// Moves a fraction of each client's train indices into a per-client test
// list (shuffled with the seed), for personalised evaluation; sets
// client_test_in_train. Clients with a single sample keep it for training.
// REQUIRES: client_test is empty.
void SplitClientData(FederatedData& data, double test_fraction, uint64_t seed);

}  // namespace shoal
