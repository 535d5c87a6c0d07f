#include "core/param.h"

namespace shoal {

int ParamLayout::Add(std::string name, std::vector<int64_t> shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  tensors_.push_back(TensorSpec{std::move(name), std::move(shape), total_, n});
  total_ += n;
  return static_cast<int>(tensors_.size()) - 1;
}

int ParamLayout::Find(const std::string& name) const {
  for (size_t i = 0; i < tensors_.size(); ++i)
    if (tensors_[i].name == name) return static_cast<int>(i);
  return -1;
}

bool ParamLayout::operator==(const ParamLayout& o) const {
  if (tensors_.size() != o.tensors_.size()) return false;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    if (tensors_[i].name != o.tensors_[i].name || tensors_[i].shape != o.tensors_[i].shape) return false;
  }
  return true;
}

}  // namespace shoal
