// DP-SGD client: without noise and with a huge clip norm one full-batch step
// equals a plain SGD step on the mean gradient (independent: the model's
// batch gradient); with a tiny clip norm the step is bounded by lr * C; the
// noise is reproducible per (seed, round, client); transforms clip and add
// noise with the configured scale.
#include <gtest/gtest.h>

#include <cmath>

#include "algorithms/client_procedure.h"
#include "algorithms/privacy/dp_sgd.h"
#include "algorithms/transforms/dp_transforms.h"
#include "core/config.h"
#include "core/model.h"

namespace shoal::privacy {
namespace {

struct Fixture {
  Dataset data;
  std::unique_ptr<Model<float>> model;
  std::vector<int64_t> idx;
  TrainContext ctx;
  Task task;
  Fixture() {
    data.sample_shape = {6};
    data.dim = 6;
    data.num_classes = 3;
    RngStream rng(1, -1, -1, RngPurpose::kSynthetic);
    for (int i = 0; i < 12; ++i) {
      for (int j = 0; j < 6; ++j) data.x.push_back(static_cast<float>(rng.NextGaussian()));
      data.y.push_back(i % 3);
      idx.push_back(i);
    }
    model = std::move(Model<float>::Create("mlp", {6}, 3)).value();
    auto params = std::make_shared<std::vector<float>>(static_cast<size_t>(model->num_params()));
    model->Init(*params, 5);
    ctx.backend = GetBackend("cpu_ref").value();
    ctx.model = model.get();
    ctx.data = &data;
    ctx.indices = idx;
    ctx.seed = 9;
    task.round = 2;
    task.client = 1;
    task.model.params = params;
  }
};

DpSgdOptions FullBatch(double clip, double z) {
  DpSgdOptions o;
  o.poisson = false;
  o.batch_size = 12;
  o.steps = 1;
  o.lr = 0.1;
  o.clip_norm = clip;
  o.noise_multiplier = z;
  return o;
}

TEST(DpSgd, WithoutNoiseOrClippingIsOneSgdStep) {
  Fixture f;
  ClientState st;
  auto u = DpSgdClient(FullBatch(1e9, 0)).Run(f.task, st, f.ctx);
  ASSERT_TRUE(u.ok());
  std::vector<float> grad(f.task.model.params->size());
  f.model->LossAndGrad(*f.ctx.backend, *f.task.model.params, f.data.x.data(), f.data.y.data(), 12, grad);
  for (size_t i = 0; i < grad.size(); ++i) EXPECT_NEAR(u->delta[i], -0.1f * grad[i], 1e-6) << i;
}

TEST(DpSgd, PerExampleClippingBoundsTheStep) {
  Fixture f;
  ClientState st;
  auto u = DpSgdClient(FullBatch(1e-3, 0)).Run(f.task, st, f.ctx);
  ASSERT_TRUE(u.ok());
  double sq = 0;
  for (float v : u->delta) sq += double(v) * v;
  EXPECT_LE(std::sqrt(sq), 0.1 * 1e-3 * (1 + 1e-5));  // mean of 12 vectors of norm <= C
  EXPECT_GT(std::sqrt(sq), 0.1 * 1e-3 * 0.05);
}

TEST(DpSgd, NoiseIsReproducibleAndScaled) {
  Fixture f;
  ClientState st;
  DpSgdOptions o = FullBatch(1e-6, 2.0);  // updates ~ pure noise: std lr * z * C / B per coordinate
  auto a = DpSgdClient(o).Run(f.task, st, f.ctx);
  auto b = DpSgdClient(o).Run(f.task, st, f.ctx);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->delta, b->delta);
  double sq = 0;
  for (float v : a->delta) sq += double(v) * v;
  const double sd = std::sqrt(sq / a->delta.size()), want = 0.1 * 2.0 * 1e-6 / 12;
  EXPECT_NEAR(sd / want, 1.0, 5 / std::sqrt(2.0 * a->delta.size()));
  f.task.client = 2;  // another client draws other noise
  auto c = DpSgdClient(o).Run(f.task, st, f.ctx);
  EXPECT_NE(a->delta, c->delta);
}

TEST(DpSgd, PoissonSamplingTakesAboutQnPerStep) {
  Fixture f;
  ClientState st;
  DpSgdOptions o;
  o.sample_rate = 0.5;
  o.steps = 40;
  o.noise_multiplier = 0;
  auto u = DpSgdClient(o).Run(f.task, st, f.ctx);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->steps, 40);
  EXPECT_DOUBLE_EQ(DpSgdClient(o).PlannedWork(f.task, 12), 0.5 * 12 * 40);
}

TEST(DpTransforms, ClipAndLocalNoise) {
  auto cfg = ConfigNode::Parse("a: {name: local_noise, clip_norm: 0.5, noise_multiplier: 2}\nb: {name: clip, "
                               "clip_norm: 0.5}\n", "t.yaml");
  ASSERT_TRUE(cfg.ok());
  auto noise = MakeLocalNoiseTransform(cfg->Child("a"));
  auto clip = MakeClipTransform(cfg->Child("b"));
  ASSERT_TRUE(noise.ok() && clip.ok());
  TransformContext tctx;
  tctx.backend = GetBackend("cpu_ref").value();
  tctx.seed = 3;
  ClientUpdate u;
  u.delta.assign(50000, 1.0f);  // norm sqrt(5e4), clipped to 0.5
  ClientState st;
  ASSERT_TRUE((*clip)->Apply(u, st, tctx).ok());
  double sq = 0;
  for (float v : u.delta) sq += double(v) * v;
  EXPECT_NEAR(std::sqrt(sq), 0.5, 1e-5);
  u.delta.assign(50000, 0.0f);
  ASSERT_TRUE((*noise)->Apply(u, st, tctx).ok());
  double mean = 0;
  sq = 0;
  for (float v : u.delta) mean += v, sq += double(v) * v;
  mean /= u.delta.size();
  const double sd = std::sqrt(sq / u.delta.size());
  EXPECT_LE(std::abs(mean), 5 * 1.0 / std::sqrt(5e4));  // std z C = 1
  EXPECT_NEAR(sd, 1.0, 5 / std::sqrt(1e5));
  auto bad = ConfigNode::Parse("a: {name: local_noise, noise_multiplier: -1}\n", "t.yaml");
  EXPECT_FALSE(MakeLocalNoiseTransform(bad->Child("a")).ok());
}

}  // namespace
}  // namespace shoal::privacy
