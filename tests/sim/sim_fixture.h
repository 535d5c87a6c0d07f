// Small in-memory experiments for simulator tests (no files needed).
#pragma once

#include <string>

#include "algorithms/registry.h"
#include "core/config.h"
#include "core/rng.h"
#include "sim/scenario.h"

namespace shoal::testing {

// A linearly separable-ish 3-class problem in `dim` features, `clients`
// clients with `per_client` samples each, plus a test set.
inline FederatedData MakeBlobs(int clients, int per_client, int dim = 6, uint64_t seed = 1) {
  FederatedData fd;
  auto fill = [&](Dataset& d, int n, int64_t stream) {
    d.name = "blobs";
    d.sample_shape = {dim};
    d.dim = dim;
    d.num_classes = 3;
    RngStream rng(seed, stream, -1, RngPurpose::kSynthetic);
    for (int i = 0; i < n; ++i) {
      int label = static_cast<int>(rng.NextBelow(3));
      for (int j = 0; j < dim; ++j)
        d.x.push_back(static_cast<float>((j % 3 == label ? 1.5 : 0.0) + rng.NextGaussian()));
      d.y.push_back(label);
    }
  };
  fill(fd.train, clients * per_client, 0);
  fill(fd.test, 200, 1);
  for (int c = 0; c < clients; ++c) {
    std::vector<int64_t> idx;
    for (int i = 0; i < per_client; ++i) idx.push_back(int64_t{c} * per_client + i);
    fd.client_train.push_back(idx);
  }
  return fd;
}

inline sim::Experiment MakeExperiment(FederatedData data, const std::string& model, const std::string& yaml,
                                      const std::string& backend = "cpu_simd") {
  sim::Experiment e;
  e.backend = GetBackend(backend).value();
  e.data = std::move(data);
  e.model = Model<float>::Create(model, e.data.train.sample_shape, e.data.train.num_classes).value();
  auto root = ConfigNode::Parse(yaml, "test.yaml").value();
  auto alg = MakeAlgorithm(root.Child("strategy"), root.Child("client"));
  if (!alg.ok()) throw std::runtime_error(alg.status().ToString());
  e.algorithm = std::move(alg).value();
  return e;
}

}  // namespace shoal::testing
