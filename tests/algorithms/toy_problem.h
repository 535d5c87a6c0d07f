// The shared toy problem of shared/ALGORITHMS.md: 2 clients with
// f_i(w) = 0.5 * a_i * (w - b_i)^2, a = (1, 3), b = (2, -1), n = (1, 3),
// eta_l = 0.1, E = 2 full-batch GD steps. Strategies are driven directly with
// hand-computed client results, so the server math is checked in isolation.
#pragma once

#include <vector>

#include "algorithms/strategy.h"
#include "core/backend.h"

namespace shoal::testing {

struct Toy {
  double a[2] = {1, 3};
  double b[2] = {2, -1};
  int64_t n[2] = {1, 3};
  double grad(int i, double w) const { return a[i] * (w - b[i]); }
  // E steps of GD from w0 with step eta.
  double Gd(int i, double w0, double eta = 0.1, int steps = 2) const {
    double w = w0;
    for (int s = 0; s < steps; ++s) w -= eta * grad(i, w);
    return w;
  }
};

inline StrategyContext ToyContext(const ParamLayout& layout) {
  StrategyContext ctx;
  ctx.backend = GetBackend("cpu_ref").value();
  ctx.layout = &layout;
  ctx.client_samples = {1, 3};
  return ctx;
}

inline ModelSnapshot Scalar(double w) {
  return ModelSnapshot{0, std::make_shared<const std::vector<float>>(std::vector<float>{static_cast<float>(w)})};
}

inline ClientResult ResultFor(const Task& t, double y, int64_t n) {
  ClientResult r;
  r.task_id = t.task_id;
  r.round = t.round;
  r.client = t.client;
  r.model_version = t.model.version;
  r.update.delta = {static_cast<float>(y - (*t.model.params)[0])};
  r.update.num_samples = n;
  return r;
}

}  // namespace shoal::testing
