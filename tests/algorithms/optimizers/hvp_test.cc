// Exact Hessian-vector products (core/hvp.h) against independent
// expectations: central differences of gradients (double), symmetry
// u.Hv = v.Hu, and the closed-form Hessian of logistic regression.
#include "core/hvp.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/backend.h"

namespace shoal {
namespace {

struct Problem {
  std::string model;
  std::vector<int> shape;
  int classes = 3, batch = 3;
};

std::vector<double> Random(size_t n, uint64_t seed, int64_t stream, double scale = 1.0) {
  RngStream rng(seed, stream, -1, RngPurpose::kSynthetic);
  std::vector<double> v(n);
  for (double& x : v) x = scale * rng.NextGaussian();
  return v;
}

double Norm(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

class HvpModels : public ::testing::TestWithParam<Problem> {};

TEST_P(HvpModels, MatchesCentralDifferencesOfGradients) {
  const Problem& pr = GetParam();
  const Backend& be = *GetBackend("cpu_ref").value();
  auto model = Model<double>::Create(pr.model, pr.shape, pr.classes).value();
  auto hvp = HessianVectorProduct<double>::ForArchitecture(pr.model, pr.shape, pr.classes).value();
  const size_t n = static_cast<size_t>(model->num_params());
  std::vector<double> theta(n);
  model->Init(theta, 5);
  const size_t dim = static_cast<size_t>(model->input_dim());
  std::vector<double> x = Random(dim * pr.batch, 11, 0);
  std::vector<int32_t> y;
  for (int i = 0; i < pr.batch; ++i) y.push_back(i % pr.classes);
  std::vector<double> v = Random(n, 12, 1);
  const double vn = Norm(v);
  for (double& e : v) e /= vn;  // unit direction

  std::vector<double> hv(n), grad(n), grad_ref(n);
  double loss = hvp->Compute(be, theta, v, x.data(), y.data(), pr.batch, hv, grad);
  double loss_ref = model->LossAndGrad(be, theta, x.data(), y.data(), pr.batch, grad_ref);
  EXPECT_NEAR(loss, loss_ref, 1e-12 * std::abs(loss_ref));
  for (size_t i = 0; i < n; ++i) ASSERT_NEAR(grad[i], grad_ref[i], 1e-12 + 1e-9 * std::abs(grad_ref[i]));

  const double h = 1e-5 * (1.0 + Norm(theta)) / 20.0;
  std::vector<double> tp(theta), tm(theta), gp(n), gm(n);
  for (size_t i = 0; i < n; ++i) tp[i] += h * v[i], tm[i] -= h * v[i];
  model->LossAndGrad(be, tp, x.data(), y.data(), pr.batch, gp);
  model->LossAndGrad(be, tm, x.data(), y.data(), pr.batch, gm);
  std::vector<double> diff(n), fd(n);
  for (size_t i = 0; i < n; ++i) fd[i] = (gp[i] - gm[i]) / (2 * h), diff[i] = hv[i] - fd[i];
  ASSERT_GT(Norm(fd), 0.0);
  EXPECT_LT(Norm(diff) / Norm(fd), 1e-4) << pr.model;

  // Symmetry of the Hessian: u.(H v) = v.(H u).
  std::vector<double> u = Random(n, 13, 2), hu(n);
  hvp->Compute(be, theta, u, x.data(), y.data(), pr.batch, hu);
  double uhv = 0, vhu = 0;
  for (size_t i = 0; i < n; ++i) uhv += u[i] * hv[i], vhu += v[i] * hu[i];
  EXPECT_NEAR(uhv, vhu, 1e-9 * (std::abs(uhv) + 1e-12)) << pr.model;

  // The float instantiation agrees with double to float precision.
  auto hvp_f = HessianVectorProduct<float>::ForArchitecture(pr.model, pr.shape, pr.classes).value();
  std::vector<float> theta_f(theta.begin(), theta.end()), v_f(v.begin(), v.end()), x_f(x.begin(), x.end()), hv_f(n);
  hvp_f->Compute(be, theta_f, v_f, x_f.data(), y.data(), pr.batch, hv_f);
  std::vector<double> df(n);
  for (size_t i = 0; i < n; ++i) df[i] = hv_f[i] - hv[i];
  EXPECT_LT(Norm(df) / Norm(hv), 1e-3) << pr.model;
}

INSTANTIATE_TEST_SUITE_P(Models, HvpModels,
                         ::testing::Values(Problem{"logreg", {7}, 3, 4}, Problem{"mlp", {6}, 3, 3},
                                           Problem{"cnn", {1, 8, 8}, 3, 2}),
                         [](const auto& info) { return info.param.model; });

// Logistic regression has a closed-form Hessian: with z = W x + b,
// p = softmax(z) and dz = V_W x + V_b, H v = mean over rows of
// (r x^T, r) with r = (diag(p) - p p^T) dz.
TEST(Hvp, LogregEqualsClosedFormHessian) {
  const int in = 4, k = 3, batch = 5;
  const Backend& be = *GetBackend("cpu_ref").value();
  auto hvp = HessianVectorProduct<double>::ForArchitecture("logreg", {in}, k).value();
  const size_t n = k * in + k;
  std::vector<double> theta = Random(n, 21, 0, 0.5), v = Random(n, 22, 1), x = Random(batch * in, 23, 2);
  std::vector<int32_t> y = {0, 1, 2, 1, 0};
  std::vector<double> hv(n), want(n, 0.0);
  hvp->Compute(be, theta, v, x.data(), y.data(), batch, hv);
  for (int r = 0; r < batch; ++r) {
    const double* xr = x.data() + r * in;
    double z[k], dz[k], p[k], zmax = -1e300, total = 0, pdz = 0;
    for (int c = 0; c < k; ++c) {
      z[c] = theta[k * in + c], dz[c] = v[k * in + c];
      for (int j = 0; j < in; ++j) z[c] += theta[c * in + j] * xr[j], dz[c] += v[c * in + j] * xr[j];
      zmax = std::max(zmax, z[c]);
    }
    for (int c = 0; c < k; ++c) total += (p[c] = std::exp(z[c] - zmax));
    for (int c = 0; c < k; ++c) p[c] /= total, pdz += p[c] * dz[c];
    for (int c = 0; c < k; ++c) {
      double rc = p[c] * (dz[c] - pdz) / batch;
      for (int j = 0; j < in; ++j) want[c * in + j] += rc * xr[j];
      want[k * in + c] += rc;
    }
  }
  for (size_t i = 0; i < n; ++i) EXPECT_NEAR(hv[i], want[i], 1e-12) << i;
}

}  // namespace
}  // namespace shoal
