#include "algorithms/attacks/campaign.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "algorithms/attacks/analytic.h"
#include "algorithms/attacks/label_recovery.h"
#include "core/rng.h"

namespace shoal::attacks {

ObservationMap ApplyDefense(const DefenseOptions& d, std::span<const float> delta, uint64_t seed, int64_t round,
                            int client, std::vector<double>& observed) {
  const size_t n = delta.size();
  std::vector<double> u(delta.begin(), delta.end());
  if (d.clip > 0) {
    double norm = 0;
    for (double v : u) norm += v * v;
    norm = std::sqrt(norm);
    if (norm > d.clip)
      for (double& v : u) v *= d.clip / norm;
  }
  if (d.noise_multiplier > 0) {
    RngStream rng(seed, round, client, RngPurpose::kNoise);
    for (double& v : u) v += d.noise_multiplier * d.clip * rng.NextGaussian();
  }
  if (d.topk_ratio > 0 && d.topk_ratio < 1) {
    const size_t k = std::max<size_t>(1, static_cast<size_t>(std::ceil(d.topk_ratio * n)));
    std::vector<double> mags(n);
    for (size_t i = 0; i < n; ++i) mags[i] = std::abs(u[i]);
    std::nth_element(mags.begin(), mags.begin() + (n - k), mags.end());
    const double cut = mags[n - k];
    size_t kept = 0;
    for (double& v : u) (std::abs(v) >= cut && kept < k) ? static_cast<void>(++kept) : static_cast<void>(v = 0);
  }
  if (d.sketch_size > 0) {
    const uint64_t key = Mix64(seed ^ Mix64(static_cast<uint64_t>(round) * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(client)));
    ObservationMap m = ObservationMap::CountSketch(static_cast<int64_t>(n), d.sketch_size, key);
    observed.assign(static_cast<size_t>(d.sketch_size), 0.0);
    m.Apply(u, observed);
    return m;
  }
  observed = std::move(u);
  return ObservationMap(static_cast<int64_t>(n));
}

namespace {

Result<std::vector<int32_t>> RecoverLabels(const std::vector<double>& grad, const std::vector<double>& theta,
                                           int count, AttackEnv& env, uint64_t key) {
  GradientOracle& o = *env.oracle;
  if (count == 1) {
    ASSIGN_OR_RETURN(int32_t c, RecoverLabelIdlg(o.layout(), grad));
    return std::vector<int32_t>{c};
  }
  // Mean softmax on 16 dummy images (uniform noise in the box).
  constexpr int kDummies = 16;
  RngStream rng(key, -1, -1, RngPurpose::kAttack);
  std::vector<double> x(static_cast<size_t>(kDummies * o.input_dim())), p(static_cast<size_t>(kDummies * o.num_classes()));
  for (double& v : x) v = rng.NextDouble();
  o.Probabilities(theta, x, kDummies, p);
  std::vector<double> pbar(static_cast<size_t>(o.num_classes()), 0.0);
  for (int b = 0; b < kDummies; ++b)
    for (int64_t j = 0; j < o.num_classes(); ++j) pbar[static_cast<size_t>(j)] += p[static_cast<size_t>(b * o.num_classes() + j)] / kDummies;
  return RecoverLabelCounts(o.layout(), grad, count, pbar);
}

}  // namespace

Result<AttackRecord> RunAttack(const AttackSpec& spec, const Observation& obs, AttackEnv& env) {
  GradientOracle& o = *env.oracle;
  const std::vector<float>& w0 = *obs.model;
  const ClientUpdate& up = obs.update;
  if (static_cast<int64_t>(w0.size()) != o.num_params() || static_cast<int64_t>(up.delta.size()) != o.num_params())
    return InvalidArgument("attack " + spec.id + ": round " + std::to_string(obs.round) + " client " +
                           std::to_string(obs.client) + ": update has " + std::to_string(up.delta.size()) +
                           " parameters, model has " + std::to_string(o.num_params()));
  const int n = static_cast<int>(std::min<int64_t>(up.num_samples, static_cast<int64_t>(env.client_indices.size())));
  if (n < 1) return FailedPrecondition("attack " + spec.id + ": client " + std::to_string(obs.client) + " has no data");
  AttackRecord rec;
  rec.attack = spec.id;
  rec.round = obs.round;
  rec.client = obs.client;
  rec.images = n;
  rec.local_steps = up.steps;
  for (float v : up.delta) rec.update_norm += static_cast<double>(v) * v;
  rec.update_norm = std::sqrt(rec.update_norm);
  // What the server sees, and the attacker's gradient estimates.
  std::vector<double> observed;
  const ObservationMap map = ApplyDefense(env.defense, up.delta, env.seed, obs.round, obs.client, observed);
  const double scale = -1.0 / (env.local_lr * static_cast<double>(std::max<int64_t>(1, up.steps)));
  std::vector<double> target(observed.size()), dense(w0.size());
  for (size_t i = 0; i < observed.size(); ++i) target[i] = scale * observed[i];
  map.Adjoint(target, dense);  // R^T R g: the de-sketched gradient estimate
  const std::vector<double> theta(w0.begin(), w0.end());
  // Ground truth (scoring only).
  const int64_t d = env.data->dim;
  std::vector<float> truth(static_cast<size_t>(n * d));
  for (int k = 0; k < n; ++k) {
    const int64_t idx = env.client_indices[static_cast<size_t>(k)];
    std::copy(env.data->row(idx), env.data->row(idx) + d, truth.begin() + k * d);
    rec.labels_true.push_back(env.data->y[static_cast<size_t>(idx)]);
  }
  const uint64_t key = Mix64(env.seed ^ Mix64(obs.task_id + 1));
  ASSIGN_OR_RETURN(rec.labels_guess, RecoverLabels(dense, theta, n, env, key));
  rec.label_acc = LabelMultisetAccuracy(rec.labels_guess, rec.labels_true);
  std::vector<double> x;
  switch (spec.kind) {
    case AttackKind::kIdlg:
      return rec;
    case AttackKind::kAnalytic: {
      ASSIGN_OR_RETURN(x, AnalyticFcRecovery(o.layout(), dense, n));
      break;
    }
    case AttackKind::kDlg:
    case AttackKind::kIg:
    case AttackKind::kSme: {
      std::vector<double> w_end;
      if (spec.kind == AttackKind::kSme) {  // w_T = w0 + delta (de-sketched under a sketch)
        w_end.resize(w0.size());
        const double back = -1.0 / scale;
        for (size_t i = 0; i < w0.size(); ++i) w_end[i] = theta[i] - back * dense[i];
      }
      InversionProblem p;
      p.oracle = &o;
      p.theta0 = theta;
      p.target = target;
      p.obs = &map;
      p.w_end = w_end;
      p.labels = spec.true_labels ? rec.labels_true : rec.labels_guess;
      p.shape = env.shape;
      RngStream rng(key, obs.round, obs.client, RngPurpose::kAttack);
      InversionResult r = spec.kind == AttackKind::kDlg ? InvertLbfgs(p, spec.inversion, rng)
                                                        : InvertAdam(p, spec.inversion, rng);
      rec.match = r.match;
      rec.lambda = r.lambda;
      x = std::move(r.x);
      break;
    }
    case AttackKind::kCount:
      return Internal("attack " + spec.id + ": bad kind");
  }
  rec.has_images = true;
  std::vector<float> recon(x.size());
  for (size_t i = 0; i < x.size(); ++i) recon[i] = static_cast<float>(std::clamp(std::isfinite(x[i]) ? x[i] : 0.0, 0.0, 1.0));
  const BatchScore s = ScoreBatch(recon, truth, n, env.shape, spec.psnr_threshold);
  rec.psnr = s.mean_psnr;
  rec.ssim = s.mean_ssim;
  rec.frac_above = s.frac_above;
  rec.image_psnr = s.psnr;
  rec.recon = std::move(recon);
  rec.truth.resize(truth.size());
  for (int k = 0; k < n; ++k)
    std::copy(truth.begin() + s.match[static_cast<size_t>(k)] * d, truth.begin() + (s.match[static_cast<size_t>(k)] + 1) * d,
              rec.truth.begin() + k * d);
  return rec;
}

}  // namespace shoal::attacks
