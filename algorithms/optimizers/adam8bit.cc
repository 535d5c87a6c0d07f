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
// entry of the small tensors. The nearest code comes from a bucket table
// (dynamic_quant.h), bit-identical to searching the 256 codes.
// One deviation from nearest rounding: a positive v never requantizes to the
// zero code but to the smallest nonzero one (3.25e-7 absmax). Otherwise an
// entry whose gradient is small relative to its block (v/absmax < 1.6e-7, e.g.
// weights of always-zero Fashion-MNIST pixels, or dead ReLUs) keeps m != 0 with
// v = 0, and its next step is lr m / eps: we saw NaN updates on mlp at lr 1e-3.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "algorithms/optimizers/dynamic_quant.h"
#include "algorithms/optimizers/factories.h"

namespace shoal {
namespace {

using dq::SignedMap;
using dq::SignedQuantizer;
using dq::UnsignedMap;
using dq::UnsignedQuantizer;

struct Segment {
  int64_t offset = 0, size = 0;  // into the flat parameter vector
  int64_t q_off = 0;             // into qm_/qv_ (quantized) or m32_/v32_ (fp32)
  int64_t block_off = 0;         // into absm_/absv_
  bool quantized = false;
};

class Adam8bitOptimizer final : public Optimizer {
 public:
  Adam8bitOptimizer(const ParamLayout& layout, const HParams& h)
      : b1_(static_cast<float>(h.at("beta1"))), b2_(static_cast<float>(h.at("beta2"))),
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
    qm_.assign(static_cast<size_t>(nq), SignedQuantizer()(0.0f));
    zero_v_ = UnsignedQuantizer()(0.0f);
    qv_.assign(static_cast<size_t>(nq), zero_v_);
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
      for (int64_t b0 = 0, blk = s.block_off; b0 < s.size; b0 += block_, ++blk) {
        const int64_t n = std::min(block_, s.size - b0);
        Block(p.data() + s.offset + b0, g.data() + s.offset + b0, qm_.data() + s.q_off + b0,
              qv_.data() + s.q_off + b0, absm_[blk], absv_[blk], n, step, rsbc2);
      }
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

  // One block: dequantize, fp32 Adam update of p, new absmax (an integer max
  // over the bit patterns of |m| and v, which order like the floats and keep
  // the loop vectorizable), requantize (dynamic_quant.h: table lookup, no search).
  void Block(float* __restrict p, const float* __restrict g, uint8_t* __restrict qm, uint8_t* __restrict qv,
             float& am, float& av, int64_t n, float step, float rsbc2) {
    const float *__restrict cs = SignedMap().data(), *__restrict cu = UnsignedMap().data();
    const float b1 = b1_, c1 = 1.0f - b1_, b2 = b2_, c2 = 1.0f - b2_, wd = wd_, eps = eps_, am0 = am, av0 = av;
    float m[256], v[256];  // block_size <= 256 (registry check)
    uint32_t max_m = 0, max_v = 0;
    for (int64_t j = 0; j < n; ++j) {
      const float gi = g[j] + wd * p[j];
      const float mj = b1 * cs[qm[j]] * am0 + c1 * gi, vj = b2 * cu[qv[j]] * av0 + c2 * gi * gi;
      p[j] -= step * mj / (std::sqrt(vj) * rsbc2 + eps);
      m[j] = mj, v[j] = vj;
      const uint32_t bm = std::bit_cast<uint32_t>(std::fabs(mj)), bv = std::bit_cast<uint32_t>(vj);  // vj >= +0
      max_m = max_m < bm ? bm : max_m;
      max_v = max_v < bv ? bv : max_v;
    }
    const float new_am = std::bit_cast<float>(max_m), new_av = std::bit_cast<float>(max_v);
    const float im = new_am > 0 ? 1.0f / new_am : 0.0f, iv = new_av > 0 ? 1.0f / new_av : 0.0f;
    SignedQuantizer().Quantize(m, im, qm, n, -1);
    UnsignedQuantizer().Quantize(v, iv, qv, n, zero_v_);  // v > 0 never takes the zero code (file comment)
    am = new_am, av = new_av;
  }

  float b1_, b2_, eps_, wd_;
  int64_t block_;
  uint8_t zero_v_ = 0;  // code of 0 in the unsigned map
  std::vector<Segment> segs_;
  std::vector<uint8_t> qm_, qv_;
  std::vector<float> absm_, absv_, m32_, v32_;
  double t_ = 0;
};

}  // namespace

std::unique_ptr<Optimizer> MakeAdam8bit(const ParamLayout& l, const Backend&, const HParams& h) {
  return std::make_unique<Adam8bitOptimizer>(l, h);
}

}  // namespace shoal
