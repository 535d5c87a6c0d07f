// Learning-rate schedules applied per local step (shared/OPTIMIZERS.md §6).
//
// `client.optimizer.schedule: {name: cosine, t_max: 500, eta_min: 0, warmup_steps: 10}`.
// With s the 0-based scheduler step (evaluated before each step) and lr the
// base learning rate:
//   constant  lr
//   step      lr * gamma^floor(s / step_size)
//   cosine    eta_min + (lr - eta_min) (1 + cos(pi min(s, t_max) / t_max)) / 2
//   sgdr      cosine within the current cycle; cycles T_i = t_0 * t_mult^i
// and linear warm-up multiplies any of them by min(1, (s+1) / warmup_steps).
// The counter s is optimizer state ("opt.sched_step"): it persists across
// rounds exactly when client.persist_optimizer_state is true, and otherwise
// restarts at 0 in every round's local training.
#pragma once

#include <cstdint>
#include <memory>

#include "algorithms/optimizers/optimizer.h"

namespace shoal {

struct LrSchedule {
  enum class Kind { kConstant, kStep, kCosine, kSgdr, kCount };
  Kind kind = Kind::kConstant;
  int64_t warmup_steps = 0;  // >= 0; 0 = no warm-up
  int64_t step_size = 100;   // step: >= 1
  double gamma = 0.1;        // step: in (0, 1]
  int64_t t_max = 1000;      // cosine: >= 1
  double eta_min = 0.0;      // cosine/sgdr: absolute floor, >= 0
  int64_t t_0 = 100;         // sgdr: first cycle length, >= 1
  int64_t t_mult = 1;        // sgdr: cycle growth, integer >= 1

  // Learning rate at 0-based scheduler step s for base learning rate `base`.
  double LrAt(double base, int64_t s) const;
  // Parses `node` (client.optimizer.schedule); an undefined node is constant.
  static Result<LrSchedule> Parse(const ConfigNode& node);
};

// Wraps `inner` so that each step uses schedule.LrAt(lr, s); constant
// schedules without warm-up return `inner` unchanged.
std::unique_ptr<Optimizer> WithSchedule(std::unique_ptr<Optimizer> inner, const LrSchedule& schedule);

}  // namespace shoal
