// Backend::Adam8bitStep on every backend (every cpu_simd target; cuda, which
// hands the op to the host) against cpu_ref's scalar loop: bit for bit on p,
// both code arrays and both absmax arrays, over several steps in a row, on
// sizes that leave a ragged last block, with sentinel guards around every
// output. The inputs cover what the quantizer finds hard: gradients spanning
// many decades (codes in every decade of both maps), an all-zero block
// (absmax 0), entries so small that v would round to the zero code (bump),
// and a constant block (every entry at its block's absmax).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "tests/core/backend_conformance.h"

namespace shoal::conformance {
namespace {

struct State {
  Guarded<float> p;
  Guarded<uint8_t> qm, qv;
  Guarded<float> absm, absv;
};

State Fresh(size_t n, int64_t block, const std::vector<float>& p0) {
  const size_t nb = (n + static_cast<size_t>(block) - 1) / static_cast<size_t>(block);
  // Codes of 0: 127 in the signed map, 0 in the unsigned one (core/dynamic_quant.h).
  return {Guarded<float>(p0), Guarded<uint8_t>(std::vector<uint8_t>(n, 127)),
          Guarded<uint8_t>(std::vector<uint8_t>(n, 0)), Guarded<float>(nb, 0.0f), Guarded<float>(nb, 0.0f)};
}

// Gradient of step t: random signs and magnitudes from 1e-9 to 1e1.
std::vector<float> Gradient(size_t n, int t, int64_t block) {
  std::vector<float> g = RandomVec(n, 100 + static_cast<uint64_t>(t));
  const std::vector<float> e = RandomVec(n, 200 + static_cast<uint64_t>(t));
  for (size_t i = 0; i < n; ++i) g[i] *= std::pow(10.0f, 10.0f * std::fabs(e[i]) - 9.0f);
  const size_t b = static_cast<size_t>(block);
  for (size_t i = b; i < std::min(n, 2 * b); ++i) g[i] = 0.0f;            // block 1: all zero
  for (size_t i = 2 * b; i < std::min(n, 3 * b); ++i) g[i] = 0.25f;       // block 2: constant
  if (n > 3 * b) g[3 * b] = 1e4f;                                         // block 3: one huge entry,
  for (size_t i = 3 * b + 1; i < std::min(n, 4 * b); ++i) g[i] *= 1e-6f;  // the rest far below it
  return g;
}

TEST(SHOAL_CONFORMANCE_SUITE, Adam8bitStepIsBitIdenticalToCpuRef) {
  for (int64_t block : {256, 64, 5}) {
    for (size_t n : {size_t{1}, size_t{7}, size_t{300}, size_t{1023}, size_t{4096 + 17}}) {
      const std::vector<float> p0 = RandomVec(n, 7, 0.5f);
      State want = Fresh(n, block, p0);
      std::vector<State> got;
      ForEachBackend([&](const Candidate&) { got.push_back(Fresh(n, block, p0)); });
      got.push_back(Fresh(n, block, p0));
      for (int t = 1; t <= 4; ++t) {
        const std::vector<float> g = Gradient(n, t, block);
        Adam8bitStepParams h;
        h.step = 1e-2f / (1.0f - std::pow(0.9f, static_cast<float>(t)));
        h.rsbc2 = 1.0f / std::sqrt(1.0f - std::pow(0.999f, static_cast<float>(t)));
        h.weight_decay = t % 2 ? 0.0f : 1e-2f;
        h.block = block;
        Ref().Adam8bitStep(h, g, want.p.span(), want.qm.span(), want.qv.span(), want.absm.span(), want.absv.span());
        size_t k = 0;
        auto check = [&](const Candidate& c) {
          State& s = got[k++];
          c.be->Adam8bitStep(h, g, s.p.span(), s.qm.span(), s.qv.span(), s.absm.span(), s.absv.span());
          const std::string what = At(n) + " block=" + std::to_string(block) + " step " + std::to_string(t);
          EXPECT_TRUE(Close(s.p, want.p, 0, what + " p"));
          EXPECT_TRUE(Close(s.qm, want.qm, 0, what + " qm"));
          EXPECT_TRUE(Close(s.qv, want.qv, 0, what + " qv"));
          EXPECT_TRUE(Close(s.absm, want.absm, 0, what + " absm"));
          EXPECT_TRUE(Close(s.absv, want.absv, 0, what + " absv"));
        };
        ForEachBackend(check);
        // The default dispatch too: the kernel's file also compiles AVX3_DL,
        // which no named target in AvailableTargets() selects.
        ASSERT_TRUE(simd::SelectTarget("best").ok());
        check({"cpu_simd/best", GetBackend("cpu_simd").value(), [] {}});
      }
    }
  }
}

// The inputs above reach every code: otherwise the comparison would not
// exercise the whole quantizer.
TEST(SHOAL_CONFORMANCE_SUITE, Adam8bitInputsReachManyCodes) {
  const size_t n = 4096 + 17;
  State s = Fresh(n, 256, RandomVec(n, 7, 0.5f));
  Adam8bitStepParams h;
  Ref().Adam8bitStep(h, Gradient(n, 1, 256), s.p.span(), s.qm.span(), s.qv.span(), s.absm.span(), s.absv.span());
  std::vector<bool> seen_m(256), seen_v(256);
  for (size_t i = 0; i < n; ++i) seen_m[s.qm.data()[i]] = seen_v[s.qv.data()[i]] = true;
  EXPECT_GT(std::count(seen_m.begin(), seen_m.end(), true), 150);
  EXPECT_GT(std::count(seen_v.begin(), seen_v.end(), true), 150);
}

}  // namespace
}  // namespace shoal::conformance
