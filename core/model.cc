// Model<T>: a sequence of layers on one flat parameter span, and the
// architecture registry behind Model::Create.
//
// Parameter names follow PyTorch's module naming for the known architectures:
// the i-th Linear is "fc<i>", the i-th Conv2d "conv<i>", and any other layer
// kind with parameters "<kind><i>", each with the layer's own suffixes
// ("weight", "bias"). Scratch (activations, gradient ping-pong buffers) only
// grows, so steps at a stable batch size allocate nothing.
#include "core/model.h"
#include "core/dual.h"
#include "core/tensor_ops.h"

#include <algorithm>
#include <limits>
#include <map>

namespace shoal {
namespace {

template <typename T>
using Layers = std::vector<std::unique_ptr<Layer<T>>>;

const char* const kArchitectures[] = {"logreg", "mlp", "cnn"};

template <typename U>
void EnsureSize(std::vector<U>& v, int64_t n) {
  if (v.size() < static_cast<size_t>(n)) v.resize(static_cast<size_t>(n));
}

std::string ShapeString(const std::vector<int>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::string LayerPrefix(const std::string& kind, std::map<std::string, int>& counts) {
  const std::string base = kind == "linear" ? "fc" : kind == "conv2d" ? "conv" : kind;
  return base + std::to_string(++counts[base]);
}

template <typename T>
Layers<T> BuildMlp(int in, int classes) {
  Layers<T> l;
  l.push_back(MakeLinear<T>(in, 200));
  l.push_back(MakeReLU<T>());
  l.push_back(MakeLinear<T>(200, 200));
  l.push_back(MakeReLU<T>());
  l.push_back(MakeLinear<T>(200, classes));
  return l;
}

// FedAvg CNN (McMahan et al. 2017); REQUIRES a CHW shape with H, W >= 4.
template <typename T>
Layers<T> BuildCnn(const std::vector<int>& chw, int classes) {
  Layers<T> l;
  l.push_back(MakeConv2d<T>(chw[0], 32, 5, 2));
  l.push_back(MakeReLU<T>());
  l.push_back(MakeMaxPool2d<T>(2));
  l.push_back(MakeConv2d<T>(32, 64, 5, 2));
  l.push_back(MakeReLU<T>());
  l.push_back(MakeMaxPool2d<T>(2));
  l.push_back(MakeFlatten<T>());
  l.push_back(MakeLinear<T>(64 * (chw[1] / 4) * (chw[2] / 4), 512));
  l.push_back(MakeReLU<T>());
  l.push_back(MakeLinear<T>(512, classes));
  return l;
}

Status ValidateShape(const std::string& name, const std::vector<int>& shape, int num_classes) {
  const std::string where = "model '" + name + "' with input shape " + ShapeString(shape);
  if (num_classes < 2) return InvalidArgument(where + ": num_classes must be >= 2, got " + std::to_string(num_classes));
  if (shape.empty()) return InvalidArgument(where + ": input shape must not be empty");
  int64_t dim = 1;
  for (int d : shape) {
    if (d <= 0) return InvalidArgument(where + ": every dimension must be positive");
    dim *= d;
    if (dim > std::numeric_limits<int>::max()) return InvalidArgument(where + ": input too large");
  }
  if (name == "cnn" && (shape.size() != 3 || shape[1] < 4 || shape[2] < 4))
    return InvalidArgument(where + ": cnn needs a CHW shape [channels, height, width] with height, width >= 4");
  return Status::Ok();
}

}  // namespace

template <typename T>
std::vector<std::string> Model<T>::ArchitectureNames() {
  return {std::begin(kArchitectures), std::end(kArchitectures)};
}

template <typename T>
Result<std::unique_ptr<Model<T>>> Model<T>::Create(const std::string& name, const std::vector<int>& input_shape,
                                                   int num_classes) {
  const auto names = ArchitectureNames();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    std::string list;
    for (const auto& n : names) {
      if (!list.empty()) list += ", ";
      list += n;
    }
    return InvalidArgument("unknown model '" + name + "': expected one of " + list);
  }
  RETURN_IF_ERROR(ValidateShape(name, input_shape, num_classes));
  int in = 1;
  for (int d : input_shape) in *= d;
  Layers<T> layers;
  if (name == "logreg") layers.push_back(MakeLinear<T>(in, num_classes));
  if (name == "mlp") layers = BuildMlp<T>(in, num_classes);
  if (name == "cnn") layers = BuildCnn<T>(input_shape, num_classes);
  return std::make_unique<Model<T>>(name, input_shape, std::move(layers));
}

template <typename T>
Model<T>::Model(std::string name, std::vector<int> input_shape, std::vector<std::unique_ptr<Layer<T>>> layers)
    : name_(std::move(name)), input_shape_(std::move(input_shape)), layers_(std::move(layers)) {
  SHOAL_CHECK(!layers_.empty());
  input_dim_ = 1;
  for (int d : input_shape_) input_dim_ *= d;
  std::vector<int> shape = input_shape_;
  std::map<std::string, int> counts;
  for (auto& layer : layers_) {
    shape = layer->OutputShape(shape);
    int64_t dim = 1;
    for (int d : shape) dim *= d;
    out_dims_.push_back(dim);
    const int64_t offset = layout_.total_size();
    const auto params = layer->ParamShapes();
    if (!params.empty()) {
      const std::string prefix = LayerPrefix(layer->kind(), counts);
      for (const auto& [suffix, dims] : params) layout_.Add(prefix + "." + suffix, dims);
    }
    ranges_.emplace_back(offset, layout_.total_size() - offset);
  }
  output_dim_ = out_dims_.back();
  acts_.resize(layers_.size());
}

// Rebuilt through Create: layers carry per-instance scratch and have no
// Clone of their own, so only the registered architectures can be cloned.
template <typename T>
std::unique_ptr<Model<T>> Model<T>::Clone() const {
  auto copy = Create(name_, input_shape_, static_cast<int>(output_dim_));
  if (!copy.ok() || !((*copy)->layout() == layout_)) {
    std::fprintf(stderr, "Model::Clone: '%s' is not a registered architecture with this layout\n", name_.c_str());
    std::abort();
  }
  return std::move(copy).value();
}

template <typename T>
void Model<T>::Init(std::span<T> params, uint64_t seed) const {
  SHOAL_CHECK(static_cast<int64_t>(params.size()) == num_params());
  RngStream rng(seed, -1, -1, RngPurpose::kInit);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const auto [offset, size] = ranges_[i];
    layers_[i]->Init(params.subspan(static_cast<size_t>(offset), static_cast<size_t>(size)), rng);
  }
}

template <typename T>
const T* Model<T>::Forward(const Backend& be, std::span<const T> params, const T* x, int batch) {
  SHOAL_CHECK(static_cast<int64_t>(params.size()) == num_params() && batch >= 0);
  last_input_ = x;
  last_batch_ = batch;
  const T* in = x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    EnsureSize(acts_[i], out_dims_[i] * batch);
    const auto [offset, size] = ranges_[i];
    layers_[i]->Forward(be, params.subspan(static_cast<size_t>(offset), static_cast<size_t>(size)), in, acts_[i].data(),
                        batch);
    in = acts_[i].data();
  }
  return in;
}

// Walks the layers backwards; layer i reads its dout from one ping-pong buffer
// and writes its din into the other, which layer i-1 then reads.
template <typename T>
void Model<T>::Backward(const Backend& be, std::span<const T> params, const T* dlogits, std::span<T> grad, T* dinput) {
  SHOAL_CHECK(static_cast<int64_t>(grad.size()) == num_params() && last_input_ != nullptr);
  const int batch = last_batch_;
  const int64_t widest = *std::max_element(out_dims_.begin(), out_dims_.end());
  EnsureSize(dbuf_[0], widest * batch);
  EnsureSize(dbuf_[1], widest * batch);
  const T* dout = dlogits;
  int next = 0;
  for (size_t i = layers_.size(); i-- > 0;) {
    const T* in = i == 0 ? last_input_ : acts_[i - 1].data();
    T* din = i == 0 ? dinput : dbuf_[next].data();
    const auto [offset, size] = ranges_[i];
    layers_[i]->Backward(be, params.subspan(static_cast<size_t>(offset), static_cast<size_t>(size)), in,
                         acts_[i].data(), dout, grad.subspan(static_cast<size_t>(offset), static_cast<size_t>(size)),
                         din, batch);
    dout = din;
    next ^= 1;
  }
}

template <typename T>
double Model<T>::LossAndGrad(const Backend& be, std::span<const T> params, const T* x, const int32_t* y, int batch,
                             std::span<T> grad, T* dinput, int64_t* correct) {
  const T* logits = Forward(be, params, x, batch);
  EnsureSize(dlogits_, output_dim_ * batch);
  const double loss = OpSoftmaxXent(be, logits, y, batch, output_dim_, dlogits_.data(), correct);
  Backward(be, params, dlogits_.data(), grad, dinput);
  return loss;
}

template <typename T>
void Model<T>::PerExampleGradients(const Backend& be, std::span<const T> params, const T* dlogits,
                                   std::span<T> grads) {
  const int batch = last_batch_;
  SHOAL_CHECK(last_input_ != nullptr && static_cast<int64_t>(grads.size()) == num_params() * batch);
  const int64_t widest = *std::max_element(out_dims_.begin(), out_dims_.end());
  EnsureSize(dbuf_[0], widest * batch);
  EnsureSize(dbuf_[1], widest * batch);
  EnsureSize(grad_scratch_, num_params());
  const T* dout = dlogits;
  int next = 0;
  for (size_t i = layers_.size(); i-- > 0;) {
    const T* in = i == 0 ? last_input_ : acts_[i - 1].data();
    T* din = i == 0 ? nullptr : dbuf_[next].data();
    const auto [offset, size] = ranges_[i];
    const auto p = params.subspan(static_cast<size_t>(offset), static_cast<size_t>(size));
    if (size > 0) layers_[i]->PerExampleGrad(be, p, in, dout, grads.data() + offset, num_params(), batch);
    if (i == 0) break;
    // Backward also forms the batch gradient (discarded): it is the input
    // gradient we need, and keeping Backward's contract unchanged is simpler
    // than a gradient-free variant for every layer.
    layers_[i]->Backward(be, p, in, acts_[i].data(), dout,
                         std::span<T>(grad_scratch_.data() + offset, static_cast<size_t>(size)), din, batch);
    dout = din;
    next ^= 1;
  }
}

template <typename T>
double Model<T>::PerExampleLossAndGrads(const Backend& be, std::span<const T> params, const T* x, const int32_t* y,
                                        int batch, std::span<T> grads, int64_t* correct) {
  const T* logits = Forward(be, params, x, batch);
  EnsureSize(dlogits_, output_dim_ * batch);
  const double loss = OpSoftmaxXent(be, logits, y, batch, output_dim_, dlogits_.data(), correct);
  // SoftmaxXent differentiates the batch mean; each sample's own loss has
  // batch times that gradient.
  for (int64_t i = 0; i < output_dim_ * batch; ++i) dlogits_[static_cast<size_t>(i)] *= T(batch);
  PerExampleGradients(be, params, dlogits_.data(), grads);
  return loss;
}

template <typename T>
double Model<T>::Loss(const Backend& be, std::span<const T> params, const T* x, const int32_t* y, int batch,
                      int64_t* correct) {
  const T* logits = Forward(be, params, x, batch);
  return OpSoftmaxXent<T>(be, logits, y, batch, output_dim_, nullptr, correct);
}

template class Model<float>;
template class Model<double>;
template class Model<Dual<float>>;
template class Model<Dual<double>>;

}  // namespace shoal
