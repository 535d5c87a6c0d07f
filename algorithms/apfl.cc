#include "algorithms/apfl.h"

#include <algorithm>
#include <cmath>

namespace shoal {
namespace {
constexpr char kV[] = "apfl.v";
constexpr char kW[] = "apfl.w";
constexpr char kAlpha[] = "apfl.alpha";
}  // namespace

ApflOptions ApflOptions::Parse(const ConfigNode& s) {
  ApflOptions o;
  o.alpha = s.Get<double>("alpha", o.alpha, [](const double& v) { return v >= 0 && v <= 1; }, "in [0, 1]");
  o.adaptive = s.Get<bool>("adaptive", false);
  o.alpha_lr = s.Get<double>("alpha_lr", -1.0, [](const double& v) { return v > 0 || v == -1.0; },
                             "> 0 (omit to use the client learning rate)");
  o.uniform_weighting = s.Get<std::string>("weighting", "uniform",
                                           [](const std::string& v) { return v == "uniform" || v == "samples"; },
                                           "'uniform' or 'samples'") == "uniform";
  o.precision = s.Get<std::string>("state_precision", "f32",
                                   [](const std::string& v) { return v == "f32" || v == "bf16"; },
                                   "'f32' or 'bf16'") == "bf16"
                    ? StatePrecision::kBf16
                    : StatePrecision::kF32;
  return o;
}

FedAvgOptions ApflServerOptions(const ApflOptions& opts) {
  FedAvgOptions f;
  f.uniform_weighting = opts.uniform_weighting;
  return f;
}

Result<ClientUpdate> ApflClient::Run(const Task& task, ClientState& state, TrainContext& ctx) const {
  const std::vector<float>& x = *task.model.params;
  const size_t d = x.size();
  const Backend& be = *ctx.backend;
  const double lr_scale = task.hparam("lr_scale", 1.0);
  const float eta = static_cast<float>(local_.optimizer.lr * lr_scale);
  const double eta_alpha = opts_.alpha_lr > 0 ? opts_.alpha_lr : eta;
  std::vector<float> v(d), vbar(d), gv(d), diff(d);
  if (!GetStateTensor(state, kV, v)) v = x;
  double alpha = opts_.alpha;
  if (auto it = state.scalars.find(kAlpha); it != state.scalars.end()) alpha = it->second;
  ctx.params.assign(x.begin(), x.end());  // w_i
  ctx.grad.resize(d);
  std::span<float> w(ctx.params), gw(ctx.grad);

  const int64_t n = static_cast<int64_t>(ctx.indices.size());
  const int64_t per_epoch = (n + local_.training.batch_size - 1) / local_.training.batch_size;
  int64_t steps = per_epoch * local_.training.epochs;
  if (local_.training.max_steps > 0) steps = std::min(steps, local_.training.max_steps);
  MinibatchStream batches(ctx.indices, local_.training.batch_size, ctx.seed, task.round, task.client);
  double loss_sum = 0;
  for (int64_t s = 0; s < steps; ++s) {
    std::span<const int64_t> batch = batches.Next();
    const float a = static_cast<float>(alpha);
    std::copy(w.begin(), w.end(), vbar.begin());  // vbar = alpha v + (1 - alpha) w
    be.Scale(1.0f - a, vbar);
    be.Axpy(a, v, vbar);
    loss_sum += BatchLossAndGrad(ctx, w, batch, gw);
    BatchLossAndGrad(ctx, vbar, batch, gv);
    if (opts_.adaptive) {  // <v - w, grad f(vbar)> at the pre-step v, w
      std::copy(v.begin(), v.end(), diff.begin());
      be.Axpy(-1.0f, w, diff);
      alpha = std::clamp(alpha - eta_alpha * be.Dot(diff, gv), 0.0, 1.0);
    }
    be.SgdStep(eta, gw, w);
    be.SgdStep(eta * a, gv, v);
  }
  PutStateTensor(state, kV, v, opts_.precision);
  PutStateTensor(state, kW, w, opts_.precision);
  state.scalars[kAlpha] = alpha;
  ClientUpdate u;
  u.delta.assign(w.begin(), w.end());
  be.Axpy(-1.0f, x, u.delta);
  u.num_samples = n;
  u.steps = steps;
  u.train_loss = steps > 0 ? loss_sum / static_cast<double>(steps) : 0.0;
  u.metrics["apfl_alpha"] = alpha;
  return u;
}

double ApflClient::PlannedWork(const Task&, int64_t n) const {
  double work = 2.0 * static_cast<double>(n) * local_.training.epochs;  // two gradients per step
  if (local_.training.max_steps > 0)
    work = std::min(work, 2.0 * static_cast<double>(local_.training.max_steps) * local_.training.batch_size);
  return work;
}

bool ApflClient::PersonalModel(const ClientState& state, std::span<const float>, std::span<float> out) const {
  auto a = state.scalars.find(kAlpha);
  if (a == state.scalars.end() || !GetStateTensor(state, kV, out)) return false;
  std::vector<float> w(out.size());
  if (!GetStateTensor(state, kW, w)) return false;
  const float alpha = static_cast<float>(a->second);
  for (size_t i = 0; i < out.size(); ++i) out[i] = alpha * out[i] + (1.0f - alpha) * w[i];
  return true;
}

}  // namespace shoal
