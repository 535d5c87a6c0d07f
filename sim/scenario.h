// Scenario: a parsed, validated experiment description (YAML) and the
// experiment it builds. Loading checks every key (unknown keys, types, ranges,
// dataset files present) before anything expensive happens.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/registry.h"
#include "core/backend.h"
#include "core/config.h"
#include "core/data.h"
#include "core/model.h"
#include "sim/device_profiles.h"

namespace shoal::sim {

struct DataOptions {
  std::string dataset = "fashion_mnist";  // fashion_mnist | synthetic | leaf
  std::string path = "/usr/share/datasets/fashion-mnist";
  std::string leaf_train, leaf_test;      // leaf: JSON files
  std::vector<int> leaf_sample_shape;     // leaf: optional CHW reshape
  SyntheticOptions synthetic;
  int num_clients = 100;                  // fashion_mnist: clients to partition into
  PartitionOptions partition;
  double client_test_fraction = 0.0;      // carve a per-client test split out of train; [0, 1)
  int64_t max_train_samples = 0;          // 0 = all; else use a prefix (quick experiments)
};

struct Scenario {
  std::string source;   // file path
  std::string name;
  uint64_t seed = 0;
  std::string backend = "auto";
  int threads = 0;      // 0 = hardware concurrency
  DataOptions data;
  std::string model = "mlp";
  int eval_every = 5;          // >= 1; the final round is always evaluated
  int64_t eval_max_samples = 0; // 0 = whole test set
  std::string out_dir = "runs";
  DeviceOptions devices;       // `devices:` (absent = homogeneous clients)
  ConfigNode root;             // for strategy/client sections and the resolved dump
};

// Parses and validates `path` with `--set` overrides applied first. Builds
// the algorithm once (then discards it) so that every strategy and client key
// is checked too.
Result<Scenario> LoadScenario(const std::string& path, const std::vector<std::string>& overrides);

// Everything a driver needs, built from a Scenario.
struct Experiment {
  const Backend* backend = nullptr;
  FederatedData data;
  std::unique_ptr<Model<float>> model;  // prototype; drivers clone one per worker
  Algorithm algorithm;
  // Built from Scenario::devices when a `devices:` section was given; null =
  // the simulator's homogeneous default.
  std::shared_ptr<const DeviceProfiles> devices;
};
Result<Experiment> BuildExperiment(const Scenario& s);

// Loads the data and partitions it (no model, no algorithm).
Result<FederatedData> LoadFederatedData(const Scenario& s);

}  // namespace shoal::sim
