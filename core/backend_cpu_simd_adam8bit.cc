// Highway kernel of the cpu_simd backend for 8-bit Adam (Backend::Adam8bitStep,
// contract in core/backend.h; the scalar oracle is CpuRefBackend's loop with
// dq::FastQuantizer). Included once per target by hwy/foreach_target.h; the
// dispatch wrappers are in HWY_ONCE below.
//
// The scalar loop spends its time in table lookups: two code -> float
// dequantizations and two 6400-entry bucket-table gathers per entry (slow
// on this project's Ice Lake machines). Here no lookup touches memory on
// AVX-512 (backend_cpu_simd_lookup-inl.h): dequantization uses 64-code
// byte-plane permutes on AVX3_DL, 8 register permutes per vector on AVX3;
// requantization (dq::VectorQuantTables) computes the code arithmetically
// (the binade of the value gives its decade, where codes are equally
// spaced: one multiply-add), and the rare vectors with a value within 2e-4
// of a cell edge take FastQuantizer's exact path. Other targets gather.
// Same operations in the same order as cpu_ref (no FMA), so every target is
// bit-identical to it (tests/core/backend_conformance_adam8bit_test.cc).
// Measured on the shared 2-core Ice Lake VM (bench_optimizers, 1M
// parameters, same load window): 3.6-5.4 ms/Mparam for the scalar loop,
// 1.4-1.9 here (fp32 Adam: about 1.0).
// AVX3_DL (VBMI byte permutes) is compiled in for this file only; the
// other kernel files stop at AVX3.
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL
#endif
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/backend_cpu_simd_adam8bit.cc"
// clang-format off
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// clang-format on

#include <hwy/highway.h>

#include <algorithm>
#include <cstring>

#include "core/backend_cpu_simd_kernels.h"
#include "core/backend_cpu_simd_lookup-inl.h"
#include "core/dynamic_quant.h"

HWY_BEFORE_NAMESPACE();
namespace shoal::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using lookup::DF;
using lookup::DI;
using lookup::VF;
using lookup::VI;
#if HWY_TARGET == HWY_AVX3_DL
using lookup::PlaneTable;
#endif
using lookup::Table16;
using lookup::Table256;
using lookup::Table32;
using lookup::Table32I;
using DU = hn::RebindToUnsigned<DF>;
using D8 = hn::Rebind<uint8_t, DF>;

// dq::VectorQuantTables in registers, and the exact scalar quantizer for
// the vectors it cannot settle.
struct Quantizer {
  explicit Quantizer(const dq::VectorQuantTables& t, const dq::FastQuantizer& fallback)
      : slope(t.slope.data()), offset(t.offset.data()), hi(t.hi.data()), binade_tie(t.binade_tie.data()),
        binade_hi(t.binade_hi.data()), binade_seg(t.binade_seg.data()), exact(fallback) {}
  Table16 slope, offset, hi;
  Table32 binade_tie, binade_hi;
  Table32I binade_seg;
  const dq::FastQuantizer& exact;
};

// Float to int32, truncating; REQUIRES 0 <= v < 2^31 (no overflow fix-up needed).
HWY_INLINE VI Truncate(VF v) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  return VI{_mm512_cvttps_epi32(v.raw)};
#else
  return hn::ConvertTo(DI(), v);
#endif
}

HWY_INLINE void StoreCodes(VI q, uint8_t* out) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  // vpmovdb; Highway 1.0.3's TruncateTo on AVX3_DL returns untruncated lanes.
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm512_cvtepi32_epi8(q.raw));
#else
  const D8 d8;
  hn::StoreU(hn::TruncateTo(d8, hn::BitCast(DU(), q)), d8, out);
#endif
}

// out[0..N) = codes of x * scale (dq::VectorQuantTables; kMirrored: the
// signed map); with kBump, lanes with x > 0 whose code would be `bump` take
// bump + 1.
template <bool kMirrored, bool kBump>
HWY_INLINE void QuantizeStore(const Quantizer& t, VF x, VF scale, VI bump, uint8_t* out) {
  const DF d;
  const DI di;
  const VF xs = hn::Mul(x, scale);
  const VF y = kMirrored ? hn::Abs(xs) : hn::Max(xs, hn::Zero(d));
  // The binade (clamped biased exponent; the tables use its low 5 bits) gives the segment.
  const VI b =
      hn::Min(hn::Max(hn::ShiftRight<23>(hn::BitCast(di, y)), hn::Set(di, dq::VectorQuantTables::kMinExponent)),
              hn::Set(di, dq::VectorQuantTables::kMinExponent + 31));
  const auto above = hn::Ge(y, t.binade_hi(b));
  const auto tie = hn::Eq(y, t.binade_tie(b));
  const VI one = hn::Set(di, 1), seg0 = t.binade_seg(b);
  const VI seg = hn::IfThenElse(hn::RebindMask(di, above), hn::Add(seg0, one), seg0);
  // The cell [p, p + 1) of e; within kMargin of an edge the vector takes the exact path.
  const VF e = hn::Add(hn::Mul(y, t.slope(seg)), t.offset(seg)), h = t.hi(seg);
  const VF margin = hn::Set(d, dq::VectorQuantTables::kMargin);
  const VI p = Truncate(hn::Min(hn::Sub(e, margin), h));
  const VI p_up = Truncate(hn::Min(hn::Add(e, margin), h));
  const auto unsure = hn::Or(hn::RebindMask(di, tie), hn::Ne(p, p_up));
  if (HWY_UNLIKELY(!hn::AllFalse(di, unsure))) {
    HWY_ALIGN float xv[HWY_MAX_BYTES / 4], sv[HWY_MAX_BYTES / 4];
    HWY_ALIGN int32_t bv[HWY_MAX_BYTES / 4];
    hn::Store(x, d, xv), hn::Store(scale, d, sv), hn::Store(bump, di, bv);
    for (size_t i = 0; i < hn::Lanes(d); ++i) {
      const int32_t c = t.exact(xv[i] * sv[i]);
      out[i] = static_cast<uint8_t>(c + (kBump && c == bv[i] && xv[i] > 0.0f ? 1 : 0));
    }
    return;
  }
  VI q = p;
  if (kMirrored) {
    const auto neg = hn::RebindMask(di, hn::Lt(xs, hn::Zero(d)));
    q = hn::IfThenElse(neg, hn::Max(hn::Sub(hn::Set(di, 254), p), hn::Zero(di)), p);
  }
  if (kBump) {
    const auto bumped = hn::And(hn::Eq(q, bump), hn::RebindMask(di, hn::Gt(x, hn::Zero(d))));
    q = hn::IfThenElse(bumped, hn::Add(q, one), q);
  }
  StoreCodes(q, out);
}

HWY_INLINE VI LoadCodes(const uint8_t* in) { return hn::PromoteTo(DI(), hn::LoadU(D8(), in)); }

// The step's constants. The dequantization tables hold b1 cs[q] and b2 cu[q]
// (the products cpu_ref forms first), so bm, bv must outlive the context.
struct Adam8bitContext {
  Adam8bitContext(const Adam8bitStepParams& h, const float* bm, const float* bv)
      : cs(bm), cu(bv),
#if HWY_TARGET == HWY_AVX3_DL
        cs64(bm), cu64(bv),
#endif
        step(hn::Set(DF(), h.step)), rsbc2(hn::Set(DF(), h.rsbc2)), c1(hn::Set(DF(), 1.0f - h.beta1)),
        c2(hn::Set(DF(), 1.0f - h.beta2)), eps(hn::Set(DF(), h.eps)), wd(hn::Set(DF(), h.weight_decay)) {
  }
  Table256 cs, cu;
#if HWY_TARGET == HWY_AVX3_DL
  PlaneTable cs64, cu64;
#endif
  Quantizer qs{dq::SignedVectorTables(), dq::SignedQuantizer()};
  Quantizer qu{dq::UnsignedVectorTables(), dq::UnsignedQuantizer()};
  VF step, rsbc2, c1, c2, eps, wd;
};

// Entries updated per UpdateGroup call: 64 on AVX3_DL (one byte-plane
// lookup), else one vector.
HWY_INLINE size_t GroupSize() {
#if HWY_TARGET == HWY_AVX3_DL
  return 64;
#else
  return hn::Lanes(DF());
#endif
}

// One block's pass 1 state: the old absmax (am0, av0: dequantization
// scales) and the running max of the new moments' bit patterns. Locals of
// the block loop, so they live in registers.
struct BlockPass {
  VF am0, av0;
  hn::Vec<DU> max_m, max_v;
};
// The block's fp32 moments between pass 1 and pass 2.
struct BlockMoments {
  HWY_ALIGN float m[256];
  HWY_ALIGN float v[256];
};

// Pass 1 on the N entries from i: dequantized moments mq, vq -> fp32 Adam
// update of p, the new moments into s, their bit patterns into the maxima
// (entries from `valid` on are padding and stay out).
HWY_INLINE void Update(const Adam8bitContext& c, const float* g, float* p, VF mq, VF vq, BlockPass& s,
                       BlockMoments& mv, size_t i, size_t valid) {
  const DF d;
  const DU du;
  const VF pi = hn::LoadU(d, p + i);
  const VF gi = hn::Add(hn::LoadU(d, g + i), hn::Mul(c.wd, pi));
  const VF mj = hn::Add(hn::Mul(mq, s.am0), hn::Mul(c.c1, gi));  // mq = b1 cs[qm]
  const VF vj = hn::Add(hn::Mul(vq, s.av0), hn::Mul(hn::Mul(c.c2, gi), gi));
  const VF den = hn::Add(hn::Mul(hn::Sqrt(vj), c.rsbc2), c.eps);
  hn::StoreU(hn::Sub(pi, hn::Div(hn::Mul(c.step, mj), den)), d, p + i);
  hn::Store(mj, d, mv.m + i);
  hn::Store(vj, d, mv.v + i);
  auto bm = hn::BitCast(du, hn::Abs(mj)), bv = hn::BitCast(du, vj);
  if (i + hn::Lanes(d) > valid) {
    const auto keep = hn::FirstN(du, valid > i ? valid - i : 0);
    bm = hn::IfThenElseZero(keep, bm), bv = hn::IfThenElseZero(keep, bv);
  }
  s.max_m = hn::Max(s.max_m, bm), s.max_v = hn::Max(s.max_v, bv);
}

// Pass 1 on the GroupSize() entries from i.
HWY_INLINE void UpdateGroup(const Adam8bitContext& c, const float* g, float* p, const uint8_t* qm, const uint8_t* qv,
                            BlockPass& s, BlockMoments& mv, size_t i, size_t valid) {
#if HWY_TARGET == HWY_AVX3_DL
  VF mq[4], vq[4];
  c.cs64.Lookup(qm + i, mq);
  c.cu64.Lookup(qv + i, vq);
  for (size_t r = 0; r < 4; ++r) Update(c, g, p, mq[r], vq[r], s, mv, i + 16 * r, valid);
#else
  Update(c, g, p, c.cs(LoadCodes(qm + i)), c.cu(LoadCodes(qv + i)), s, mv, i, valid);
#endif
}

// A block between its passes: where its codes go and its inverse absmax.
struct PendingBlock {
  const BlockMoments* mv = nullptr;
  uint8_t *qm = nullptr, *qv = nullptr;
  VF im, iv;
  size_t n = 0;
};

// Pass 2 on the N entries from i: requantize (a positive v never takes the zero code).
HWY_INLINE void Requantize(const Adam8bitContext& c, const PendingBlock& b, size_t i) {
  const DF d;
  const DI di;
  QuantizeStore<true, false>(c.qs, hn::Load(d, b.mv->m + i), b.im, hn::Set(di, -1), b.qm + i);
  QuantizeStore<false, true>(c.qu, hn::Load(d, b.mv->v + i), b.iv, hn::Zero(di), b.qv + i);  // code of 0: 0
}

HWY_INLINE BlockPass StartBlock(float am, float av) {
  return {hn::Set(DF(), am), hn::Set(DF(), av), hn::Zero(DU()), hn::Zero(DU())};
}
// Ends pass 1: the new absmax into am/av, the block's pass 2 description.
HWY_INLINE PendingBlock FinishBlock(const BlockPass& s, const BlockMoments& mv, float& am, float& av, uint8_t* qm,
                                    uint8_t* qv, size_t n) {
  const DF d;
  const DU du;
  const float new_am = hn::GetLane(hn::BitCast(d, hn::MaxOfLanes(du, s.max_m)));
  const float new_av = hn::GetLane(hn::BitCast(d, hn::MaxOfLanes(du, s.max_v)));
  am = new_am, av = new_av;
  return {&mv, qm, qv, hn::Set(d, new_am > 0 ? 1.0f / new_am : 0.0f), hn::Set(d, new_av > 0 ? 1.0f / new_av : 0.0f), n};
}

// A ragged block (the last of a tensor, length not a multiple of the group):
// both passes on padded copies (padding: g = p = 0 and the codes of 0).
void RaggedBlock(const Adam8bitContext& c, const float* g, float* p, uint8_t* qm, uint8_t* qv, float& am, float& av,
                 size_t len) {
  const size_t G = GroupSize(), N = hn::Lanes(DF()), padded = (len + G - 1) / G * G;
  HWY_ALIGN float gp[256 + 64] = {}, pp[256 + 64] = {};
  uint8_t qmp[256 + 64], qvp[256 + 64] = {};
  std::memset(qmp, dq::SignedQuantizer()(0.0f), sizeof(qmp));
  std::memcpy(gp, g, len * sizeof(float));
  std::memcpy(pp, p, len * sizeof(float));
  std::memcpy(qmp, qm, len);
  std::memcpy(qvp, qv, len);
  BlockMoments mv;
  BlockPass s = StartBlock(am, av);
  for (size_t i = 0; i < padded; i += G) UpdateGroup(c, gp, pp, qmp, qvp, s, mv, i, len);
  const PendingBlock b = FinishBlock(s, mv, am, av, qmp, qvp, padded);
  for (size_t i = 0; i < padded; i += N) Requantize(c, b, i);
  std::memcpy(p, pp, len * sizeof(float));
  std::memcpy(qm, qmp, len);
  std::memcpy(qv, qvp, len);
}

// Full blocks are software-pipelined: pass 2 of block b - 1 (compares and
// permutes) runs inside the loop of pass 1 of block b (square root and
// divide), so the two keep different execution units busy: 1.40 against
// 1.55 ns/entry for block after block (AVX3_DL, 4M entries). Pass 2 of a
// block only touches its own codes and its moments' buffer (two buffers
// alternate); a ragged block runs both passes alone.
void Adam8bitStepImpl(const Adam8bitStepParams& h, const float* g, float* p, uint8_t* qm, uint8_t* qv, float* absm,
                      float* absv, size_t n) {
  const DF d;
  const size_t N = hn::Lanes(d), G = GroupSize(), block = static_cast<size_t>(h.block);
  HWY_ALIGN float bm[256], bv[256];
  for (size_t q = 0; q < 256; ++q) bm[q] = h.beta1 * dq::SignedMap()[q], bv[q] = h.beta2 * dq::UnsignedMap()[q];
  const Adam8bitContext c(h, bm, bv);
  BlockMoments mv[2];
  PendingBlock pending;  // n == 0: none
  for (size_t b0 = 0, blk = 0; b0 < n; b0 += block, ++blk) {
    const size_t len = std::min(block, n - b0);
    if (len % G != 0) {
      for (size_t i = 0; i < pending.n; i += N) Requantize(c, pending, i);
      pending.n = 0;
      RaggedBlock(c, g + b0, p + b0, qm + b0, qv + b0, absm[blk], absv[blk], len);
      continue;
    }
    BlockMoments& cur = mv[blk % 2];
    BlockPass s = StartBlock(absm[blk], absv[blk]);
    size_t r = 0;
    for (size_t i = 0; i < len; i += G) {
      UpdateGroup(c, g + b0, p + b0, qm + b0, qv + b0, s, cur, i, len);
      for (size_t k = 0; k < G && r < pending.n; k += N, r += N) Requantize(c, pending, r);
    }
    for (; r < pending.n; r += N) Requantize(c, pending, r);
    pending = FinishBlock(s, cur, absm[blk], absv[blk], qm + b0, qv + b0, len);
  }
  for (size_t i = 0; i < pending.n; i += N) Requantize(c, pending, i);
}

void DynamicQuantizeImpl(bool is_signed, const float* x, float scale, int32_t bump, uint8_t* q, size_t n) {
  const DF d;
  const DI di;
  const size_t N = hn::Lanes(d);
  const Quantizer qs(dq::SignedVectorTables(), dq::SignedQuantizer());
  const Quantizer qu(dq::UnsignedVectorTables(), dq::UnsignedQuantizer());
  const VF vs = hn::Set(d, scale);
  const VI vb = hn::Set(di, bump);
  for (size_t i = 0; i < n; i += N) {
    HWY_ALIGN float xp[HWY_MAX_BYTES / 4] = {};
    uint8_t qp[HWY_MAX_BYTES / 4];
    const size_t len = std::min(N, n - i);
    std::memcpy(xp, x + i, len * sizeof(float));
    const VF xv = hn::Load(d, xp);
    if (is_signed) QuantizeStore<true, true>(qs, xv, vs, vb, qp);
    else QuantizeStore<false, true>(qu, xv, vs, vb, qp);
    std::memcpy(q + i, qp, len);
  }
}

}  // namespace shoal::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace shoal::simd {

HWY_EXPORT(Adam8bitStepImpl);
HWY_EXPORT(DynamicQuantizeImpl);

void Adam8bitStep(const Adam8bitStepParams& h, const float* g, float* p, uint8_t* qm, uint8_t* qv, float* absm,
                  float* absv, size_t n) {
  HWY_DYNAMIC_DISPATCH(Adam8bitStepImpl)(h, g, p, qm, qv, absm, absv, n);
}
void DynamicQuantize(bool is_signed, const float* x, float scale, int32_t bump, uint8_t* q, size_t n) {
  HWY_DYNAMIC_DISPATCH(DynamicQuantizeImpl)(is_signed, x, scale, bump, q, n);
}

}  // namespace shoal::simd
#endif  // HWY_ONCE
