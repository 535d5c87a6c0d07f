// GradientOracle: the attacker's view of the model as a function of the input.
//
// Gradient() computes the parameter gradient G(x) = grad_theta L(x, y; theta)
// of the mean softmax cross-entropy in double precision (through the
// Backend). MixedVjp() computes, exactly, the vector-Jacobian product
// J_x G(x)^T u = grad_x <u, grad_theta L(x, y; theta)> by forward-over-reverse
// differentiation: parameter tangents are seeded with u in a
// Model<Dual<double>> pass, and the tangent of the input gradient is the mixed
// second derivative (shared/PRIVACY.md §2.7). The same pass yields the
// Hessian-vector product H_theta u in the gradient tangents (SME's d/d lambda).
// Every gradient-matching attack (DLG, Inverting Gradients, SME) is built on
// these two calls. Owns scratch: one instance per thread.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/dual.h"
#include "core/model.h"
#include "core/status.h"

namespace shoal::attacks {

class GradientOracle {
 public:
  // Builds the architecture `arch` (see Model::Create) in double and dual
  // double. Errors name the architecture.
  static Result<std::unique_ptr<GradientOracle>> Create(const std::string& arch, const std::vector<int>& input_shape,
                                                        int num_classes, const Backend& backend);
  // Wraps explicit models (tests); they must have the same architecture.
  GradientOracle(std::unique_ptr<Model<double>> model, std::unique_ptr<Model<Dual<double>>> dual,
                 const Backend& backend);

  int64_t num_params() const { return model_->num_params(); }
  int64_t input_dim() const { return model_->input_dim(); }
  int64_t num_classes() const { return model_->output_dim(); }
  const ParamLayout& layout() const { return model_->layout(); }

  // grad = G(x) for a batch of y.size() rows of x; returns the mean loss.
  double Gradient(std::span<const double> theta, std::span<const double> x, std::span<const int32_t> y,
                  std::span<double> grad);
  // dx = grad_x <u, G(x)>; when hu is non-empty also hu = H_theta(x) u.
  // REQUIRES: u and hu (if given) have num_params() elements, dx x.size().
  void MixedVjp(std::span<const double> theta, std::span<const double> x, std::span<const int32_t> y,
                std::span<const double> u, std::span<double> dx, std::span<double> hu = {});
  // Softmax probabilities [batch x classes] of f(x; theta).
  void Probabilities(std::span<const double> theta, std::span<const double> x, int batch, std::span<double> p);

 private:
  const Backend& be_;
  std::unique_ptr<Model<double>> model_;
  std::unique_ptr<Model<Dual<double>>> dual_;
  std::vector<Dual<double>> theta_d_, x_d_, grad_d_, dx_d_;
};

}  // namespace shoal::attacks
