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
// `min_8bit_size` entries keep fp32 moments. bitsandbytes uses 4096; Shoal's
// default is 1024 so that small models' output layers (mlp: 200 x 10) are
// quantized too: mlp state is 2.04 B/param instead of 2.10. State: ~2 + 8/256
// B/param plus 8 B per entry of the small tensors.
// One deviation from nearest rounding: a positive v never requantizes to the
// zero code but to the smallest nonzero one (3.25e-7 absmax). Otherwise an
// entry whose gradient is small relative to its block (v/absmax < 1.6e-7, e.g.
// weights of always-zero Fashion-MNIST pixels, or dead ReLUs) keeps m != 0 with
// v = 0, and its next step is lr m / eps: we saw NaN updates on mlp at lr 1e-3.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "algorithms/optimizers/factories.h"

namespace shoal {
namespace {

using CodeMap = std::array<float, 256>;

CodeMap DynamicMap(bool is_signed) {
  std::vector<float> data;
  for (int i = 0; i < 7; ++i) {
    const int k = is_signed ? (1 << i) : (1 << (i + 1));
    const double scale = std::pow(10.0, i - 6);
    for (int j = 0; j < k; ++j) {
      double lo = 0.1 + 0.9 * j / k, hi = 0.1 + 0.9 * (j + 1) / k;
      data.push_back(static_cast<float>(scale * (lo + hi) / 2.0));
      if (is_signed) data.push_back(static_cast<float>(-scale * (lo + hi) / 2.0));
    }
  }
  data.push_back(0.0f);
  data.push_back(1.0f);
  std::sort(data.begin(), data.end());
  CodeMap map{};
  std::copy(data.begin(), data.end(), map.begin());
  return map;
}

const CodeMap& SignedMap() { static const CodeMap m = DynamicMap(true); return m; }
const CodeMap& UnsignedMap() { static const CodeMap m = DynamicMap(false); return m; }

// Nearest-code quantizer: a table indexed by the top 14 bits of the float
// (sign, exponent, 5 mantissa bits) gives a code at or below the bucket's
// start; a short walk then finds the neighbours of x, and the nearer wins.
// Equivalent to a binary search over the 256 sorted codes, ~5x faster.
class Quantizer {
 public:
  explicit Quantizer(const CodeMap& code) : code_(code), start_(1 << 14) {
    for (uint32_t key = 0; key < (1u << 14); ++key) {
      uint32_t bits = key << 18;
      float rep;
      std::memcpy(&rep, &bits, sizeof(rep));
      if (std::isnan(rep)) rep = 0.0f;
      int i = 0;
      while (i < 255 && code_[i + 1] <= rep) ++i;
      start_[key] = static_cast<uint8_t>(i);
    }
  }
  uint8_t operator()(float x) const {
    uint32_t bits;
    std::memcpy(&bits, &x, sizeof(bits));
    int i = start_[bits >> 18];
    while (i < 255 && code_[i + 1] <= x) ++i;
    while (i > 0 && code_[i] > x) --i;
    if (i < 255 && code_[i + 1] - x < x - code_[i]) ++i;
    return static_cast<uint8_t>(i);
  }

 private:
  const CodeMap& code_;
  std::vector<uint8_t> start_;
};

const Quantizer& SignedQuantizer() { static const Quantizer q(SignedMap()); return q; }
const Quantizer& UnsignedQuantizer() { static const Quantizer q(UnsignedMap()); return q; }

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
        for (int64_t j = 0; j < s.size; ++j) {
          const int64_t i = s.offset + j;
          float& m = m32_[s.q_off + j];
          float& v = v32_[s.q_off + j];
          float gi = g[i] + wd_ * p[i];
          m = b1_ * m + (1.0f - b1_) * gi;
          v = b2_ * v + (1.0f - b2_) * gi * gi;
          p[i] -= step * m / (std::sqrt(v) * rsbc2 + eps_);
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

  void Block(float* p, const float* g, uint8_t* qm, uint8_t* qv, float& am, float& av, int64_t n, float step,
             float rsbc2) {
    const CodeMap &cs = SignedMap(), &cu = UnsignedMap();
    const Quantizer &qs = SignedQuantizer(), &qu = UnsignedQuantizer();
    float m[256], v[256];  // block_size <= 256 (registry check)
    float new_am = 0.0f, new_av = 0.0f;
    for (int64_t j = 0; j < n; ++j) {
      float gi = g[j] + wd_ * p[j];
      m[j] = b1_ * cs[qm[j]] * am + (1.0f - b1_) * gi;
      v[j] = b2_ * cu[qv[j]] * av + (1.0f - b2_) * gi * gi;
      p[j] -= step * m[j] / (std::sqrt(v[j]) * rsbc2 + eps_);
      new_am = std::max(new_am, std::fabs(m[j]));
      new_av = std::max(new_av, v[j]);
    }
    const float im = new_am > 0 ? 1.0f / new_am : 0.0f, iv = new_av > 0 ? 1.0f / new_av : 0.0f;
    for (int64_t j = 0; j < n; ++j) {
      qm[j] = qs(m[j] * im);
      qv[j] = qu(v[j] * iv);
      if (qv[j] == zero_v_ && v[j] > 0.0f) qv[j] = zero_v_ + 1;  // see the file comment
    }
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
