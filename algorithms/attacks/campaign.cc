#include "algorithms/attacks/campaign.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "algorithms/attacks/analytic.h"
#include "algorithms/attacks/label_recovery.h"
#include "core/rng.h"

namespace shoal::attacks {

namespace {

double Norm(std::span<const double> v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

// Encode then decode `in` with the codec and the server's context.
Status RoundTrip(const UpdateCodec& codec, const TransformContext& ctx, std::span<const double> in,
                 std::span<double> out) {
  ClientUpdate u;
  u.delta.assign(in.begin(), in.end());
  u.num_samples = 1;
  u.steps = 1;
  ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, codec.Encode(u, ctx));
  ASSIGN_OR_RETURN(ClientUpdate back, codec.Decode(bytes, static_cast<int64_t>(in.size()), ctx));
  if (back.delta.size() != out.size())
    return InvalidArgument("codec " + codec.name() + " decodes " + std::to_string(back.delta.size()) +
                           " values for a " + std::to_string(out.size()) + "-parameter update");
  std::copy(back.delta.begin(), back.delta.end(), out.begin());
  return Status::Ok();
}

}  // namespace

ObservationMap ObservationFromPipeline(const UpdatePipeline* pipeline, const TransformContext& ctx,
                                       std::span<const float> decoded) {
  const size_t d = decoded.size();
  auto fallback = [&] {
    size_t zeros = 0;
    for (float v : decoded) zeros += v == 0.0f;
    if (zeros * 2 <= d) return ObservationMap(static_cast<int64_t>(d));
    std::vector<uint8_t> keep(d);
    for (size_t i = 0; i < d; ++i) keep[i] = decoded[i] != 0.0f;
    return ObservationMap::Mask(std::move(keep));
  };
  if (!pipeline || d == 0) return ObservationMap(static_cast<int64_t>(d));
  const UpdateCodec* codec = &pipeline->codec();
  RngStream rng(ctx.seed ^ 0x5ca1ab1eULL, ctx.round, ctx.client, RngPurpose::kAttack);
  std::vector<double> v1(d), v2(d), v12(d), zero(d, 0.0), p1(d), p2(d), p12(d), c(d);
  for (size_t i = 0; i < d; ++i) {
    v1[i] = rng.NextGaussian();
    v2[i] = rng.NextGaussian();
    v12[i] = v1[i] + 2 * v2[i];
  }
  if (!RoundTrip(*codec, ctx, zero, c).ok() || !RoundTrip(*codec, ctx, v1, p1).ok() ||
      !RoundTrip(*codec, ctx, v2, p2).ok() || !RoundTrip(*codec, ctx, v12, p12).ok())
    return fallback();
  double err_id = 0, err_lin = 0, pv1_v2 = 0, v1_pv2 = 0;
  for (size_t i = 0; i < d; ++i) {
    p1[i] -= c[i];
    p2[i] -= c[i];
    p12[i] -= c[i];
    err_id += (p1[i] - v1[i]) * (p1[i] - v1[i]);
    err_lin += (p12[i] - p1[i] - 2 * p2[i]) * (p12[i] - p1[i] - 2 * p2[i]);
    pv1_v2 += p1[i] * v2[i];
    v1_pv2 += v1[i] * p2[i];
  }
  constexpr double kTol = 1e-4;  // float32 wire values
  if (Norm(c) == 0 && std::sqrt(err_id) <= kTol * Norm(v1)) return ObservationMap(static_cast<int64_t>(d));
  const bool linear = std::sqrt(err_lin) <= kTol * Norm(p12) && Norm(p1) > 0;
  const bool symmetric = std::abs(pv1_v2 - v1_pv2) <= kTol * Norm(p1) * Norm(v2) + 1e-12;
  if (!linear || !symmetric) return fallback();
  TransformContext cx = ctx;
  return ObservationMap::SymmetricLinear(
      static_cast<int64_t>(d), [codec, cx, c = std::move(c)](std::span<const double> in, std::span<double> out) {
        if (!RoundTrip(*codec, cx, in, out).ok()) {
          std::fill(out.begin(), out.end(), 0.0);
          return;
        }
        for (size_t i = 0; i < out.size(); ++i) out[i] -= c[i];
      });
}

namespace {

Result<std::vector<int32_t>> RecoverLabels(LabelStrategy strategy, const std::vector<double>& grad,
                                           const std::vector<double>& theta, int count, AttackEnv& env, uint64_t key) {
  GradientOracle& o = *env.oracle;
  if (strategy == LabelStrategy::kYin) return RecoverLabelsYin(o.layout(), grad, count);
  if (strategy == LabelStrategy::kLlg) return RecoverLabelsLlg(o.layout(), grad, count);
  if (strategy == LabelStrategy::kLlgWhitebox) {  // row sums of dummy batches (uniform noise) labelled c
    constexpr int kDummies = 16;
    RngStream rng(key, -2, -1, RngPurpose::kAttack);
    std::vector<std::vector<double>> rows;
    std::vector<double> x(static_cast<size_t>(kDummies * o.input_dim())), g(static_cast<size_t>(o.num_params()));
    for (int64_t c = 0; c < o.num_classes(); ++c) {
      for (double& v : x) v = rng.NextDouble();
      const std::vector<int32_t> y(kDummies, static_cast<int32_t>(c));
      o.Gradient(theta, x, y, g);
      ASSIGN_OR_RETURN(std::vector<double> r, ClassifierRowSums(o.layout(), g));
      rows.push_back(std::move(r));
    }
    return RecoverLabelsLlgPlus(o.layout(), grad, count, rows);
  }
  if (strategy == LabelStrategy::kIdlg || (strategy == LabelStrategy::kAuto && count == 1)) {
    ASSIGN_OR_RETURN(int32_t c, RecoverLabelIdlg(o.layout(), grad));
    return std::vector<int32_t>(static_cast<size_t>(count), c);  // one label (repeated for a batch)
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
  // What the server decoded, and the attacker's gradient estimate from it.
  TransformContext ctx;
  ctx.backend = env.backend;
  ctx.layout = env.layout;
  ctx.seed = env.seed;
  ctx.round = obs.round;
  ctx.client = obs.client;
  ctx.task_id = obs.task_id;
  const ObservationMap map = ObservationFromPipeline(env.pipeline, ctx, up.delta);
  rec.observation = map.is_linear() ? "linear" : (map.is_mask() ? "mask" : "identity");
  const double scale = -1.0 / (env.local_lr * static_cast<double>(std::max<int64_t>(1, up.steps)));
  std::vector<double> target(up.delta.size());
  for (size_t i = 0; i < target.size(); ++i) target[i] = scale * up.delta[i];
  const std::vector<double>& dense = target;  // already the server's dense estimate (R^T y for a sketch)
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
  ASSIGN_OR_RETURN(rec.labels_guess, RecoverLabels(spec.label_strategy, dense, theta, n, env, key));
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
      if (spec.kind == AttackKind::kSme) {  // w_T = w0 + decoded delta
        w_end.resize(w0.size());
        for (size_t i = 0; i < w0.size(); ++i) w_end[i] = theta[i] + up.delta[i];
      }
      InversionProblem p;
      p.oracle = &o;
      p.theta0 = theta;
      p.target = target;
      p.obs = &map;
      p.w_end = w_end;
      p.labels = spec.true_labels ? rec.labels_true : rec.labels_guess;
      p.shape = env.shape;
      if (spec.normalize) {
        p.input_mean = env.input_mean;
        p.input_std = env.input_std;
      }
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
