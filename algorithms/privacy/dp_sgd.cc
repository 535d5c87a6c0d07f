// DP-SGD client procedure and its accounting; see dp_sgd.h.
#include "algorithms/privacy/dp_sgd.h"

#include <algorithm>
#include <cmath>

#include "core/rng.h"

namespace shoal::privacy {

Result<DpSgdOptions> DpSgdOptions::Parse(const ConfigNode& c) {
  DpSgdOptions o;
  o.lr = c.Get<double>("lr", 0.05, [](const double& v) { return v > 0; }, "> 0");
  o.steps = c.Get<int64_t>("steps", 0, [](const int64_t& v) { return v >= 0; }, ">= 0 (0 = one expected epoch)");
  o.clip_norm = c.Get<double>("clip_norm", 1.0, [](const double& v) { return v > 0 && std::isfinite(v); },
                              "> 0");
  o.noise_multiplier = c.Get<double>("noise_multiplier", 1.0, [](const double& v) { return v >= 0 && std::isfinite(v); },
                                     ">= 0");
  o.poisson = c.Get<std::string>("sampling", "poisson",
                                 [](const std::string& v) { return v == "poisson" || v == "fixed"; },
                                 "'poisson' or 'fixed'") == "poisson";
  o.sample_rate = c.Get<double>("sample_rate", 0.05, [](const double& v) { return v > 0 && v <= 1; },
                                "in (0, 1]");
  o.batch_size = c.Get<int>("batch_size", 32, [](const int& v) { return v >= 1; }, ">= 1");
  RETURN_IF_ERROR(c.status());
  return o;
}

int64_t DpSgdOptions::StepsFor(int64_t n) const {
  if (steps > 0) return steps;
  if (poisson) return static_cast<int64_t>(std::ceil(1.0 / sample_rate));
  return std::max<int64_t>(1, (n + batch_size - 1) / batch_size);
}

double DpSgdClient::PlannedWork(const Task&, int64_t n) const {
  const double batch = opts_.poisson ? opts_.sample_rate * static_cast<double>(n)
                                     : std::min<double>(opts_.batch_size, static_cast<double>(n));
  return batch * static_cast<double>(opts_.StepsFor(n));
}

Result<ClientUpdate> DpSgdClient::Run(const Task& task, ClientState&, TrainContext& ctx) const {
  const Backend& be = *ctx.backend;
  const std::vector<float>& x = *task.model.params;
  ctx.params.assign(x.begin(), x.end());
  const size_t p = x.size();
  const int64_t n = static_cast<int64_t>(ctx.indices.size());
  ClientUpdate u;
  u.delta.assign(p, 0.0f);
  u.num_samples = n;
  if (n == 0) return u;
  RngStream sampler(ctx.seed, task.round, task.client, RngPurpose::kShuffle);
  const auto noise_key = RngStream(ctx.seed, task.round, task.client, RngPurpose::kNoise).key();
  const double expected_batch = opts_.poisson ? opts_.sample_rate * static_cast<double>(n)
                                              : static_cast<double>(std::min<int64_t>(opts_.batch_size, n));
  std::vector<int64_t> pool(ctx.indices.begin(), ctx.indices.end()), batch;
  std::vector<float> per, sum(p), noise(p);
  double loss_sum = 0;
  const int64_t steps = opts_.StepsFor(n);
  for (int64_t s = 0; s < steps; ++s) {
    batch.clear();
    if (opts_.poisson) {
      for (int64_t idx : ctx.indices)
        if (sampler.NextDouble() < opts_.sample_rate) batch.push_back(idx);
    } else {
      const int64_t b = std::min<int64_t>(opts_.batch_size, n);
      for (int64_t i = 0; i < b; ++i) {  // partial Fisher-Yates: b distinct examples
        const int64_t j = i + static_cast<int64_t>(sampler.NextBelow(static_cast<uint64_t>(n - i)));
        std::swap(pool[static_cast<size_t>(i)], pool[static_cast<size_t>(j)]);
      }
      batch.assign(pool.begin(), pool.begin() + b);
    }
    std::fill(sum.begin(), sum.end(), 0.0f);
    if (!batch.empty()) {
      GatherBatch(*ctx.data, batch, ctx);
      const int m = static_cast<int>(batch.size());
      per.resize(static_cast<size_t>(m) * p);
      loss_sum += ctx.model->PerExampleLossAndGrads(be, ctx.params, ctx.batch_x.data(), ctx.batch_y.data(), m, per);
      for (int i = 0; i < m; ++i) {
        std::span<float> row(per.data() + static_cast<size_t>(i) * p, p);
        be.ClipByNorm(row, opts_.clip_norm);
        be.Axpy(1.0f, row, sum);
      }
    }
    be.GaussianFill(noise_key, static_cast<uint64_t>(s) * p, 0.0f,
                    static_cast<float>(opts_.noise_multiplier * opts_.clip_norm), noise);
    be.Axpy(1.0f, noise, sum);
    be.SgdStep(static_cast<float>(opts_.lr / expected_batch), sum, ctx.params);
  }
  for (size_t i = 0; i < p; ++i) u.delta[i] = ctx.params[i] - x[i];
  u.steps = steps;
  u.train_loss = loss_sum / static_cast<double>(steps);
  return u;
}

AccountingFn ExampleLevelAccounting(DpSgdOptions opts) {
  return [opts](const StrategyContext& ctx, int) -> Result<RoundAccounting> {
    int64_t min_n = 0, max_n = 0;
    for (int64_t n : ctx.client_samples)
      if (n > 0) min_n = min_n == 0 ? n : std::min(min_n, n), max_n = std::max(max_n, n);
    if (min_n == 0) return FailedPrecondition("dp_sgd: no client holds data");
    RoundAccounting r;
    const std::vector<double> orders = DefaultOrders();
    if (opts.poisson) {
      r.sample_rate = opts.sample_rate;
      const double steps = static_cast<double>(opts.StepsFor(max_n));
      RETURN_IF_ERROR(ValidateMechanism(opts.noise_multiplier, r.sample_rate, 1));
      for (double a : orders) r.rdp.push_back(steps * RdpPoissonGaussian(r.sample_rate, opts.noise_multiplier, a));
    } else {
      // Smallest client: largest q = B/n; most steps: the largest client.
      r.sample_rate = std::min(1.0, static_cast<double>(opts.batch_size) / static_cast<double>(min_n));
      const double steps = static_cast<double>(std::max(opts.StepsFor(max_n), opts.StepsFor(min_n)));
      RETURN_IF_ERROR(ValidateMechanism(opts.noise_multiplier, r.sample_rate, 1));
      for (double a : orders)
        r.rdp.push_back(steps * RdpSampleWorGaussian(r.sample_rate, opts.noise_multiplier / 2, a));
    }
    return r;
  };
}

}  // namespace shoal::privacy
