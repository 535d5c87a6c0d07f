#include "algorithms/attacks/analytic.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace shoal::attacks {

Result<std::vector<double>> AnalyticFcRecovery(const ParamLayout& layout, std::span<const double> update, int count,
                                               double tau) {
  const auto& t = layout.tensors();
  if (t.size() < 2 || t[0].shape.size() != 2 || !t[0].name.ends_with(".weight") || !t[1].name.ends_with(".bias") ||
      t[1].size != t[0].shape[0])
    return InvalidArgument("analytic recovery: the first layer must be fully connected with a bias (got '" +
                           (t.empty() ? std::string("nothing") : t[0].name) + "')");
  const int64_t rows = t[0].shape[0], in = t[0].shape[1];
  std::vector<int64_t> order(static_cast<size_t>(rows));
  std::iota(order.begin(), order.end(), 0);
  auto db = [&](int64_t i) { return update[static_cast<size_t>(t[1].offset + i)]; };
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return std::abs(db(a)) > std::abs(db(b)); });
  std::vector<double> x;
  for (int k = 0; k < count; ++k) {
    if (k >= rows || std::abs(db(order[static_cast<size_t>(k)])) <= tau)
      return FailedPrecondition("analytic recovery: only " + std::to_string(k) + " rows of '" + t[1].name +
                                "' have a bias gradient above " + std::to_string(tau) + ", asked for " +
                                std::to_string(count));
    const int64_t i = order[static_cast<size_t>(k)];
    for (int64_t j = 0; j < in; ++j) x.push_back(update[static_cast<size_t>(t[0].offset + i * in + j)] / db(i));
  }
  return x;
}

}  // namespace shoal::attacks
