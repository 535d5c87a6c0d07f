// Layers against independent expectations: central finite differences of
// L = sum(out * R) in double, a hand-computed Linear, a direct nested-loop
// convolution, float vs double, and cpu_ref vs cpu_simd.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/model.h"

namespace shoal {
namespace {

enum class Kind { kLinear, kConv, kReLU, kPool, kFlatten };

// One layer configuration; `args` are the factory arguments in order.
struct LayerCase {
  std::string label;
  Kind kind;
  std::vector<int> args;
  std::vector<int> in_shape;
  int batch;
  int probe_stride = 1;  // finite differences on every probe_stride-th input
};

const std::vector<LayerCase>& Cases() {
  static const std::vector<LayerCase> kCases = {
      {"linear", Kind::kLinear, {7, 5}, {7}, 3},
      {"linear_from_chw", Kind::kLinear, {12, 4}, {2, 3, 2}, 2},
      {"conv_s1_p1", Kind::kConv, {2, 3, 3, 1, 1}, {2, 5, 6}, 2},
      {"conv_s2_p2", Kind::kConv, {2, 3, 3, 2, 2}, {2, 7, 6}, 2},
      {"conv_k5_p2", Kind::kConv, {1, 4, 5, 2, 1}, {1, 8, 8}, 2},
      {"conv_k2_s2_p0", Kind::kConv, {3, 2, 2, 0, 2}, {3, 5, 5}, 3},
      // ~205 KiB of im2col per double sample: the batch runs as chunks of
      // 2, 2 and 1 samples (4 and 1 in float), covering both chunk paths.
      {"conv_chunked", Kind::kConv, {4, 2, 3, 1, 1}, {4, 27, 27}, 5, 29},
      {"relu", Kind::kReLU, {}, {3, 4}, 3},
      {"maxpool2_odd", Kind::kPool, {2}, {2, 5, 6}, 2},
      {"maxpool3", Kind::kPool, {3}, {1, 6, 7}, 2},
      {"flatten", Kind::kFlatten, {}, {2, 3, 4}, 2},
  };
  return kCases;
}

template <typename T>
std::unique_ptr<Layer<T>> Build(const LayerCase& c) {
  const auto& a = c.args;
  switch (c.kind) {
    case Kind::kLinear:
      return MakeLinear<T>(a[0], a[1]);
    case Kind::kConv:
      return MakeConv2d<T>(a[0], a[1], a[2], a[3], a[4]);
    case Kind::kReLU:
      return MakeReLU<T>();
    case Kind::kPool:
      return MakeMaxPool2d<T>(a[0]);
    case Kind::kFlatten:
      return MakeFlatten<T>();
  }
  return nullptr;
}

int64_t Product(const std::vector<int>& s) {
  int64_t n = 1;
  for (int d : s) n *= d;
  return n;
}

std::vector<double> Uniform(size_t n, uint64_t seed) {
  RngStream rng(seed, -1, -1, RngPurpose::kSynthetic);
  std::vector<double> v(n);
  for (double& x : v) x = 2.0 * rng.NextDouble() - 1.0;
  return v;
}

// ||a - b|| / max(||a||, ||b||); 0 when both are empty or zero.
double RelError(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    d += (a[i] - b[i]) * (a[i] - b[i]);
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  const double scale = std::sqrt(std::max(na, nb));
  return scale == 0 ? std::sqrt(d) : std::sqrt(d) / scale;
}

template <typename T>
std::vector<double> ToDouble(const std::vector<T>& v) {
  return {v.begin(), v.end()};
}

// A layer with its inputs, parameters and R; runs forward and backward.
template <typename T>
struct Harness {
  Harness(const LayerCase& c, uint64_t seed) : layer(Build<T>(c)), batch(c.batch) {
    out_dim = Product(layer->OutputShape(c.in_shape));
    in_dim = Product(c.in_shape);
    int64_t np = 0;
    for (const auto& [name, shape] : layer->ParamShapes()) np += Product({shape.begin(), shape.end()});
    params.resize(np);
    RngStream rng(seed, -1, -1, RngPurpose::kInit);
    layer->Init(params, rng);
    for (double v : Uniform(batch * in_dim, seed + 1)) x.push_back(static_cast<T>(v));
    for (double v : Uniform(batch * out_dim, seed + 2)) r.push_back(static_cast<T>(v));
  }
  std::vector<T> Forward(const Backend& be) {
    std::vector<T> out(batch * out_dim);
    layer->Forward(be, params, x.data(), out.data(), batch);
    return out;
  }
  double Loss(const Backend& be) {
    const std::vector<T> out = Forward(be);
    double l = 0;
    for (size_t i = 0; i < out.size(); ++i) l += double(out[i]) * double(r[i]);
    return l;
  }
  // dL/dparams and dL/dx with dout = R; outputs start as garbage so a layer
  // that accumulates instead of overwriting fails.
  void Backward(const Backend& be, std::vector<T>& dparams, std::vector<T>& din) {
    const std::vector<T> out = Forward(be);
    dparams.assign(params.size(), T(123));
    din.assign(x.size(), T(-77));
    layer->Backward(be, params, x.data(), out.data(), r.data(), dparams, din.data(), batch);
  }

  std::unique_ptr<Layer<T>> layer;
  int batch;
  int64_t in_dim = 0, out_dim = 0;
  std::vector<T> params, x, r;
};

// Central differences of Harness::Loss with respect to every stride-th entry of v.
std::vector<double> NumericGrad(Harness<double>& h, const Backend& be, std::vector<double>& v, int stride) {
  const double step = 1e-6;
  std::vector<double> g;
  for (size_t i = 0; i < v.size(); i += stride) {
    const double saved = v[i];
    v[i] = saved + step;
    const double lp = h.Loss(be);
    v[i] = saved - step;
    const double lm = h.Loss(be);
    v[i] = saved;
    g.push_back((lp - lm) / (2 * step));
  }
  return g;
}

std::vector<double> EveryNth(const std::vector<double>& v, int stride) {
  std::vector<double> out;
  for (size_t i = 0; i < v.size(); i += stride) out.push_back(v[i]);
  return out;
}

const Backend& Be(const char* name) { return *GetBackend(name).value(); }

TEST(Layers, GradientsMatchFiniteDifferences) {
  for (const char* be_name : {"cpu_ref", "cpu_simd"}) {
    for (const LayerCase& c : Cases()) {
      SCOPED_TRACE(std::string(be_name) + "/" + c.label);
      const Backend& be = Be(be_name);
      Harness<double> h(c, 11);
      std::vector<double> dparams, din;
      h.Backward(be, dparams, din);
      EXPECT_LT(RelError(dparams, NumericGrad(h, be, h.params, 1)), 1e-6);
      EXPECT_LT(RelError(EveryNth(din, c.probe_stride), NumericGrad(h, be, h.x, c.probe_stride)), 1e-6);
      double norm = 0;
      for (double v : din) norm += v * v;
      EXPECT_GT(norm, 0.0);  // the check above is not vacuous
    }
  }
}

TEST(Linear, ForwardMatchesHandComputedExample) {
  auto layer = MakeLinear<double>(2, 3);
  EXPECT_EQ(layer->OutputShape({2}), std::vector<int>({3}));
  // W = [[1,2],[3,4],[5,6]], b = [0.5,-1,2]
  const std::vector<double> params = {1, 2, 3, 4, 5, 6, 0.5, -1, 2};
  const std::vector<double> x = {1, -1, 2, 0.5};
  std::vector<double> out(6);
  layer->Forward(Be("cpu_simd"), params, x.data(), out.data(), 2);
  EXPECT_EQ(out, std::vector<double>({-0.5, -2, 1, 3.5, 7, 15}));
}

// out[b,o,y,x] = bias[o] + sum_{c,i,j} W[o,c,i,j] * in[b,c,y*s-p+i,x*s-p+j].
std::vector<double> DirectConv(const std::vector<double>& in, const std::vector<double>& params, const LayerCase& c) {
  const int cin = c.args[0], cout = c.args[1], k = c.args[2], pad = c.args[3], s = c.args[4];
  const int h = c.in_shape[1], w = c.in_shape[2];
  const int oh = (h + 2 * pad - k) / s + 1, ow = (w + 2 * pad - k) / s + 1;
  const double* bias = params.data() + cout * cin * k * k;
  std::vector<double> out;
  for (int b = 0; b < c.batch; ++b)
    for (int o = 0; o < cout; ++o)
      for (int y = 0; y < oh; ++y)
        for (int x = 0; x < ow; ++x) {
          double acc = bias[o];
          for (int ci = 0; ci < cin; ++ci)
            for (int i = 0; i < k; ++i)
              for (int j = 0; j < k; ++j) {
                const int iy = y * s - pad + i, ix = x * s - pad + j;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                acc += params[((o * cin + ci) * k + i) * k + j] * in[((b * cin + ci) * h + iy) * w + ix];
              }
          out.push_back(acc);
        }
  return out;
}

TEST(Conv2d, ForwardMatchesDirectConvolution) {
  for (const LayerCase& c : Cases()) {
    if (c.kind != Kind::kConv) continue;
    SCOPED_TRACE(c.label);
    Harness<double> h(c, 5);
    EXPECT_LT(RelError(h.Forward(Be("cpu_simd")), DirectConv(h.x, h.params, c)), 1e-12);
    EXPECT_LT(RelError(h.Forward(Be("cpu_ref")), DirectConv(h.x, h.params, c)), 1e-12);
  }
}

TEST(MaxPool2d, ForwardTakesWindowMaxAndRoutesGradientToIt) {
  auto pool = MakeMaxPool2d<double>(2);
  EXPECT_EQ(pool->OutputShape({1, 4, 5}), std::vector<int>({1, 2, 2}));  // floor
  const std::vector<double> in = {1,  5,  2,  0,  9,                     //
                                  3,  4,  8,  1,  9,                     //
                                  0,  -1, -3, -2, 9,                     //
                                  -5, 7,  -4, -6, 9};
  std::vector<double> out(4), din(20, 42.0);
  pool->Forward(Be("cpu_ref"), {}, in.data(), out.data(), 1);
  EXPECT_EQ(out, std::vector<double>({5, 8, 7, -2}));
  const std::vector<double> dout = {10, 20, 30, 40};
  pool->Backward(Be("cpu_ref"), {}, in.data(), out.data(), dout.data(), {}, din.data(), 1);
  std::vector<double> want(20, 0.0);
  want[1] = 10, want[7] = 20, want[16] = 30, want[13] = 40;
  EXPECT_EQ(din, want);
}

TEST(Layers, OutputShapesAndParamShapes) {
  auto conv = MakeConv2d<float>(3, 8, 5, 2, 2);
  EXPECT_EQ(conv->OutputShape({3, 11, 10}), std::vector<int>({8, 6, 5}));
  ASSERT_EQ(conv->ParamShapes().size(), 2u);
  EXPECT_EQ(conv->ParamShapes()[0].second, std::vector<int64_t>({8, 3, 5, 5}));
  EXPECT_EQ(conv->ParamShapes()[1].second, std::vector<int64_t>({8}));
  EXPECT_EQ(MakeFlatten<float>()->OutputShape({2, 3, 4}), std::vector<int>({24}));
  EXPECT_EQ(MakeReLU<float>()->OutputShape({2, 3}), std::vector<int>({2, 3}));
  EXPECT_TRUE(MakeReLU<float>()->ParamShapes().empty());
}

TEST(Layers, FloatAndDoubleAgree) {
  for (const LayerCase& c : Cases()) {
    SCOPED_TRACE(c.label);
    const Backend& be = Be("cpu_simd");
    Harness<double> hd(c, 21);
    Harness<float> hf(c, 21);  // same draws, rounded to float
    EXPECT_LT(RelError(ToDouble(hf.Forward(be)), hd.Forward(be)), 1e-5);
    std::vector<double> dpd, dind;
    std::vector<float> dpf, dinf;
    hd.Backward(be, dpd, dind);
    hf.Backward(be, dpf, dinf);
    EXPECT_LT(RelError(ToDouble(dpf), dpd), 1e-5);
    EXPECT_LT(RelError(ToDouble(dinf), dind), 1e-5);
  }
}

TEST(Layers, CpuRefAndCpuSimdAgreeInFloat) {
  std::vector<LayerCase> cases = Cases();
  // Larger shapes so Eigen's blocked kernels take their packed paths.
  cases.push_back({"linear_big", Kind::kLinear, {300, 70}, {300}, 33});
  cases.push_back({"conv_big", Kind::kConv, {6, 16, 5, 2, 1}, {6, 14, 13}, 4});
  for (const LayerCase& c : cases) {
    SCOPED_TRACE(c.label);
    Harness<float> h(c, 31);
    const auto out_ref = ToDouble(h.Forward(Be("cpu_ref")));
    const auto out_simd = ToDouble(h.Forward(Be("cpu_simd")));
    EXPECT_LT(RelError(out_simd, out_ref), 1e-5);
    std::vector<float> dp_ref, din_ref, dp_simd, din_simd;
    h.Backward(Be("cpu_ref"), dp_ref, din_ref);
    h.Backward(Be("cpu_simd"), dp_simd, din_simd);
    EXPECT_LT(RelError(ToDouble(dp_simd), ToDouble(dp_ref)), 1e-5);
    EXPECT_LT(RelError(ToDouble(din_simd), ToDouble(din_ref)), 1e-5);
  }
}

TEST(Layers, BackwardWithoutInputGradientStillGivesParamGradient) {
  const LayerCase c{"conv", Kind::kConv, {2, 3, 3, 1, 1}, {2, 5, 6}, 2};
  const Backend& be = Be("cpu_simd");
  Harness<double> h(c, 41);
  std::vector<double> dp_full, din;
  h.Backward(be, dp_full, din);
  const std::vector<double> out = h.Forward(be);
  std::vector<double> dp(h.params.size(), 5.0);
  h.layer->Backward(be, h.params, h.x.data(), out.data(), h.r.data(), dp, nullptr, h.batch);
  EXPECT_EQ(dp, dp_full);
}

TEST(Layers, InitIsWithinPyTorchBoundsAndDeterministic) {
  auto conv = MakeConv2d<double>(3, 4, 5, 2);
  conv->OutputShape({3, 8, 8});
  std::vector<double> a(4 * 3 * 25 + 4), b(a.size());
  RngStream r1(7, -1, -1, RngPurpose::kInit), r2(7, -1, -1, RngPurpose::kInit);
  conv->Init(a, r1);
  conv->Init(b, r2);
  EXPECT_EQ(a, b);
  const double bound = 1.0 / std::sqrt(75.0);
  double max_abs = 0;
  for (double v : a) max_abs = std::max(max_abs, std::abs(v));
  EXPECT_LE(max_abs, bound);
  EXPECT_GT(max_abs, 0.9 * bound);
}

}  // namespace
}  // namespace shoal
