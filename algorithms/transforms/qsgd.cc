// QSGD (Alistarh, Grubic, Li, Tomioka, Vojnovic, NeurIPS 2017, arXiv
// 1610.02132), shared/COMPRESSION.md §4. Per bucket of B coordinates
//   n = ||v||_2,  l_i = floor(s|v_i|/n), rounded up with probability s|v_i|/n - l_i,
//   Q(v)_i = n sign(v_i) l_i / s.
// Unbiased, E||Q(v) - v||^2 <= min(B/s^2, sqrt(B)/s) ||v||^2.
// Options {levels: 7 (s), bucket: 512 (B), coding: fixed | elias (default
// fixed), error_feedback: false}. Randomness: the client's private stream.
//
// Wire (payload), both codings: all bucket norms n (f32, finite, >= 0), then
//   fixed (method 7): per coordinate 1 sign bit (1 = negative, only with l > 0)
//     and ceil(log2(s+1)) level bits, LSB-first, zero pad bits.
//   elias (method 8, the paper's coding): varint K = number of non-zero
//     levels (K <= d, checked before anything is allocated), then for each
//     non-zero coordinate in increasing position: Elias-gamma of the gap from
//     the previous non-zero position (the first gap is position + 1, so every
//     gap >= 1), the sign bit, Elias-gamma of the level l in [1, s]; zero pad
//     bits. Elias-gamma(m) = floor(log2 m) zeros, then m in binary. It pays
//     off when most levels are 0 (s << sqrt(B)); the draws are the same as
//     with `fixed`, so both codings decode to the same vector.
// The paper codes with recursive Elias (omega) codes; COMPRESSION.md §4 fixes
// Elias-gamma for method 8, which Shoal follows.
#include <cmath>

#include "algorithms/transforms/bitpack.h"
#include "algorithms/transforms/compressor.h"

namespace shoal::compress {
namespace {

int LevelBits(int s) {
  int b = 0;
  while ((1 << b) < s + 1) ++b;
  return b;
}

class QsgdCodec final : public VectorCodec {
 public:
  QsgdCodec(int levels, int64_t bucket, bool elias)
      : VectorCodec(wire::Method::kQuantized, elias ? MethodId::kQsgdElias : MethodId::kQsgd,
                    elias ? "qsgd_elias" : "qsgd", SeedScope::kNone),
        s_(levels),
        bucket_(bucket),
        elias_(elias) {}

 protected:
  Status EncodePayload(std::span<const float> x, const TransformContext& ctx, const RngStream&, wire::Writer& w,
                       uint8_t*) const override {
    const int64_t d = static_cast<int64_t>(x.size());
    std::vector<float> norms = BucketNorms(x);
    PutFloats(w, norms);
    // Signed levels (sign in bit 0, level above), from the private stream.
    WordSource u(RngStream(ctx.seed, ctx.round, ctx.client, RngPurpose::kCompress).key());
    std::vector<uint32_t> code(static_cast<size_t>(d));
    int64_t nonzero = 0;
    for (int64_t b0 = 0, b = 0; b0 < d; b0 += bucket_, ++b) {
      const float n = norms[static_cast<size_t>(b)];
      const double s_over_n = n > 0 ? s_ / double{n} : 0.0;
      for (int64_t i = b0; i < std::min(d, b0 + bucket_); ++i) {
        const float v = x[static_cast<size_t>(i)];
        uint32_t l = 0;
        if (n > 0) {
          const double r = std::fabs(double{v}) * s_over_n, fl = std::floor(r);
          l = static_cast<uint32_t>(fl) + (u.UniformAt(static_cast<uint64_t>(i)) < r - fl ? 1u : 0u);
          l = std::min<uint32_t>(l, static_cast<uint32_t>(s_));
        }
        code[static_cast<size_t>(i)] = (l << 1) | (v < 0 && l > 0 ? 1u : 0u);
        nonzero += l > 0;
      }
    }
    std::vector<uint8_t> packed;
    if (elias_) {
      w.PutVarint(static_cast<uint64_t>(nonzero));
      BitWriter bw(&packed, static_cast<uint64_t>(nonzero) * 16);
      int64_t prev = -1;
      for (int64_t i = 0; i < d; ++i) {
        const uint32_t c = code[static_cast<size_t>(i)];
        if (c == 0) continue;
        bw.PutEliasGamma(static_cast<uint64_t>(i - prev));
        bw.Put(c & 1u, 1);
        bw.PutEliasGamma(c >> 1);
        prev = i;
      }
      bw.Finish();
    } else {
      const int bits = 1 + LevelBits(s_);
      BitWriter bw(&packed, static_cast<uint64_t>(d) * static_cast<uint64_t>(bits));
      for (uint32_t c : code) bw.Put(c, bits);
      bw.Finish();
    }
    w.PutBytes(packed.data(), packed.size());
    return Status::Ok();
  }

  Status DecodePayload(wire::Reader& r, uint8_t, const TransformContext&, const RngStream&,
                       std::span<float> out) const override {
    const int64_t d = static_cast<int64_t>(out.size());
    const int64_t nb = (d + bucket_ - 1) / bucket_;
    if (r.remaining() / sizeof(float) < static_cast<uint64_t>(nb))
      return DataLoss("QSGD payload of " + std::to_string(r.remaining()) + " bytes cannot hold " + std::to_string(nb) +
                      " bucket norms");
    std::vector<float> norms(static_cast<size_t>(nb));
    RETURN_IF_ERROR(GetFloats(r, norms, "bucket norm"));
    for (float n : norms) RETURN_IF_ERROR(CheckFloat(n, true, "bucket norm"));
    auto value = [&](int64_t i, uint32_t sign, uint32_t l) {
      const float n = norms[static_cast<size_t>(i / bucket_)];
      out[static_cast<size_t>(i)] = (sign ? -1.0f : 1.0f) * n * static_cast<float>(l) / static_cast<float>(s_);
    };
    if (elias_) {
      uint64_t k = 0;
      RETURN_IF_ERROR(GetStrictVarint(r, &k, "non-zero count"));
      if (k > static_cast<uint64_t>(d))
        return InvalidArgument("QSGD non-zero count " + std::to_string(k) + " exceeds d=" + std::to_string(d));
      std::vector<uint8_t> packed(r.remaining());
      RETURN_IF_ERROR(r.GetBytes(packed.data(), packed.size(), "elias levels"));
      BitReader br(packed);
      int64_t pos = -1;
      for (uint64_t j = 0; j < k; ++j) {
        uint64_t gap = 0, l = 0;
        uint32_t sign = 0;
        RETURN_IF_ERROR(br.GetEliasGamma(&gap, "position gap"));
        if (gap > static_cast<uint64_t>(d - 1 - pos))
          return InvalidArgument("QSGD non-zero #" + std::to_string(j) + " lies past d=" + std::to_string(d));
        pos += static_cast<int64_t>(gap);
        RETURN_IF_ERROR(br.Get(1, &sign, "sign"));
        RETURN_IF_ERROR(br.GetEliasGamma(&l, "level"));
        if (l > static_cast<uint64_t>(s_))
          return InvalidArgument("QSGD level " + std::to_string(l) + " > s=" + std::to_string(s_) + " at coordinate " +
                                 std::to_string(pos));
        value(pos, sign, static_cast<uint32_t>(l));
      }
      return br.ExpectZeroPadding("elias levels");
    }
    const int bits = 1 + LevelBits(s_);
    const uint64_t nbytes = (static_cast<uint64_t>(d) * static_cast<uint64_t>(bits) + 7) / 8;
    if (r.remaining() < nbytes)
      return DataLoss("QSGD levels: " + std::to_string(r.remaining()) + " bytes left, expected " +
                      std::to_string(nbytes));
    std::vector<uint8_t> packed(static_cast<size_t>(nbytes));
    RETURN_IF_ERROR(r.GetBytes(packed.data(), packed.size(), "levels"));
    BitReader br(packed);
    for (int64_t i = 0; i < d; ++i) {
      uint32_t c = 0;
      RETURN_IF_ERROR(br.Get(bits, &c, "level"));
      const uint32_t l = c >> 1;
      if (l > static_cast<uint32_t>(s_))
        return InvalidArgument("QSGD level " + std::to_string(l) + " > s=" + std::to_string(s_) + " at coordinate " +
                               std::to_string(i));
      value(i, c & 1u, l);
    }
    return br.ExpectZeroPadding("levels");
  }

 private:
  // ||bucket||_2 in double with four interleaved partial sums (a fixed order:
  // the same bytes on every backend and machine).
  std::vector<float> BucketNorms(std::span<const float> x) const {
    const size_t d = x.size(), B = static_cast<size_t>(bucket_);
    std::vector<float> norms;
    norms.reserve((d + B - 1) / B);
    for (size_t b0 = 0; b0 < d; b0 += B) {
      const size_t end = std::min(d, b0 + B);
      double acc[4] = {0, 0, 0, 0};
      size_t i = b0;
      for (; i + 4 <= end; i += 4)
        for (size_t k = 0; k < 4; ++k) acc[k] += double{x[i + k]} * double{x[i + k]};
      for (; i < end; ++i) acc[0] += double{x[i]} * double{x[i]};
      norms.push_back(static_cast<float>(std::sqrt((acc[0] + acc[1]) + (acc[2] + acc[3]))));
    }
    return norms;
  }

  int s_;
  int64_t bucket_;
  bool elias_;
};

}  // namespace

Result<std::shared_ptr<const UpdateTransform>> MakeQsgd(const ConfigNode& n) {
  int s = n.Get<int>(
      "levels", 7, [](const int& v) { return v >= 1 && v <= 65535; }, "in [1, 65535]");
  int64_t b = n.Get<int64_t>(
      "bucket", 512, [](const int64_t& v) { return v >= 1; }, ">= 1");
  std::string coding = n.Get<std::string>(
      "coding", "fixed", [](const std::string& v) { return v == "fixed" || v == "elias"; }, "fixed | elias");
  bool ef = n.Get<bool>("error_feedback", false);
  RETURN_IF_ERROR(n.status());
  return std::shared_ptr<const UpdateTransform>(
      std::make_shared<CompressTransform>(std::make_shared<QsgdCodec>(s, b, coding == "elias"), ef));
}

}  // namespace shoal::compress
