#include "core/hvp.h"

namespace shoal {

template <typename V>
HessianVectorProduct<V>::HessianVectorProduct(std::unique_ptr<Model<Dual<V>>> model) : model_(std::move(model)) {}

template <typename V>
Result<std::unique_ptr<HessianVectorProduct<V>>> HessianVectorProduct<V>::ForArchitecture(
    const std::string& name, const std::vector<int>& input_shape, int num_classes) {
  ASSIGN_OR_RETURN(auto model, Model<Dual<V>>::Create(name, input_shape, num_classes));
  return std::make_unique<HessianVectorProduct<V>>(std::move(model));
}

template <typename V>
double HessianVectorProduct<V>::Compute(const Backend& be, std::span<const V> params, std::span<const V> v,
                                        const V* x, const int32_t* y, int batch, std::span<V> hv,
                                        std::span<V> grad) {
  const size_t n = params.size();
  p_.resize(n);
  g_.resize(n);
  for (size_t i = 0; i < n; ++i) p_[i] = Dual<V>(params[i], v[i]);
  const size_t xs = static_cast<size_t>(batch) * static_cast<size_t>(model_->input_dim());
  x_.resize(xs);
  for (size_t i = 0; i < xs; ++i) x_[i] = Dual<V>(x[i]);
  double loss = model_->LossAndGrad(be, std::span<const Dual<V>>(p_), x_.data(), y, batch, std::span<Dual<V>>(g_));
  for (size_t i = 0; i < n; ++i) hv[i] = g_[i].t;
  if (!grad.empty())
    for (size_t i = 0; i < n; ++i) grad[i] = g_[i].v;
  return loss;
}

template class HessianVectorProduct<float>;
template class HessianVectorProduct<double>;

}  // namespace shoal
