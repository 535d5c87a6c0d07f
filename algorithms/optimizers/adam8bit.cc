// 8-bit Adam (Dettmers et al., ICLR 2022; bitsandbytes optim/optimizer.py,
// functional.py create_dynamic_map), shared/OPTIMIZERS.md §3.
//
// Adam (PyTorch form, coupled L2 weight_decay) whose moments are stored as
// uint8 codes with block-wise absmax scaling: per block of `block_size` (256)
// entries, x = code[q] absmax. Each step dequantizes a block, runs the fp32
// Adam update (p is updated from the fp32 moments), takes the new absmax and
// requantizes each entry to the nearest code of x / absmax. m uses the signed
// dynamic map, v the unsigned one (7 exponent bits: for i = 0..6 the
// midpoints of linspace(0.1, 1, k_i + 1) times 10^(i-6), k_i = 2^i signed
// (mirrored) or 2^(i+1) unsigned, plus 0 and 1). Tensors with fewer than
// `min_8bit_size` entries keep fp32 moments; the default 4096 is bitsandbytes'
// (optim/adam.py Adam8bit(min_8bit_size=4096); optimizer.py keeps fp32 state
// when p.numel() < min_8bit_size). On mlp that leaves the 200 x 10 output
// layer in fp32 (2.104 B/param); scenarios/optimizers_8bit.yaml sets 1024 to
// quantize it too (2.044 B/param). State: ~2 + 8/256 B/param plus 8 B per
// entry of the small tensors. The quantized tensors run through
// Backend::Adam8bitStep (one call per tensor; cpu_simd: a gather-free SIMD
// kernel bit-identical to cpu_ref's scalar loop); a backend without the op
// (cuda) hands it to cpu_simd on the same host memory.
// One deviation from nearest rounding: a positive v never requantizes to the
// zero code but to the smallest nonzero one (3.25e-7 absmax). Otherwise an
// entry whose gradient is small relative to its block (v/absmax < 1.6e-7, e.g.
// weights of always-zero Fashion-MNIST pixels, or dead ReLUs) keeps m != 0 with
// v = 0, and its next step is lr m / eps: we saw NaN updates on mlp at lr 1e-3.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "algorithms/optimizers/factories.h"
#include "core/backend.h"
#include "core/dynamic_quant.h"

namespace shoal {
namespace {

struct Segment {
  int64_t offset = 0, size = 0;  // into the flat parameter vector
  int64_t q_off = 0;             // into qm_/qv_ (quantized) or m32_/v32_ (fp32)
  int64_t block_off = 0;         // into absm_/absv_
  bool quantized = false;
};

class Adam8bitOptimizer final : public Optimizer {
 public:
  Adam8bitOptimizer(const ParamLayout& layout, const Backend& backend, const HParams& h)
      : kernel_(backend.Supports(Op::kAdam8bitStep, DType::kF32) ? backend : *GetBackend("cpu_simd").value()),
        b1_(static_cast<float>(h.at("beta1"))), b2_(static_cast<float>(h.at("beta2"))),
        eps_(static_cast<float>(h.at("eps"))), wd_(static_cast<float>(h.at("weight_decay"))),
        block_(static_cast<int64_t>(h.at("block_size"))) {
    const int64_t min_size = static_cast<int64_t>(h.at("min_8bit_size"));
    int64_t nq = 0, nf = 0, nb = 0;
    for (const TensorSpec& ts : layout.tensors()) {
      Segment s{ts.offset, ts.size, 0, 0, ts.size >= min_size};
      if (s.quantized) {
        s.q_off = nq, s.block_off = nb;
        nq += ts.size, nb += (ts.size + block_ - 1) / block_;
      } else {
        s.q_off = nf;
        nf += ts.size;
      }
      segs_.push_back(s);
    }
    // Code of 0 in each map, so that fresh state dequantizes to exactly zero.
    qm_.assign(static_cast<size_t>(nq), dq::SignedQuantizer()(0.0f));
    qv_.assign(static_cast<size_t>(nq), dq::UnsignedQuantizer()(0.0f));
    absm_.assign(static_cast<size_t>(nb), 0.0f);
    absv_.assign(static_cast<size_t>(nb), 0.0f);
    m32_.assign(static_cast<size_t>(nf), 0.0f);
    v32_.assign(static_cast<size_t>(nf), 0.0f);
  }

  void Step(std::span<float> p, std::span<const float> g, float lr) override {
    t_ += 1;
    const float step = lr / (1.0f - std::pow(b1_, static_cast<float>(t_)));
    const float rsbc2 = 1.0f / std::sqrt(1.0f - std::pow(b2_, static_cast<float>(t_)));
    for (const Segment& s : segs_) {
      if (!s.quantized) {
        const float b1 = b1_, c1 = 1.0f - b1_, b2 = b2_, c2 = 1.0f - b2_, wd = wd_, eps = eps_;
        float *__restrict pp = p.data() + s.offset, *__restrict m = m32_.data() + s.q_off,
                          *__restrict v = v32_.data() + s.q_off;
        const float* __restrict pg = g.data() + s.offset;
        for (int64_t j = 0; j < s.size; ++j) {
          const float gi = pg[j] + wd * pp[j], mj = b1 * m[j] + c1 * gi, vj = b2 * v[j] + c2 * gi * gi;
          m[j] = mj, v[j] = vj;
          pp[j] -= step * mj / (std::sqrt(vj) * rsbc2 + eps);
        }
        continue;
      }
      const Adam8bitStepParams h{step, rsbc2, b1_, b2_, eps_, wd_, block_};
      const auto q = static_cast<size_t>(s.q_off), n = static_cast<size_t>(s.size);
      const auto blk = static_cast<size_t>(s.block_off), nb = static_cast<size_t>((s.size + block_ - 1) / block_);
      kernel_.Adam8bitStep(h, g.subspan(static_cast<size_t>(s.offset), n), p.subspan(static_cast<size_t>(s.offset), n),
                           std::span(qm_).subspan(q, n), std::span(qv_).subspan(q, n),
                           std::span(absm_).subspan(blk, nb), std::span(absv_).subspan(blk, nb));
    }
  }

  int64_t state_bytes() const override {
    return static_cast<int64_t>(qm_.size() + qv_.size() +
                                sizeof(float) * (absm_.size() + absv_.size() + m32_.size() + v32_.size() + 1));
  }
  void SaveState(ClientState& st) const override {
    st.tensors["opt.qm"] = Pack(qm_);
    st.tensors["opt.qv"] = Pack(qv_);
    st.tensors["opt.absm"] = absm_;
    st.tensors["opt.absv"] = absv_;
    st.tensors["opt.m"] = m32_;
    st.tensors["opt.v"] = v32_;
    st.scalars["opt.t"] = t_;
  }
  void LoadState(const ClientState& st) override {
    auto get = [&](const char* k, size_t n) -> const std::vector<float>* {
      auto it = st.tensors.find(k);
      return it != st.tensors.end() && it->second.size() == n ? &it->second : nullptr;
    };
    const size_t packed = (qm_.size() + 3) / 4;
    auto *qm = get("opt.qm", packed), *qv = get("opt.qv", packed), *am = get("opt.absm", absm_.size()),
         *av = get("opt.absv", absv_.size()), *m = get("opt.m", m32_.size()), *v = get("opt.v", v32_.size());
    auto t = st.scalars.find("opt.t");
    if (!qm || !qv || !am || !av || !m || !v || t == st.scalars.end()) return;  // no (matching) saved state
    if (!qm_.empty()) std::memcpy(qm_.data(), qm->data(), qm_.size());  // memcpy(null, ...) is UB even for 0 bytes
    if (!qv_.empty()) std::memcpy(qv_.data(), qv->data(), qv_.size());
    absm_ = *am, absv_ = *av, m32_ = *m, v32_ = *v, t_ = t->second;
  }

 private:
  // ClientState holds float tensors: the codes travel as raw bytes, 4 per float.
  static std::vector<float> Pack(const std::vector<uint8_t>& q) {
    std::vector<float> out((q.size() + 3) / 4, 0.0f);
    if (!q.empty()) std::memcpy(out.data(), q.data(), q.size());
    return out;
  }

  const Backend& kernel_;  // runs Adam8bitStep; must outlive the optimizer (registry backends do)
  float b1_, b2_, eps_, wd_;
  int64_t block_;
  std::vector<Segment> segs_;
  std::vector<uint8_t> qm_, qv_;
  std::vector<float> absm_, absv_, m32_, v32_;
  double t_ = 0;
};

}  // namespace

std::unique_ptr<Optimizer> MakeAdam8bit(const ParamLayout& l, const Backend& b, const HParams& h) {
  return std::make_unique<Adam8bitOptimizer>(l, b, h);
}

}  // namespace shoal
