#include "algorithms/attacks/gradient_oracle.h"

#include <algorithm>
#include <cmath>

namespace shoal::attacks {

Result<std::unique_ptr<GradientOracle>> GradientOracle::Create(const std::string& arch,
                                                               const std::vector<int>& input_shape, int num_classes,
                                                               const Backend& backend) {
  ASSIGN_OR_RETURN(auto model, Model<double>::Create(arch, input_shape, num_classes));
  ASSIGN_OR_RETURN(auto dual, Model<Dual<double>>::Create(arch, input_shape, num_classes));
  return std::make_unique<GradientOracle>(std::move(model), std::move(dual), backend);
}

GradientOracle::GradientOracle(std::unique_ptr<Model<double>> model, std::unique_ptr<Model<Dual<double>>> dual,
                               const Backend& backend)
    : be_(backend), model_(std::move(model)), dual_(std::move(dual)) {
  SHOAL_CHECK(model_->num_params() == dual_->num_params());
}

double GradientOracle::Gradient(std::span<const double> theta, std::span<const double> x,
                                std::span<const int32_t> y, std::span<double> grad) {
  return model_->LossAndGrad(be_, theta, x.data(), y.data(), static_cast<int>(y.size()), grad);
}

void GradientOracle::MixedVjp(std::span<const double> theta, std::span<const double> x, std::span<const int32_t> y,
                              std::span<const double> u, std::span<double> dx, std::span<double> hu) {
  const size_t p = theta.size();
  theta_d_.resize(p);
  grad_d_.resize(p);
  for (size_t i = 0; i < p; ++i) theta_d_[i] = Dual<double>(theta[i], u[i]);
  x_d_.resize(x.size());
  dx_d_.resize(x.size());
  for (size_t i = 0; i < x.size(); ++i) x_d_[i] = Dual<double>(x[i], 0.0);
  dual_->LossAndGrad(be_, theta_d_, x_d_.data(), y.data(), static_cast<int>(y.size()), grad_d_, dx_d_.data());
  for (size_t i = 0; i < x.size(); ++i) dx[i] = dx_d_[i].t;
  if (!hu.empty())
    for (size_t i = 0; i < p; ++i) hu[i] = grad_d_[i].t;
}

void GradientOracle::Probabilities(std::span<const double> theta, std::span<const double> x, int batch,
                                   std::span<double> p) {
  const double* logits = model_->Forward(be_, theta, x.data(), batch);
  const int64_t c = model_->output_dim();
  for (int b = 0; b < batch; ++b) {
    const double* z = logits + b * c;
    const double mx = *std::max_element(z, z + c);
    double s = 0;
    for (int64_t j = 0; j < c; ++j) s += (p[b * c + j] = std::exp(z[j] - mx));
    for (int64_t j = 0; j < c; ++j) p[b * c + j] /= s;
  }
}

}  // namespace shoal::attacks
