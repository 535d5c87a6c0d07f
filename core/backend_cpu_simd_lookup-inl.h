// In-register table lookups for the cpu_simd 8-bit Adam kernel
// (backend_cpu_simd_adam8bit.cc); a Highway per-target header, included from
// inside foreach_target translation units (hence the toggle guard).
// On AVX-512 the tables sit in registers: Table256 is 8 two-register
// permutes (vpermt2ps) selected by index bits 5..7, Table32 one permute,
// Table16 one vpermps; on AVX3_DL PlaneTable looks up 64 byte indices at
// once in the 4 byte planes of a 256-float table (VBMI vpermi2b). Other
// targets gather from the table in memory, which must outlive the object.
#if defined(SHOAL_CORE_BACKEND_CPU_SIMD_LOOKUP_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SHOAL_CORE_BACKEND_CPU_SIMD_LOOKUP_INL_H_
#undef SHOAL_CORE_BACKEND_CPU_SIMD_LOOKUP_INL_H_
#else
#define SHOAL_CORE_BACKEND_CPU_SIMD_LOOKUP_INL_H_
#endif

#include <hwy/highway.h>

#include <cstdint>
#include <cstring>

HWY_BEFORE_NAMESPACE();
namespace shoal::simd::HWY_NAMESPACE::lookup {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using DI = hn::RebindToSigned<DF>;
using VF = hn::Vec<DF>;
using VI = hn::Vec<DI>;

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
// 256 floats in 16 registers; t[i] for i in [0, 256).
class Table256 {
 public:
  explicit Table256(const float* t) {
    for (int i = 0; i < 16; ++i) r_[i] = _mm512_loadu_ps(t + 16 * i);
  }
  HWY_INLINE VF operator()(VI idx) const {
    const __m512i x = idx.raw;
    const __m512 a0 = _mm512_permutex2var_ps(r_[0], x, r_[1]), a1 = _mm512_permutex2var_ps(r_[2], x, r_[3]);
    const __m512 a2 = _mm512_permutex2var_ps(r_[4], x, r_[5]), a3 = _mm512_permutex2var_ps(r_[6], x, r_[7]);
    const __m512 a4 = _mm512_permutex2var_ps(r_[8], x, r_[9]), a5 = _mm512_permutex2var_ps(r_[10], x, r_[11]);
    const __m512 a6 = _mm512_permutex2var_ps(r_[12], x, r_[13]), a7 = _mm512_permutex2var_ps(r_[14], x, r_[15]);
    // Index bits 5..7 moved to the sign bit: vpmovd2m runs beside the permutes, not on their port.
    const __mmask16 k5 = _mm512_movepi32_mask(_mm512_slli_epi32(x, 26));
    const __mmask16 k6 = _mm512_movepi32_mask(_mm512_slli_epi32(x, 25));
    const __mmask16 k7 = _mm512_movepi32_mask(_mm512_slli_epi32(x, 24));
    const __m512 b0 = _mm512_mask_blend_ps(k5, a0, a1), b1 = _mm512_mask_blend_ps(k5, a2, a3);
    const __m512 b2 = _mm512_mask_blend_ps(k5, a4, a5), b3 = _mm512_mask_blend_ps(k5, a6, a7);
    const __m512 c0 = _mm512_mask_blend_ps(k6, b0, b1), c1 = _mm512_mask_blend_ps(k6, b2, b3);
    return VF{_mm512_mask_blend_ps(k7, c0, c1)};
  }

 private:
  __m512 r_[16];
};
// 32 lanes of D's type (float or int32) in two registers; t[i & 31]. The
// permute moves bits, so ints ride in float registers unchanged.
template <class D>
class Table32Of {
 public:
  explicit Table32Of(const hn::TFromD<D>* t)
      : lo_(hn::BitCast(DF(), hn::LoadU(D(), t))), hi_(hn::BitCast(DF(), hn::LoadU(D(), t + 16))) {}
  HWY_INLINE hn::Vec<D> operator()(VI idx) const {
    return hn::BitCast(D(), VF{_mm512_permutex2var_ps(lo_.raw, idx.raw, hi_.raw)});
  }

 private:
  VF lo_, hi_;
};
// 16 floats in one register; t[i] for i in [0, 16).
class Table16 {
 public:
  explicit Table16(const float* t) : v_(hn::LoadU(DF(), t)) {}
  HWY_INLINE VF operator()(VI idx) const { return hn::TableLookupLanes(v_, hn::IndicesFromVec(DF(), idx)); }

 private:
  VF v_;
};
#else
// Other targets: gathers from the table in memory (must outlive the object).
class Table256 {
 public:
  explicit Table256(const float* t) : t_(t) {}
  HWY_INLINE VF operator()(VI idx) const { return hn::GatherIndex(DF(), t_, idx); }

 private:
  const float* t_;
};
using Table16 = Table256;
template <class D>
class Table32Of {
 public:
  explicit Table32Of(const hn::TFromD<D>* t) : t_(t) {}
  HWY_INLINE hn::Vec<D> operator()(VI idx) const { return hn::GatherIndex(D(), t_, hn::And(idx, hn::Set(DI(), 31))); }

 private:
  const hn::TFromD<D>* t_;
};
#endif
using Table32 = Table32Of<DF>;   // 32 floats
using Table32I = Table32Of<DI>;  // 32 int32

#if HWY_TARGET == HWY_AVX3_DL
// A 256-float table as 4 byte planes in 16 registers: 64 byte indices per
// lookup (VBMI vpermi2b; bit 7 picks the half), about 6 uops per 16 floats
// against 25 for Table256.
class PlaneTable {
 public:
  explicit PlaneTable(const float* t) {
    alignas(64) uint8_t planes[4][256];
    for (int c = 0; c < 256; ++c) {
      uint32_t bits;
      std::memcpy(&bits, t + c, 4);
      for (int k = 0; k < 4; ++k) planes[k][c] = static_cast<uint8_t>(bits >> (8 * k));
    }
    for (int k = 0; k < 4; ++k)
      for (int j = 0; j < 4; ++j) r_[k][j] = _mm512_load_si512(planes[k] + 64 * j);
    // Codes are permuted so that the byte-plane unpacks (which interleave
    // within 128-bit lanes) leave element 16 r + i in lane i of out[r].
    alignas(64) uint8_t perm[64];
    for (int lane = 0; lane < 4; ++lane)
      for (int t = 0; t < 16; ++t) perm[16 * lane + t] = static_cast<uint8_t>(16 * (t / 4) + 4 * lane + t % 4);
    perm_ = _mm512_load_si512(perm);
  }
  // out[r] lane i = t[codes[16 r + i]], r < 4.
  HWY_INLINE void Lookup(const uint8_t* codes, VF out[4]) const {
    const __m512i c = _mm512_permutexvar_epi8(perm_, _mm512_loadu_si512(codes));
    const __mmask64 top = _mm512_movepi8_mask(c);
    __m512i b[4];
    for (int k = 0; k < 4; ++k)
      b[k] = _mm512_mask_blend_epi8(top, _mm512_permutex2var_epi8(r_[k][0], c, r_[k][1]),
                                    _mm512_permutex2var_epi8(r_[k][2], c, r_[k][3]));
    const __m512i w01lo = _mm512_unpacklo_epi8(b[0], b[1]), w01hi = _mm512_unpackhi_epi8(b[0], b[1]);
    const __m512i w23lo = _mm512_unpacklo_epi8(b[2], b[3]), w23hi = _mm512_unpackhi_epi8(b[2], b[3]);
    out[0] = VF{_mm512_castsi512_ps(_mm512_unpacklo_epi16(w01lo, w23lo))};
    out[1] = VF{_mm512_castsi512_ps(_mm512_unpackhi_epi16(w01lo, w23lo))};
    out[2] = VF{_mm512_castsi512_ps(_mm512_unpacklo_epi16(w01hi, w23hi))};
    out[3] = VF{_mm512_castsi512_ps(_mm512_unpackhi_epi16(w01hi, w23hi))};
  }

 private:
  __m512i r_[4][4];
  __m512i perm_;
};
#endif

}  // namespace shoal::simd::HWY_NAMESPACE::lookup
HWY_AFTER_NAMESPACE();

#endif  // SHOAL_CORE_BACKEND_CPU_SIMD_LOOKUP_INL_H_
