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

namespace {

// Per class j of the classifier weight W (rows x cols): f(row j).
template <typename F>
Result<std::vector<double>> PerRow(const ParamLayout& layout, std::span<const double> grad, F f) {
  ASSIGN_OR_RETURN(int wi, LastLinearWeight(layout));
  const TensorSpec& w = layout.tensors()[static_cast<size_t>(wi)];
  const int64_t rows = w.shape[0], cols = w.shape[1];
  std::vector<double> out(static_cast<size_t>(rows));
  for (int64_t j = 0; j < rows; ++j) out[static_cast<size_t>(j)] = f(grad.subspan(static_cast<size_t>(w.offset + j * cols), static_cast<size_t>(cols)));
  return out;
}

}  // namespace

Result<std::vector<int32_t>> RecoverLabelsYin(const ParamLayout& layout, std::span<const double> grad, int batch) {
  ASSIGN_OR_RETURN(std::vector<double> mins, PerRow(layout, grad, [](std::span<const double> r) {
                     return *std::min_element(r.begin(), r.end());
                   }));
  std::vector<int32_t> order(mins.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return mins[static_cast<size_t>(a)] < mins[static_cast<size_t>(b)]; });
  std::vector<int32_t> labels;
  for (int k = 0; k < batch; ++k) labels.push_back(order[static_cast<size_t>(k) % order.size()]);
  std::sort(labels.begin(), labels.end());
  return labels;
}

namespace {

// LLG's counting step (Wainakh et al.): until `batch` labels are out, take
// the class with the most negative remaining row sum and remove one
// example's impact `m` (< 0) from it. Returns the labels sorted.
std::vector<int32_t> FillByImpact(std::vector<double> g, double m, int batch, std::vector<int32_t> labels) {
  while (static_cast<int>(labels.size()) < batch) {
    const size_t j = static_cast<size_t>(std::min_element(g.begin(), g.end()) - g.begin());
    labels.push_back(static_cast<int32_t>(j));
    g[j] -= m;
  }
  std::sort(labels.begin(), labels.end());
  return labels;
}

}  // namespace

Result<std::vector<int32_t>> RecoverLabelsLlg(const ParamLayout& layout, std::span<const double> grad, int batch) {
  ASSIGN_OR_RETURN(std::vector<double> g, ClassifierRowSums(layout, grad));
  const double classes = static_cast<double>(g.size());
  double neg = 0;
  for (double v : g) neg += std::min(v, 0.0);
  const double m = neg * (1 + 1 / classes) / std::max(1, batch);  // impact of one example (< 0)
  std::vector<int32_t> labels;
  for (size_t j = 0; j < g.size() && static_cast<int>(labels.size()) < batch; ++j)
    if (g[j] < 0) {
      labels.push_back(static_cast<int32_t>(j));
      g[j] -= m;
    }
  return FillByImpact(std::move(g), m, batch, std::move(labels));
}

Result<std::vector<double>> ClassifierRowSums(const ParamLayout& layout, std::span<const double> grad) {
  return PerRow(layout, grad, [](std::span<const double> r) { return std::accumulate(r.begin(), r.end(), 0.0); });
}

Result<std::vector<int32_t>> RecoverLabelsLlgPlus(const ParamLayout& layout, std::span<const double> grad, int batch,
                                                  const std::vector<std::vector<double>>& dummy_row_sums) {
  ASSIGN_OR_RETURN(std::vector<double> g, ClassifierRowSums(layout, grad));
  const size_t c = g.size();
  if (dummy_row_sums.size() != c)
    return InvalidArgument("LLG+: " + std::to_string(dummy_row_sums.size()) + " dummy batches for " +
                           std::to_string(c) + " classes");
  std::vector<double> s(c, 0.0);
  for (size_t j = 0; j < c; ++j) {
    for (size_t k = 0; k < c; ++k)
      if (k != j) s[j] += dummy_row_sums[k][j] / static_cast<double>(c - 1);
  }
  double m = 0;
  for (size_t k = 0; k < c; ++k) m += (dummy_row_sums[k][k] - s[k]) / static_cast<double>(c);
  m /= std::max(1, batch);
  if (!(m < 0)) return RecoverLabelsLlg(layout, grad, batch);  // degenerate dummy statistics
  for (size_t j = 0; j < c; ++j) g[j] -= s[j];
  std::vector<int32_t> labels;
  return FillByImpact(std::move(g), m, batch, std::move(labels));
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
