// Layers and sequential models on flat parameter vectors.
//
// A Model<T> (T = float for training, double for gradient checks and exact
// derivatives) is a sequence of layers whose parameters live in one external
// flat span described by layout(). The model owns only scratch memory
// (activations, im2col buffers), so it is cheap to keep one per worker and the
// parameters can be any ParamVector. Not thread-safe: one instance per thread.
//
// Shapes: a batch is row-major [batch x input_dim]; images are CHW per row.
// Linear weights are [out, in] (PyTorch order), Conv2d weights
// [cout, cin, kh, kw]; every layer with weights has a bias.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/param.h"
#include "core/rng.h"
#include "core/status.h"

namespace shoal {

template <typename T>
class Layer {
 public:
  virtual ~Layer() = default;
  virtual std::string kind() const = 0;
  // Per-sample output shape for a per-sample input shape. The Model calls this
  // once, at construction, in layer order; layers may record `in` then.
  virtual std::vector<int> OutputShape(const std::vector<int>& in) const = 0;
  // Parameter tensors of this layer, in order, as (suffix, shape), e.g. ("weight", {out, in}).
  virtual std::vector<std::pair<std::string, std::vector<int64_t>>> ParamShapes() const { return {}; }
  // Initialises this layer's parameter slice (PyTorch defaults: U(-1/sqrt(fan_in), 1/sqrt(fan_in))).
  virtual void Init(std::span<T> /*params*/, RngStream& /*rng*/) const {}
  // out[batch x out_dim] = f(in[batch x in_dim]; params). May keep scratch for Backward.
  virtual void Forward(const Backend& be, std::span<const T> params, const T* in, T* out, int batch) = 0;
  // Given dout, writes (overwrites) the parameter gradient into dparams and,
  // when din is non-null, the input gradient. REQUIRES: the last Forward on
  // this layer used the same params/in/batch; `out` is that Forward's output.
  virtual void Backward(const Backend& be, std::span<const T> params, const T* in, const T* out,
                        const T* dout, std::span<T> dparams, T* din, int batch) = 0;
  // Per-example parameter gradients (DP-SGD): row b of `grads` (row stride
  // `ld`, this layer's columns only) receives the gradient of sample b's
  // output-gradient row dout[b] alone, computed from the saved forward
  // inputs (Linear: the outer product dout_b in_b^T; Conv2d: dout_b times
  // sample b's im2col block transposed). Layers without parameters write
  // nothing. REQUIRES: as Backward, after the matching Forward.
  virtual void PerExampleGrad(const Backend& /*be*/, std::span<const T> /*params*/, const T* /*in*/,
                              const T* /*dout*/, T* /*grads*/, int64_t /*ld*/, int /*batch*/) {}
};

template <typename T>
class Model {
 public:
  // Known architectures: "logreg" (linear + softmax), "mlp" (2NN of McMahan et
  // al.: in-200-200-classes with ReLU), "cnn" (FedAvg CNN: conv5x5x32 (pad 2)
  // -ReLU-maxpool2-conv5x5x64 (pad 2)-ReLU-maxpool2-fc512-ReLU-fc; needs a CHW
  // input shape). Unknown names or unusable shapes give InvalidArgument.
  static Result<std::unique_ptr<Model>> Create(const std::string& name, const std::vector<int>& input_shape,
                                               int num_classes);
  static std::vector<std::string> ArchitectureNames();

  // Builds a model from explicit layers (tests, custom architectures).
  Model(std::string name, std::vector<int> input_shape, std::vector<std::unique_ptr<Layer<T>>> layers);

  const std::string& name() const { return name_; }
  const ParamLayout& layout() const { return layout_; }
  int64_t num_params() const { return layout_.total_size(); }
  int64_t input_dim() const { return input_dim_; }
  int64_t output_dim() const { return output_dim_; }
  const std::vector<int>& input_shape() const { return input_shape_; }
  size_t num_layers() const { return layers_.size(); }
  Layer<T>& layer(size_t i) { return *layers_[i]; }
  // Offset/size of layer i's parameters in the flat vector.
  std::pair<int64_t, int64_t> layer_param_range(size_t i) const { return ranges_[i]; }

  // A new model with the same architecture and its own scratch.
  std::unique_ptr<Model> Clone() const;

  // Deterministic initialisation from RngStream(seed, -1, -1, kInit).
  void Init(std::span<T> params, uint64_t seed) const;

  // Forward pass; returns logits [batch x output_dim], valid until the next call.
  const T* Forward(const Backend& be, std::span<const T> params, const T* x, int batch);
  // Backward pass from dlogits after Forward; overwrites grad; din optional.
  void Backward(const Backend& be, std::span<const T> params, const T* dlogits, std::span<T> grad,
                T* dinput);
  // Mean softmax cross-entropy of the batch, with gradient (overwritten) and,
  // optionally, the input gradient and the count of correct predictions.
  double LossAndGrad(const Backend& be, std::span<const T> params, const T* x, const int32_t* y,
                     int batch, std::span<T> grad, T* dinput = nullptr, int64_t* correct = nullptr);
  // Per-example gradients after Forward: row b of `grads` ([batch x
  // num_params], row-major) is the parameter gradient of the loss whose
  // logit gradient is row b of `dlogits` (one batched backward pass for the
  // input gradients; each layer then forms its per-example parameter
  // gradients from its saved inputs).
  void PerExampleGradients(const Backend& be, std::span<const T> params, const T* dlogits, std::span<T> grads);
  // Per-example softmax cross-entropy gradients of each sample's own
  // (unaveraged) loss into `grads` [batch x num_params]; returns the mean loss.
  double PerExampleLossAndGrads(const Backend& be, std::span<const T> params, const T* x, const int32_t* y,
                                int batch, std::span<T> grads, int64_t* correct = nullptr);
  // Mean loss and correct count, no gradient.
  double Loss(const Backend& be, std::span<const T> params, const T* x, const int32_t* y, int batch,
              int64_t* correct = nullptr);

 private:
  std::string name_;
  std::vector<int> input_shape_;
  int64_t input_dim_ = 0, output_dim_ = 0;
  std::vector<std::unique_ptr<Layer<T>>> layers_;
  std::vector<int64_t> out_dims_;                   // per layer, per-sample
  std::vector<std::pair<int64_t, int64_t>> ranges_; // per layer param (offset, size)
  ParamLayout layout_;
  std::vector<std::vector<T>> acts_;  // acts_[i] = output of layer i
  std::vector<T> dbuf_[2];            // ping-pong gradient buffers
  std::vector<T> dlogits_;
  std::vector<T> grad_scratch_;  // summed gradient discarded by PerExampleGradients
  const T* last_input_ = nullptr;
  int last_batch_ = 0;
};

// Layer factories (used by Model::Create and by tests).
template <typename T> std::unique_ptr<Layer<T>> MakeLinear(int in, int out);
template <typename T> std::unique_ptr<Layer<T>> MakeConv2d(int in_ch, int out_ch, int kernel, int pad, int stride = 1);
template <typename T> std::unique_ptr<Layer<T>> MakeReLU();
template <typename T> std::unique_ptr<Layer<T>> MakeMaxPool2d(int kernel);  // stride = kernel
template <typename T> std::unique_ptr<Layer<T>> MakeFlatten();

}  // namespace shoal
