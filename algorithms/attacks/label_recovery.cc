#include "algorithms/attacks/label_recovery.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace shoal::attacks {

Result<int> LastLinearWeight(const ParamLayout& layout) {
  const auto& t = layout.tensors();
  for (int i = static_cast<int>(t.size()) - 1; i >= 0; --i) {
    const std::string& n = t[static_cast<size_t>(i)].name;
    if (t[static_cast<size_t>(i)].shape.size() == 2 && n.size() > 7 && n.ends_with(".weight")) return i;
  }
  return InvalidArgument("label recovery: the model has no 2-D '.weight' tensor (a fully connected classifier)");
}

Result<int32_t> RecoverLabelIdlg(const ParamLayout& layout, std::span<const double> grad) {
  ASSIGN_OR_RETURN(int wi, LastLinearWeight(layout));
  const TensorSpec& w = layout.tensors()[static_cast<size_t>(wi)];
  const int64_t rows = w.shape[0], cols = w.shape[1];
  int32_t best = 0;
  double best_sum = 0;
  for (int64_t j = 0; j < rows; ++j) {
    double s = 0;
    for (int64_t k = 0; k < cols; ++k) s += grad[static_cast<size_t>(w.offset + j * cols + k)];
    if (j == 0 || s < best_sum) {
      best_sum = s;
      best = static_cast<int32_t>(j);
    }
  }
  return best;
}

Result<std::vector<int32_t>> RecoverLabelCounts(const ParamLayout& layout, std::span<const double> grad, int batch,
                                                std::span<const double> pbar) {
  ASSIGN_OR_RETURN(int wi, LastLinearWeight(layout));
  if (static_cast<size_t>(wi + 1) >= layout.tensors().size() ||
      !layout.tensors()[static_cast<size_t>(wi + 1)].name.ends_with(".bias"))
    return InvalidArgument("label recovery: the classifier '" + layout.tensors()[static_cast<size_t>(wi)].name +
                           "' has no bias tensor after it");
  const TensorSpec& b = layout.tensors()[static_cast<size_t>(wi + 1)];
  const int64_t c = b.size;
  std::vector<double> est(static_cast<size_t>(c));
  for (int64_t j = 0; j < c; ++j)
    est[static_cast<size_t>(j)] = std::max(0.0, batch * (pbar[static_cast<size_t>(j)] - grad[static_cast<size_t>(b.offset + j)]));
  const double total = std::accumulate(est.begin(), est.end(), 0.0);
  if (total > 0)
    for (double& e : est) e *= batch / total;
  std::vector<int> n(static_cast<size_t>(c));
  int assigned = 0;
  for (int64_t j = 0; j < c; ++j) assigned += (n[static_cast<size_t>(j)] = static_cast<int>(std::floor(est[static_cast<size_t>(j)])));
  std::vector<int64_t> order(static_cast<size_t>(c));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t bb) {
    return est[static_cast<size_t>(a)] - n[static_cast<size_t>(a)] > est[static_cast<size_t>(bb)] - n[static_cast<size_t>(bb)];
  });
  for (size_t k = 0; assigned < batch; k = (k + 1) % order.size(), ++assigned) ++n[static_cast<size_t>(order[k])];
  std::vector<int32_t> labels;
  for (int64_t j = 0; j < c; ++j)
    for (int k = 0; k < n[static_cast<size_t>(j)]; ++k) labels.push_back(static_cast<int32_t>(j));
  return labels;
}

double LabelMultisetAccuracy(std::vector<int32_t> guess, std::vector<int32_t> truth) {
  if (truth.empty()) return 0.0;
  std::sort(guess.begin(), guess.end());
  std::sort(truth.begin(), truth.end());
  size_t i = 0, j = 0, hit = 0;
  while (i < guess.size() && j < truth.size()) {
    if (guess[i] == truth[j]) { ++hit; ++i; ++j; }
    else if (guess[i] < truth[j]) ++i;
    else ++j;
  }
  return static_cast<double>(hit) / static_cast<double>(truth.size());
}

}  // namespace shoal::attacks
