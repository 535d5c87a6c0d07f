#include "algorithms/optimizers/schedule.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <string_view>

namespace shoal {
namespace {

constexpr std::array<std::string_view, static_cast<int>(LrSchedule::Kind::kCount)> kKindNames = {
    "constant", "step", "cosine", "sgdr"};

double CosineAt(double base, double eta_min, double s, double period) {
  return eta_min + (base - eta_min) * (1.0 + std::cos(std::numbers::pi * s / period)) / 2.0;
}

class ScheduledOptimizer final : public Optimizer {
 public:
  ScheduledOptimizer(std::unique_ptr<Optimizer> inner, LrSchedule s) : inner_(std::move(inner)), sched_(s) {}
  void Step(std::span<float> p, std::span<const float> g, float lr) override {
    inner_->Step(p, g, Next(lr));
  }
  void StepWith(std::span<float> p, std::span<const float> g, float lr, StepContext& ctx) override {
    inner_->StepWith(p, g, Next(lr), ctx);
  }
  int64_t state_bytes() const override { return inner_->state_bytes(); }
  void SaveState(ClientState& st) const override {
    inner_->SaveState(st);
    st.scalars["opt.sched_step"] = step_;
  }
  void LoadState(const ClientState& st) override {
    inner_->LoadState(st);
    if (auto it = st.scalars.find("opt.sched_step"); it != st.scalars.end()) step_ = it->second;
  }

 private:
  float Next(float lr) {
    double out = sched_.LrAt(lr, static_cast<int64_t>(step_));
    step_ += 1;
    return static_cast<float>(out);
  }
  std::unique_ptr<Optimizer> inner_;
  LrSchedule sched_;
  double step_ = 0;
};

}  // namespace

double LrSchedule::LrAt(double base, int64_t s) const {
  double lr = base;
  switch (kind) {
    case Kind::kConstant:
    case Kind::kCount:
      break;
    case Kind::kStep:
      lr = base * std::pow(gamma, static_cast<double>(s / step_size));
      break;
    case Kind::kCosine:
      lr = CosineAt(base, eta_min, static_cast<double>(std::min(s, t_max)), static_cast<double>(t_max));
      break;
    case Kind::kSgdr: {
      int64_t len = t_0, cur = s;
      while (cur >= len) {  // walk to the current cycle; cycles grow geometrically
        cur -= len;
        len *= t_mult;
      }
      lr = CosineAt(base, eta_min, static_cast<double>(cur), static_cast<double>(len));
      break;
    }
  }
  if (warmup_steps > 0) lr *= std::min(1.0, static_cast<double>(s + 1) / static_cast<double>(warmup_steps));
  return lr;
}

Result<LrSchedule> LrSchedule::Parse(const ConfigNode& node) {
  LrSchedule s;
  if (!node.defined()) return s;
  auto name = node.Get<std::string>("name", "constant");
  auto it = std::find(kKindNames.begin(), kKindNames.end(), name);
  if (it == kKindNames.end())
    return InvalidArgument(node.Where("name") + ": unknown schedule '" + name +
                           "'; valid names: constant, step, cosine, sgdr");
  s.kind = static_cast<Kind>(it - kKindNames.begin());
  auto pos = [](const int64_t& v) { return v >= 1; };
  s.warmup_steps = node.Get<int64_t>("warmup_steps", 0, [](const int64_t& v) { return v >= 0; }, ">= 0");
  if (s.kind == Kind::kStep) {
    s.step_size = node.Get<int64_t>("step_size", s.step_size, pos, ">= 1");
    s.gamma = node.Get<double>("gamma", s.gamma, [](const double& v) { return v > 0 && v <= 1; }, "in (0, 1]");
  }
  if (s.kind == Kind::kCosine || s.kind == Kind::kSgdr) {
    s.eta_min = node.Get<double>("eta_min", 0.0, [](const double& v) { return v >= 0; }, ">= 0");
    if (s.kind == Kind::kCosine) s.t_max = node.Get<int64_t>("t_max", s.t_max, pos, ">= 1");
    if (s.kind == Kind::kSgdr) {
      s.t_0 = node.Get<int64_t>("t_0", s.t_0, pos, ">= 1");
      s.t_mult = node.Get<int64_t>("t_mult", 1, pos, "an integer >= 1");
    }
  }
  RETURN_IF_ERROR(node.status());
  return s;
}

std::unique_ptr<Optimizer> WithSchedule(std::unique_ptr<Optimizer> inner, const LrSchedule& schedule) {
  if (schedule.kind == LrSchedule::Kind::kConstant && schedule.warmup_steps == 0) return inner;
  return std::make_unique<ScheduledOptimizer>(std::move(inner), schedule);
}

}  // namespace shoal
