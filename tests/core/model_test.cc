// Model<T>: parameter counts against PyTorch's, gradients against central
// finite differences of Loss, deterministic initialisation, buffer reuse and
// a few SGD steps on separable data.
#include "core/model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/backend.h"

namespace shoal {
namespace {

const Backend& Be(const char* name) { return *GetBackend(name).value(); }

template <typename T>
std::unique_ptr<Model<T>> MustCreate(const std::string& name, const std::vector<int>& shape, int classes) {
  auto m = Model<T>::Create(name, shape, classes);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return std::move(m).value();
}

template <typename T>
std::vector<T> Uniform(size_t n, uint64_t seed) {
  RngStream rng(seed, -1, -1, RngPurpose::kSynthetic);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(2.0 * rng.NextDouble() - 1.0);
  return v;
}

double RelError(const std::vector<double>& a, const std::vector<double>& b) {
  double d = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    d += (a[i] - b[i]) * (a[i] - b[i]);
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  const double scale = std::sqrt(std::max(na, nb));
  return scale == 0 ? std::sqrt(d) : std::sqrt(d) / scale;
}

TEST(ModelCreate, NumParamsMatchPyTorch) {
  EXPECT_EQ(MustCreate<float>("logreg", {784}, 10)->num_params(), 784 * 10 + 10);
  EXPECT_EQ(MustCreate<float>("mlp", {784}, 10)->num_params(), 199210);
  EXPECT_EQ(MustCreate<float>("mlp", {1, 28, 28}, 10)->num_params(), 199210);
  auto cnn = MustCreate<float>("cnn", {1, 28, 28}, 10);
  EXPECT_EQ(cnn->num_params(), 1663370);
  EXPECT_EQ(cnn->input_dim(), 784);
  EXPECT_EQ(cnn->output_dim(), 10);
  EXPECT_EQ(MustCreate<double>("cnn", {3, 32, 32}, 10)->num_params(),
            32 * 75 + 32 + 64 * 32 * 25 + 64 + 4096 * 512 + 512 + 512 * 10 + 10);
}

TEST(ModelCreate, RejectsUnknownNamesAndUnusableShapes) {
  auto unknown = Model<float>::Create("resnet", {784}, 10);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  for (const std::string& n : Model<float>::ArchitectureNames())
    EXPECT_NE(unknown.status().message().find(n), std::string::npos) << n;
  EXPECT_EQ(Model<float>::Create("cnn", {784}, 10).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Model<float>::Create("cnn", {1, 3, 28}, 10).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Model<float>::Create("mlp", {0}, 10).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Model<float>::Create("logreg", {}, 10).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Model<float>::Create("logreg", {5}, 1).status().code(), StatusCode::kInvalidArgument);
}

TEST(Model, LayoutNamesAndLayerRangesMatch) {
  auto m = MustCreate<float>("cnn", {1, 28, 28}, 10);
  std::vector<std::string> names;
  for (const TensorSpec& t : m->layout().tensors()) names.push_back(t.name);
  EXPECT_EQ(names, std::vector<std::string>({"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight",
                                             "fc1.bias", "fc2.weight", "fc2.bias"}));
  EXPECT_EQ(m->layout().tensors()[4].shape, std::vector<int64_t>({512, 3136}));
  int64_t next = 0;
  for (size_t i = 0; i < m->num_layers(); ++i) {
    const auto [offset, size] = m->layer_param_range(i);
    EXPECT_EQ(offset, next) << i;
    int64_t want = 0;
    for (const auto& [suffix, shape] : m->layer(i).ParamShapes()) {
      int64_t n = 1;
      for (int64_t d : shape) n *= d;
      want += n;
    }
    EXPECT_EQ(size, want) << i;
    next += size;
  }
  EXPECT_EQ(next, m->num_params());
}

TEST(Model, InitIsDeterministicAndWithinPyTorchBounds) {
  auto m = MustCreate<float>("cnn", {1, 12, 12}, 4);
  std::vector<float> a(m->num_params()), b(a.size()), c(a.size());
  m->Init(a, 3);
  m->Init(b, 3);
  m->Init(c, 4);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  const auto& tensors = m->layout().tensors();
  for (size_t t = 0; t < tensors.size(); t += 2) {  // weight, bias pairs
    int64_t fan_in = 1;
    for (size_t d = 1; d < tensors[t].shape.size(); ++d) fan_in *= tensors[t].shape[d];
    const double bound = 1.0 / std::sqrt(double(fan_in));
    for (size_t k = t; k < t + 2; ++k) {
      double max_abs = 0;
      for (float v : TensorSlice(std::span<float>(a), tensors[k])) max_abs = std::max(max_abs, double(std::abs(v)));
      EXPECT_LE(max_abs, bound) << tensors[k].name;
      EXPECT_GT(max_abs, 0.5 * bound) << tensors[k].name;
    }
  }
}

TEST(Model, ZeroLogRegLossIsLogClasses) {
  auto m = MustCreate<double>("logreg", {12}, 7);
  const std::vector<double> params(m->num_params(), 0.0), x = Uniform<double>(5 * 12, 1);
  const std::vector<int32_t> y = {0, 3, 6, 2, 2};
  std::vector<double> grad(params.size());
  EXPECT_NEAR(m->Loss(Be("cpu_simd"), params, x.data(), y.data(), 5), std::log(7.0), 1e-12);
  EXPECT_NEAR(m->LossAndGrad(Be("cpu_ref"), params, x.data(), y.data(), 5, grad), std::log(7.0), 1e-12);
}

// Indices to probe: every entry of small tensors, a fixed sample of big ones.
std::vector<size_t> ProbeIndices(const ParamLayout& layout, uint64_t seed) {
  RngStream rng(seed, -1, -1, RngPurpose::kSynthetic);
  std::vector<size_t> idx;
  for (const TensorSpec& t : layout.tensors()) {
    if (t.size <= 40) {
      for (int64_t i = 0; i < t.size; ++i) idx.push_back(static_cast<size_t>(t.offset + i));
    } else {
      for (int i = 0; i < 40; ++i) idx.push_back(static_cast<size_t>(t.offset) + rng.NextBelow(t.size));
    }
  }
  return idx;
}

struct GradCase {
  std::string name;
  std::vector<int> shape;
};

TEST(Model, GradientsMatchFiniteDifferencesOfLoss) {
  const Backend& be = Be("cpu_simd");
  for (const GradCase& gc : std::vector<GradCase>{{"logreg", {12}}, {"mlp", {12}}, {"cnn", {1, 8, 8}}}) {
    SCOPED_TRACE(gc.name);
    auto m = MustCreate<double>(gc.name, gc.shape, 3);
    const int batch = 3;
    std::vector<double> params(m->num_params()), grad(params.size(), 9.0);
    m->Init(params, 17);
    std::vector<double> x = Uniform<double>(batch * m->input_dim(), 2), dx(x.size(), 9.0);
    const std::vector<int32_t> y = {2, 0, 1};
    m->LossAndGrad(be, params, x.data(), y.data(), batch, grad, dx.data());
    auto numeric = [&](std::vector<double>& v, size_t i) {
      const double saved = v[i], h = 1e-6;
      v[i] = saved + h;
      const double lp = m->Loss(be, params, x.data(), y.data(), batch);
      v[i] = saved - h;
      const double lm = m->Loss(be, params, x.data(), y.data(), batch);
      v[i] = saved;
      return (lp - lm) / (2 * h);
    };
    std::vector<double> got, want;
    for (size_t i : ProbeIndices(m->layout(), 5)) got.push_back(grad[i]), want.push_back(numeric(params, i));
    EXPECT_LT(RelError(got, want), 1e-6);
    got.clear(), want.clear();
    for (size_t i = 0; i < x.size(); ++i) got.push_back(dx[i]), want.push_back(numeric(x, i));
    EXPECT_LT(RelError(got, want), 1e-6);
  }
}

TEST(Model, ResultsDoNotDependOnEarlierBatchSizes) {
  auto m = MustCreate<double>("cnn", {1, 8, 8}, 3);
  std::vector<double> params(m->num_params());
  m->Init(params, 1);
  const std::vector<double> x = Uniform<double>(4 * 64, 3);
  const std::vector<int32_t> y = {0, 1, 2, 1};
  auto run = [&](Model<double>& model, int batch) {
    std::vector<double> grad(params.size());
    const double loss = model.LossAndGrad(Be("cpu_simd"), params, x.data(), y.data(), batch, grad);
    grad.push_back(loss);
    return grad;
  };
  const auto fresh2 = run(*m->Clone(), 2), fresh4 = run(*m->Clone(), 4);
  EXPECT_EQ(run(*m, 4), fresh4);
  EXPECT_EQ(run(*m, 2), fresh2);
  EXPECT_EQ(run(*m, 4), fresh4);
}

// Two classes split by a linear rule; full-batch SGD must cut the loss.
TEST(Model, SgdStepsReduceLossOnSeparableData) {
  const Backend& be = Be("cpu_simd");
  for (const GradCase& gc : std::vector<GradCase>{{"logreg", {12}}, {"mlp", {12}}, {"cnn", {1, 8, 8}}}) {
    SCOPED_TRACE(gc.name);
    auto m = MustCreate<float>(gc.name, gc.shape, 2);
    const int batch = 32;
    const int64_t d = m->input_dim();
    std::vector<float> x = Uniform<float>(batch * d, 9);
    std::vector<int32_t> y(batch);
    for (int b = 0; b < batch; ++b) {
      float s = 0;  // left half of the row against right half
      for (int64_t j = 0; j < d; ++j) s += (j % 4 < 2 ? 1.0f : -1.0f) * x[b * d + j];
      y[b] = s > 0 ? 1 : 0;
    }
    std::vector<float> params(m->num_params()), grad(params.size());
    m->Init(params, 5);
    const double before = m->Loss(be, params, x.data(), y.data(), batch);
    for (int step = 0; step < 40; ++step) {
      m->LossAndGrad(be, params, x.data(), y.data(), batch, grad);
      be.SgdStep(0.2f, grad, params);
    }
    int64_t correct = 0;
    const double after = m->Loss(be, params, x.data(), y.data(), batch, &correct);
    EXPECT_LT(after, 0.5 * before);
    EXPECT_GE(correct, 28);
  }
}

}  // namespace
}  // namespace shoal
