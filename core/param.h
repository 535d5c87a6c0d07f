// ParamLayout and ParamVector: a model's parameters as one contiguous float
// buffer with named tensors at fixed offsets.
//
// Aggregation, clipping, compression, noise and optimizers work on the flat
// span; per-tensor algorithms (Adafactor, Shampoo, PowerSGD, AdamP) use the
// layout to find each tensor's slice and shape. A layout is immutable once
// built and is shared by every vector of the same model.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace shoal {

struct TensorSpec {
  std::string name;            // e.g. "fc1.weight"
  std::vector<int64_t> shape;  // row-major; Linear weight is [out, in], Conv2d [cout, cin, kh, kw]
  int64_t offset = 0;          // in elements, into the flat vector
  int64_t size = 0;            // product of shape
};

class ParamLayout {
 public:
  ParamLayout() = default;
  // Appends a tensor after the existing ones; returns its index.
  int Add(std::string name, std::vector<int64_t> shape);
  const std::vector<TensorSpec>& tensors() const { return tensors_; }
  int64_t total_size() const { return total_; }
  // Index of the tensor with this name, or -1.
  int Find(const std::string& name) const;
  bool operator==(const ParamLayout& o) const;

 private:
  std::vector<TensorSpec> tensors_;
  int64_t total_ = 0;
};

template <typename T>
std::span<T> TensorSlice(std::span<T> flat, const TensorSpec& t) {
  return flat.subspan(static_cast<size_t>(t.offset), static_cast<size_t>(t.size));
}

}  // namespace shoal
