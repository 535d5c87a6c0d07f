// 8-bit Adam's use of Backend::Adam8bitStep: the optimizer gives bit-identical
// parameters and state on cpu_ref and cpu_simd (a quantized tensor with a
// ragged last block next to an fp32 one), and with a backend that answers
// Supports(kAdam8bitStep) = false it never calls that backend's op but runs
// cpu_simd's kernel instead (a recording wrapper, as CUDA would be).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "algorithms/optimizers/optimizer.h"
#include "algorithms/types.h"
#include "core/backend_cpu_ref.h"
#include "core/rng.h"

namespace shoal {
namespace {

// cpu_ref without the 8-bit Adam op; counts calls that reach it anyway.
class NoAdam8bitBackend final : public CpuRefBackend {
 public:
  std::string_view name() const override { return "no_adam8bit"; }
  bool Supports(Op op, DType dtype) const override {
    return op != Op::kAdam8bitStep && CpuRefBackend::Supports(op, dtype);
  }
  void Adam8bitStep(const Adam8bitStepParams& h, std::span<const float> g, std::span<float> p,
                    std::span<uint8_t> qm, std::span<uint8_t> qv, std::span<float> absm,
                    std::span<float> absv) const override {
    ++calls;
    CpuRefBackend::Adam8bitStep(h, g, p, qm, qv, absm, absv);
  }
  mutable int calls = 0;
};

ParamLayout Layout() {
  ParamLayout layout;
  layout.Add("w", {50, 101});  // 5050 >= 4096: quantized, last block 186 entries
  layout.Add("b", {101});      // fp32 moments
  return layout;
}

// Parameters and saved state after `steps` steps on a fixed gradient sequence.
std::pair<std::vector<float>, ClientState> Train(const Backend& be, int steps) {
  const ParamLayout layout = Layout();
  auto opt = MakeOptimizer("adam8bit", {{"weight_decay", 1e-3}}, layout, be).value();
  RngStream rng(3, 0, 0, RngPurpose::kSynthetic);
  std::vector<float> p(static_cast<size_t>(layout.total_size())), g(p.size());
  for (float& x : p) x = static_cast<float>(rng.NextGaussian());
  for (int s = 0; s < steps; ++s) {
    for (size_t i = 0; i < g.size(); ++i)
      g[i] = 0.1f * p[i] + static_cast<float>(rng.NextGaussian()) * (i % 7 == 0 ? 1e-5f : 0.05f);
    opt->Step(p, g, 1e-2f);
  }
  ClientState st;
  opt->SaveState(st);
  return {p, st};
}

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(Adam8bitBackend, CpuRefAndCpuSimdAgreeBitForBit) {
  const auto [p_ref, st_ref] = Train(*GetBackend("cpu_ref").value(), 6);
  const auto [p_simd, st_simd] = Train(*GetBackend("cpu_simd").value(), 6);
  EXPECT_TRUE(SameBits(p_ref, p_simd));
  for (const char* key : {"opt.qm", "opt.qv", "opt.absm", "opt.absv", "opt.m", "opt.v"})
    EXPECT_TRUE(SameBits(st_ref.tensors.at(key), st_simd.tensors.at(key))) << key;
}

TEST(Adam8bitBackend, BackendWithoutTheOpHandsItToCpuSimd) {
  NoAdam8bitBackend be;
  const auto [p, st] = Train(be, 3);
  EXPECT_EQ(be.calls, 0);
  const auto [p_simd, st_simd] = Train(*GetBackend("cpu_simd").value(), 3);
  EXPECT_TRUE(SameBits(p, p_simd));
}

}  // namespace
}  // namespace shoal
