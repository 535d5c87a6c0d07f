// Per-example gradients (Model::PerExampleLossAndGrads) against the
// independent expectation of one single-example backward pass per sample,
// for every layer type (Linear, Conv2d with stride/padding, ReLU, MaxPool2d,
// Flatten), in double; and their mean against the batch gradient.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "core/backend.h"
#include "core/model.h"
#include "core/rng.h"

namespace shoal {
namespace {

struct Net {
  std::string label;
  std::vector<int> shape;
  std::function<std::vector<std::unique_ptr<Layer<double>>>()> layers;
};

std::vector<Net> Nets() {
  return {
      {"linear_relu_linear", {6}, [] {
         std::vector<std::unique_ptr<Layer<double>>> l;
         l.push_back(MakeLinear<double>(6, 5));
         l.push_back(MakeReLU<double>());
         l.push_back(MakeLinear<double>(5, 3));
         return l;
       }},
      {"conv_pool_flatten_linear", {2, 7, 6}, [] {
         std::vector<std::unique_ptr<Layer<double>>> l;
         l.push_back(MakeConv2d<double>(2, 3, 3, 1, 1));
         l.push_back(MakeReLU<double>());
         l.push_back(MakeMaxPool2d<double>(2));
         l.push_back(MakeConv2d<double>(3, 4, 2, 1, 2));  // stride 2, pad 1
         l.push_back(MakeFlatten<double>());
         l.push_back(MakeLinear<double>(4 * 2 * 2, 3));
         return l;
       }},
      // 115 KiB of im2col per sample: Conv2d runs a batch of 5 as chunks
      // of 4 and 1 samples (the per-sample blocks sit inside a chunk).
      {"conv_chunked", {4, 20, 20}, [] {
         std::vector<std::unique_ptr<Layer<double>>> l;
         l.push_back(MakeConv2d<double>(4, 2, 3, 1, 1));
         l.push_back(MakeFlatten<double>());
         l.push_back(MakeLinear<double>(2 * 20 * 20, 3));
         return l;
       }},
  };
}

TEST(PerExampleGradients, EqualSingleExampleBackwardForEveryLayerType) {
  const Backend& be = **GetBackend("cpu_ref");
  for (const Net& net : Nets()) {
    Model<double> model(net.label, net.shape, net.layers());
    std::vector<double> params(static_cast<size_t>(model.num_params()));
    model.Init(params, 7);
    const int batch = 5;
    const int64_t dim = model.input_dim(), np = model.num_params();
    std::vector<double> x(static_cast<size_t>(dim * batch));
    RngStream rng(3, -1, -1, RngPurpose::kSynthetic);
    for (double& v : x) v = rng.NextGaussian();
    std::vector<int32_t> y(batch);
    for (int b = 0; b < batch; ++b) y[b] = b % 3;
    std::vector<double> per(static_cast<size_t>(np * batch));
    const double loss = model.PerExampleLossAndGrads(be, params, x.data(), y.data(), batch, per);
    std::vector<double> mean_grad(static_cast<size_t>(np)), one(static_cast<size_t>(np));
    const double batch_loss = model.LossAndGrad(be, params, x.data(), y.data(), batch, mean_grad);
    EXPECT_NEAR(loss, batch_loss, 1e-12);
    for (int b = 0; b < batch; ++b) {
      model.LossAndGrad(be, params, x.data() + b * dim, y.data() + b, 1, one);
      double max_err = 0, scale = 0;
      for (int64_t j = 0; j < np; ++j) {
        max_err = std::max(max_err, std::abs(per[static_cast<size_t>(b * np + j)] - one[static_cast<size_t>(j)]));
        scale = std::max(scale, std::abs(one[static_cast<size_t>(j)]));
      }
      EXPECT_LE(max_err, 1e-12 * std::max(scale, 1.0)) << net.label << " sample " << b;
    }
    for (int64_t j = 0; j < np; ++j) {
      double sum = 0;
      for (int b = 0; b < batch; ++b) sum += per[static_cast<size_t>(b * np + j)];
      EXPECT_NEAR(sum / batch, mean_grad[static_cast<size_t>(j)], 1e-12) << net.label << " param " << j;
    }
  }
}

}  // namespace
}  // namespace shoal
