// Shared fixtures of the attack tests: the cpu_ref backend, a small mlp with
// a batch of two, 16 Fashion-MNIST images (random images when the Debian
// data set is absent), and vector helpers.
#pragma once

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/attacks/gradient_oracle.h"
#include "core/backend.h"
#include "core/data.h"
#include "core/model.h"
#include "core/rng.h"

namespace shoal::attacks::testing_fixtures {

inline const Backend& Be() { return *GetBackend("cpu_ref").value(); }

inline double RelErr(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return std::sqrt(num / den);
}

inline std::vector<double> Randn(size_t n, uint64_t seed, double scale = 1.0) {
  RngStream rng(seed, 0, 0, RngPurpose::kAttack);
  std::vector<double> v(n);
  for (double& x : v) x = scale * rng.NextGaussian();
  return v;
}

// The 2NN on 4x4 inputs with 3 classes (~44k parameters), batch 2.
struct Mlp {
  std::unique_ptr<GradientOracle> oracle = GradientOracle::Create("mlp", {1, 4, 4}, 3, Be()).value();
  std::unique_ptr<Model<double>> plain = Model<double>::Create("mlp", {1, 4, 4}, 3).value();
  std::vector<double> theta;
  std::vector<double> x = Randn(32, 3, 0.5);
  std::vector<int32_t> y = {2, 0};
  Mlp() {
    theta.resize(plain->num_params());
    plain->Init(theta, 11);
  }
  std::vector<double> InputGrad(const std::vector<double>& th) {
    std::vector<double> g(th.size()), dx(x.size());
    plain->LossAndGrad(Be(), th, x.data(), y.data(), 2, g, dx.data());
    return dx;
  }
  std::vector<double> ParamGrad(const std::vector<double>& th) {
    std::vector<double> g(th.size());
    plain->LossAndGrad(Be(), th, x.data(), y.data(), 2, g);
    return g;
  }
};

inline // 16 Fashion-MNIST test images when the Debian dataset is installed, else
// random images in [0, 1] (the recoveries do not depend on image content).
Dataset SixteenImages() {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  Dataset d;
  if (auto ds = LoadIdx(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz"); ds.ok()) {
    d = std::move(*ds);
    d.x.resize(16 * d.dim);
    d.y.resize(16);
    return d;
  }
  d.sample_shape = {1, 28, 28};
  d.dim = 784;
  d.num_classes = 10;
  d.x = std::vector<float>(16 * 784);
  RngStream rng(2, 0, 0, RngPurpose::kAttack);
  for (float& v : d.x) v = rng.NextFloat();
  for (int i = 0; i < 16; ++i) d.y.push_back(i % 10);
  return d;
}

}  // namespace shoal::attacks::testing_fixtures
