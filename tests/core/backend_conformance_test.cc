// Backend conformance, in the spirit of llama.cpp's test-backend-ops: every op
// of every available backend (cpu_simd once per instruction set this CPU can
// run, cuda when built with SHOAL_CONFORMANCE_CUDA) against the cpu_ref
// oracle, on random inputs of awkward sizes, with sentinel guard bands around
// every output buffer. Ops that do the same arithmetic in the same order as
// cpu_ref must match bit for bit; reductions, GEMM and transcendental ops are
// held to a per-op normalised mean squared error (NMSE = |a-b|^2 / |b|^2).
#include "tests/core/backend_conformance.h"

namespace shoal::conformance {
namespace {

// Is the backend exact for this op (same arithmetic as cpu_ref)? The CUDA
// count sketch sums with atomics, in no fixed order: about a thousand float
// terms per bucket at n = 1M, so NMSE up to ~1e-11 (seen: 1.1e-12 on an H200).
double Tol(const Candidate& c, double exact_or) { return c.label == "cuda" ? exact_or : 0.0; }

TEST(SHOAL_CONFORMANCE_SUITE, ElementwiseOpsMatchRef) {
  ForEachBackend([](const Candidate& c) {
    for (size_t n : kSizes) {
      auto x = RandomVec(n, 1), y0 = RandomVec(n, 2);
      Guarded<float> want(y0), got(y0);
      Ref().Axpy(0.37f, x, want.span());
      c.be->Axpy(0.37f, x, got.span());
      EXPECT_TRUE(Close(got, want, 0, "axpy " + At(n)));
      Ref().WeightedAccumulate(-1.5f, x, want.span());
      c.be->WeightedAccumulate(-1.5f, x, got.span());
      EXPECT_TRUE(Close(got, want, 0, "weighted_accumulate " + At(n)));
      Ref().Scale(0.9f, want.span());
      c.be->Scale(0.9f, got.span());
      EXPECT_TRUE(Close(got, want, 0, "scale " + At(n)));
      Ref().SgdStep(0.05f, x, want.span());
      c.be->SgdStep(0.05f, x, got.span());
      EXPECT_TRUE(Close(got, want, 0, "sgd_step " + At(n)));
    }
  });
}

TEST(SHOAL_CONFORMANCE_SUITE, ReductionsAndClipMatchRef) {
  ForEachBackend([](const Candidate& c) {
    for (size_t n : kSizes) {
      auto x = RandomVec(n, 3), y = RandomVec(n, 4);
      double d_ref = Ref().Dot(x, y), d = c.be->Dot(x, y);
      EXPECT_NEAR(d, d_ref, 1e-12 * (1 + std::abs(d_ref))) << "dot " << At(n);
      double s_ref = Ref().SquaredNorm(x), s = c.be->SquaredNorm(x);
      EXPECT_NEAR(s, s_ref, 1e-12 * (1 + s_ref)) << "squared_norm " << At(n);
      for (double factor : {0.5, 2.0}) {
        Guarded<float> want(x), got(x);
        double max_norm = factor * std::sqrt(s_ref);
        double nr = Ref().ClipByNorm(want.span(), max_norm), nb = c.be->ClipByNorm(got.span(), max_norm);
        EXPECT_NEAR(nb, nr, 1e-12 * (1 + nr)) << "clip_by_norm " << At(n);
        EXPECT_TRUE(Close(got, want, 1e-12, "clip_by_norm " + At(n)));
      }
    }
  });
}

TEST(SHOAL_CONFORMANCE_SUITE, OptimizerStepsMatchRef) {
  ForEachBackend([](const Candidate& c) {
    for (size_t n : kSizes) {
      auto g = RandomVec(n, 5), p0 = RandomVec(n, 6), b0 = RandomVec(n, 7);
      for (int variant = 0; variant < 4; ++variant) {
        bool nesterov = variant & 1, first = variant & 2;
        Guarded<float> pw(p0), pg(p0), bw(b0), bg(b0);
        Ref().MomentumStep(0.1f, 0.9f, 1e-3f, nesterov, first, g, bw.span(), pw.span());
        c.be->MomentumStep(0.1f, 0.9f, 1e-3f, nesterov, first, g, bg.span(), pg.span());
        EXPECT_TRUE(Close(pg, pw, 0, "momentum_step p " + At(n)));
        EXPECT_TRUE(Close(bg, bw, 0, "momentum_step b " + At(n)));
      }
      auto v0 = RandomVec(n, 8);
      for (auto& v : v0) v = v * v;
      for (bool decoupled : {false, true})
        for (int64_t step : {1, 10}) {
          AdamStepParams h;
          h.weight_decay = 0.01f;
          h.decoupled = decoupled;
          h.step = step;
          Guarded<float> pw(p0), pg(p0), mw(b0), mg(b0), vw(v0), vg(v0);
          Ref().AdamStep(h, g, mw.span(), vw.span(), pw.span());
          c.be->AdamStep(h, g, mg.span(), vg.span(), pg.span());
          EXPECT_TRUE(Close(pg, pw, 0, "adam_step p " + At(n)));
          EXPECT_TRUE(Close(mg, mw, 0, "adam_step m " + At(n)));
          EXPECT_TRUE(Close(vg, vw, 0, "adam_step v " + At(n)));
        }
    }
  });
}

// The expensive ops compute the cpu_ref answer once per case, then compare
// every candidate against it.

TEST(SHOAL_CONFORMANCE_SUITE, GaussianFillMatchesRef) {
  struct Case {
    size_t n;
    uint64_t offset;
    Guarded<float> want;
  };
  std::vector<Case> cases;
  for (size_t n : kSizes)
    for (uint64_t offset : {uint64_t{0}, uint64_t{3}, uint64_t{1} << 33}) {
      cases.push_back({n, offset, Guarded<float>(n)});
      Ref().GaussianFill({11, 12}, offset, 0.5f, 2.0f, cases.back().want.span());
    }
  ForEachBackend([&](const Candidate& c) {
    for (const Case& k : cases) {
      Guarded<float> got(k.n);
      c.be->GaussianFill({11, 12}, k.offset, 0.5f, 2.0f, got.span());
      // Vector log/sin/cos may round a value to the neighbouring float.
      EXPECT_TRUE(Close(got, k.want, 1e-13, "gaussian_fill " + At(k.n)));
    }
  });
}

TEST(SHOAL_CONFORMANCE_SUITE, QuantizeInt8MatchesRef) {
  struct Case {
    int64_t block;
    uint64_t offset;
    std::vector<float> x;
    Guarded<int8_t> q;
    Guarded<float> scales, deq;
  };
  std::vector<Case> cases;
  for (size_t n : kSizes)
    for (int64_t block : {int64_t{1}, int64_t{7}, int64_t{256}, int64_t{5000}}) {
      if (n > 1024 && block < 7) continue;  // block 1 at 1M is a scale per value: covered at small n
      // Odd offsets (one crossing the 2^32-word noise segment at position
      // 2^33) and an aligned one (whole 32-value groups on the vector path).
      const uint64_t offset = block == 256 ? (uint64_t{1} << 33) - 37 : block == 5000 ? 0 : 5;
      auto x = RandomVec(n, 9, 3.0f);
      if (n > 20) std::fill(x.begin() + 7, x.begin() + 14, 0.0f);  // an all-zero block when block == 7
      // Blocks so small that 127 / max|x| overflows: the divide form of QuantizeValue.
      if (n >= 10000)
        for (size_t i = 5000; i < 10000; ++i) x[i] *= 1e-38f;
      size_t nb = (n + block - 1) / block;
      cases.push_back({block, offset, x, Guarded<int8_t>(n), Guarded<float>(nb), Guarded<float>(n)});
      Case& k = cases.back();
      ASSERT_TRUE(Ref().QuantizeInt8(x, block, {21, 22}, offset, k.q.span(), k.scales.span()).ok());
      ASSERT_TRUE(Ref().DequantizeInt8(k.q.cspan(), k.scales.cspan(), block, k.deq.span()).ok());
    }
  ForEachBackend([&](const Candidate& c) {
    for (const Case& k : cases) {
      const size_t n = k.x.size();
      Guarded<int8_t> q(n);
      Guarded<float> sc(k.scales.size()), deq(n);
      ASSERT_TRUE(c.be->QuantizeInt8(k.x, k.block, {21, 22}, k.offset, q.span(), sc.span()).ok());
      EXPECT_TRUE(Close(q, k.q, 0, "quantize_int8 q " + At(n)));
      EXPECT_TRUE(Close(sc, k.scales, 0, "quantize_int8 scales " + At(n)));
      ASSERT_TRUE(c.be->DequantizeInt8(k.q.cspan(), k.scales.cspan(), k.block, deq.span()).ok());
      EXPECT_TRUE(Close(deq, k.deq, 0, "dequantize_int8 " + At(n)));
    }
  });
}

TEST(SHOAL_CONFORMANCE_SUITE, CountSketchMatchesRef) {
  struct Case {
    CountSketchSpec s;
    std::vector<float> x, t0;
    Guarded<float> table, est;
  };
  std::vector<Case> cases;
  for (size_t n : kSizes)
    for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1, 1}, {4, 7}, {5, 1000}}) {
      if (n > 1024 && rows != 5) continue;
      CountSketchSpec s{rows, cols, {31, 32}};
      cases.push_back({s, RandomVec(n, 10), RandomVec(rows * cols, 11), Guarded<float>(0), Guarded<float>(n)});
      Case& k = cases.back();
      k.table = Guarded<float>(k.t0);
      ASSERT_TRUE(Ref().CountSketchApply(s, k.x, k.table.span()).ok());
      ASSERT_TRUE(Ref().CountSketchUnapply(s, k.table.cspan(), k.est.span()).ok());
    }
  ForEachBackend([&](const Candidate& c) {
    for (const Case& k : cases) {
      const size_t n = k.x.size();
      Guarded<float> table(k.t0), est(n);
      ASSERT_TRUE(c.be->CountSketchApply(k.s, k.x, table.span()).ok());
      EXPECT_TRUE(Close(table, k.table, Tol(c, 1e-10), "count_sketch_apply " + At(n)));
      ASSERT_TRUE(c.be->CountSketchUnapply(k.s, k.table.cspan(), est.span()).ok());
      EXPECT_TRUE(Close(est, k.est, 0, "count_sketch_unapply " + At(n)));
    }
  });
}

TEST(SHOAL_CONFORMANCE_SUITE, RandomSketchMatchesRef) {
  struct Case {
    RandomSketchSpec s;
    std::vector<float> x, y;
    Guarded<float> sketch, back;
  };
  std::vector<Case> cases;
  for (size_t n : kSizes)
    for (auto [rows, dist] : {std::pair{int64_t{1}, SketchDist::kRademacher}, {int64_t{8}, SketchDist::kRademacher},
                              {int64_t{3}, SketchDist::kGaussian}}) {
      if (n > 1024 && rows == 1) continue;
      RandomSketchSpec s{rows, dist, {41, 42}};
      cases.push_back({s, RandomVec(n, 12), RandomVec(rows, 13), Guarded<float>(rows), Guarded<float>(n)});
      Case& k = cases.back();
      ASSERT_TRUE(Ref().RandomSketchApply(s, k.x, k.sketch.span()).ok());
      ASSERT_TRUE(Ref().RandomSketchUnapply(s, k.y, k.back.span()).ok());
    }
  ForEachBackend([&](const Candidate& c) {
    for (const Case& k : cases) {
      const size_t n = k.x.size();
      Guarded<float> sketch(k.s.rows), back(n);
      ASSERT_TRUE(c.be->RandomSketchApply(k.s, k.x, sketch.span()).ok());
      EXPECT_TRUE(Close(sketch, k.sketch, 1e-12, "random_sketch_apply " + At(n)));
      ASSERT_TRUE(c.be->RandomSketchUnapply(k.s, k.y, back.span()).ok());
      const double tol = k.s.dist == SketchDist::kGaussian ? 1e-13 : 0.0;
      EXPECT_TRUE(Close(back, k.back, tol, "random_sketch_unapply " + At(n)));
    }
  });
}

TEST(SHOAL_CONFORMANCE_SUITE, ShapeErrorsAreReported) {
  ForEachBackend([](const Candidate& c) {
    std::vector<float> x(10), scales(1), table(6), y(2);
    std::vector<int8_t> q(10);
    EXPECT_EQ(c.be->QuantizeInt8(x, 4, {1, 2}, 0, q, scales).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(c.be->CountSketchApply({2, 4, {1, 2}}, x, table).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(c.be->RandomSketchApply({3, SketchDist::kRademacher, {1, 2}}, x, y).code(),
              StatusCode::kInvalidArgument);
  });
}

}  // namespace
}  // namespace shoal::conformance
