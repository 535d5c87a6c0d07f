// Exact Hessian-vector products of a model's mean minibatch loss.
//
// Forward-over-reverse (Pearlmutter's R-operator, shared/OPTIMIZERS.md §7):
// the dual-number twin Model<Dual<V>> runs forward and backward with the
// parameter tangents seeded with v; the tangents of the gradient are H v
// exactly (no finite-difference step). Cost is a few gradient evaluations on
// scalar (non-backend) kernels. An instance owns its dual model and scratch:
// not thread-safe, one per worker/task. V is float or double.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/dual.h"
#include "core/model.h"

namespace shoal {

template <typename V>
class HessianVectorProduct {
 public:
  explicit HessianVectorProduct(std::unique_ptr<Model<Dual<V>>> model);
  // The twin of Model<V>::Create(name, input_shape, num_classes).
  static Result<std::unique_ptr<HessianVectorProduct>> ForArchitecture(const std::string& name,
                                                                       const std::vector<int>& input_shape,
                                                                       int num_classes);
  const Model<Dual<V>>& model() const { return *model_; }

  // hv = H v, with H the Hessian of the mean softmax cross-entropy of the
  // batch (x: batch x input_dim, labels y) at `params`; also writes the
  // gradient when `grad` is non-empty. Returns the mean loss.
  // REQUIRES: params, v, hv (and grad) have the model's parameter count.
  double Compute(const Backend& be, std::span<const V> params, std::span<const V> v, const V* x,
                 const int32_t* y, int batch, std::span<V> hv, std::span<V> grad = {});

 private:
  std::unique_ptr<Model<Dual<V>>> model_;
  std::vector<Dual<V>> p_, g_, x_;  // scratch reused across calls
};

extern template class HessianVectorProduct<float>;
extern template class HessianVectorProduct<double>;

}  // namespace shoal
