// Helpers for the compression tests: build a pipeline entry from YAML, a
// transform context, and random vectors.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/transforms/compressor.h"
#include "core/config.h"
#include "core/rng.h"

namespace shoal::compress::testing {

inline std::shared_ptr<const UpdateTransform> MakeTransform(const std::string& yaml) {
  auto root = ConfigNode::Parse("client: {pipeline: [" + yaml + "]}", "test.yaml").value();
  auto p = ParsePipeline(root.Child("client"));
  if (!p.ok()) throw std::runtime_error(p.status().ToString());
  return (*p)->transforms().at(0);
}

inline std::shared_ptr<const VectorCodec> MakeCodec(const std::string& yaml) {
  return std::dynamic_pointer_cast<const VectorCodec>(MakeTransform(yaml)->codec());
}

inline TransformContext Ctx(uint64_t seed = 7, int64_t round = 3, int client = 2, const ParamLayout* layout = nullptr) {
  TransformContext c;
  c.backend = GetBackend("cpu_ref").value();
  c.layout = layout;
  c.seed = seed;
  c.round = round;
  c.client = client;
  return c;
}

inline std::vector<float> RandomVector(int64_t d, uint64_t seed) {
  RngStream r(seed, 0, 0, RngPurpose::kSynthetic);
  std::vector<float> v(static_cast<size_t>(d));
  for (float& x : v) x = static_cast<float>(r.NextGaussian());
  return v;
}

inline double SqNorm(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += double{x} * x;
  return s;
}

inline double SqDist(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (double{a[i]} - b[i]) * (double{a[i]} - b[i]);
  return s;
}

inline std::vector<float> RoundTrip(const VectorCodec& c, const std::vector<float>& x, const TransformContext& ctx) {
  std::vector<float> out;
  Status st = c.RoundTrip(x, ctx, &out);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

// Unbiasedness (COMPRESSION.md §9): with N independent draws,
// E||mean - x||^2 = omega ||x||^2 / N, so by Markov P(> 100 omega ||x||^2/N) <= 1%.
// Seeds are fixed, so the test is deterministic. Returns ||mean-x||^2 / bound.
inline double UnbiasednessRatio(const VectorCodec& c, const std::vector<float>& x, double omega, int draws,
                                std::vector<double>* sq_errors = nullptr) {
  std::vector<double> mean(x.size(), 0.0), sq(x.size(), 0.0);
  for (int s = 0; s < draws; ++s) {
    std::vector<float> y = RoundTrip(c, x, Ctx(1000 + s, s, s % 7));
    for (size_t i = 0; i < x.size(); ++i) mean[i] += y[i] / static_cast<double>(draws), sq[i] += double{y[i]} * y[i] / draws;
    if (sq_errors) sq_errors->push_back(SqDist(y, x));
  }
  double err = 0, max_z = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    err += (mean[i] - x[i]) * (mean[i] - x[i]);
    // Per-coordinate z-score of the mean (|z| < 5 holds for all d <= 1000
    // coordinates with probability > 0.999 under the null).
    const double se = std::sqrt(std::max(0.0, sq[i] - mean[i] * mean[i]) / draws);
    if (se > 0) max_z = std::max(max_z, std::fabs(mean[i] - x[i]) / se);
    else EXPECT_NEAR(mean[i], x[i], 1e-5 * (1 + std::fabs(x[i]))) << "coordinate " << i << " never varies";
  }
  EXPECT_LT(max_z, 5.0);
  return err / (100.0 * omega * SqNorm(x) / draws);
}

// Error-feedback invariant: over `rounds` updates (random, seeds seed0 + r)
// through transform `t` and its codec, sum(decoded) + final residual equals
// sum(updates). Returns ||difference|| / ||sum(updates)|| (ADD_FAILUREs on
// an encode/decode error).
inline double ErrorFeedbackDefect(const UpdateTransform& t, int64_t d, int rounds, uint64_t seed0,
                                  const ParamLayout* layout = nullptr) {
  auto codec = std::dynamic_pointer_cast<const VectorCodec>(t.codec());
  ClientState state;
  std::vector<double> sum_g(d, 0.0), sum_sent(d, 0.0);
  for (int r = 0; r < rounds; ++r) {
    ClientUpdate u;
    u.delta = RandomVector(d, seed0 + r);
    for (int64_t i = 0; i < d; ++i) sum_g[i] += u.delta[i];
    TransformContext ctx = Ctx(7, r, 1, layout);
    Status st = t.Apply(u, state, ctx);
    auto bytes = st.ok() ? codec->Encode(u, ctx) : Result<std::vector<uint8_t>>(st);
    auto back = bytes.ok() ? codec->Decode(*bytes, d, ctx) : Result<ClientUpdate>(bytes.status());
    if (!back.ok()) {
      ADD_FAILURE() << "round " << r << ": " << back.status().ToString();
      return 1e30;
    }
    for (int64_t i = 0; i < d; ++i) sum_sent[i] += back->delta[i];
  }
  const auto& e = state.tensors.at("compress.topk.residual");
  double err = 0, ref = 0;
  for (int64_t i = 0; i < d; ++i) err += std::pow(sum_sent[i] + e[i] - sum_g[i], 2), ref += sum_g[i] * sum_g[i];
  return std::sqrt(err / ref);
}

}  // namespace shoal::compress::testing
