// Quantizers (shared/COMPRESSION.md §4-7), each with a bit-packed codec.
//
// QSGD (Alistarh et al., NeurIPS 2017, arXiv 1610.02132), method 7: per bucket
//   of B coordinates n = ||v||_2, level l_i = floor(s|v_i|/n) rounded up with
//   probability s|v_i|/n - l_i; Q(v)_i = n sign(v_i) l_i/s. Unbiased,
//   E||Q(v)-v||^2 <= min(B/s^2, sqrt(B)/s)||v||^2. Options {levels: 7, bucket: 512}.
//   Wire: all bucket norms (f32), then 1 sign bit + ceil(log2(s+1)) level bits per coordinate.
// TernGrad (Wen et al., NeurIPS 2017, arXiv 1705.07878), method 9: per tensor,
//   clip to +-c*std (c = clip_sigma, default 2.5, 0 = off; skipped when std = 0), s = max|g|,
//   g~_i = s sign(g_i) Bernoulli(|g_i|/s). Unbiased w.r.t. the clipped g.
//   Wire: per tensor f32 s, then 2 bits per coordinate (00 = 0, 01 = +1, 10 = -1).
// Scaled sign / EF-signSGD (Karimireddy et al., ICML 2019), method 10: per
//   tensor C(p) = (||p||_1/n) sign(p), sign(0) = +1; with error feedback
//   (default on). Wire: per tensor f32 scale, then 1 bit per coordinate (1 = non-negative).
// 8-bit block-wise absmax, method 11: per block of B (256) a = max|x|,
//   q_i = R(127 x_i/a) in [-127, 127], x_i = a q_i/127; R stochastic (default,
//   unbiased) or nearest-even (error <= a/254). Wire: per block f32 a + B int8.
// Randomness: the client's own stream (stochastic rounding is private).
#include <cmath>

#include "algorithms/transforms/bitpack.h"
#include "algorithms/transforms/compressor.h"

namespace shoal::compress {
namespace {

// [offset, size) of each tensor of the layout, or one segment when the
// vector does not match a layout (tests on bare vectors).
std::vector<std::pair<int64_t, int64_t>> Segments(const TransformContext& ctx, int64_t d) {
  std::vector<std::pair<int64_t, int64_t>> s;
  if (ctx.layout && ctx.layout->total_size() == d) {
    for (const TensorSpec& t : ctx.layout->tensors()) s.emplace_back(t.offset, t.size);
  } else if (d > 0) {
    s.emplace_back(0, d);
  }
  return s;
}

int LevelBits(int s) {
  int b = 0;
  while ((1 << b) < s + 1) ++b;
  return b;
}

class QsgdCodec final : public VectorCodec {
 public:
  QsgdCodec(int levels, int64_t bucket)
      : VectorCodec(wire::Method::kQuantized, MethodId::kQsgd, "qsgd", SeedScope::kNone), s_(levels), bucket_(bucket) {}

 protected:
  Status EncodePayload(std::span<const float> x, const TransformContext& ctx, const RngStream&, wire::Writer& w,
                       uint8_t*) const override {
    const int64_t d = static_cast<int64_t>(x.size());
    const int bits = LevelBits(s_);
    std::vector<float> norms;
    for (int64_t b0 = 0; b0 < d; b0 += bucket_) {
      double sq = 0;
      for (int64_t i = b0; i < std::min(d, b0 + bucket_); ++i) sq += double{x[static_cast<size_t>(i)]} * x[static_cast<size_t>(i)];
      norms.push_back(static_cast<float>(std::sqrt(sq)));
    }
    PutFloats(w, norms);
    WordSource u(Private(ctx).key());
    std::vector<uint8_t> packed;
    BitWriter bw(&packed);
    for (int64_t i = 0; i < d; ++i) {
      float n = norms[static_cast<size_t>(i / bucket_)], v = x[static_cast<size_t>(i)];
      uint32_t l = 0;
      if (n > 0) {
        double r = s_ * std::fabs(double{v}) / n;
        double fl = std::floor(r);
        l = static_cast<uint32_t>(fl) + (u.UniformAt(static_cast<uint64_t>(i)) < r - fl ? 1u : 0u);
        l = std::min<uint32_t>(l, static_cast<uint32_t>(s_));
      }
      bw.Put(v < 0 && l > 0 ? 1u : 0u, 1);
      bw.Put(l, bits);
    }
    bw.Finish();
    w.PutBytes(packed.data(), packed.size());
    return Status::Ok();
  }
  Status DecodePayload(wire::Reader& r, uint8_t, const TransformContext&, const RngStream&,
                       std::span<float> out) const override {
    const int64_t d = static_cast<int64_t>(out.size());
    const int bits = LevelBits(s_);
    std::vector<float> norms(static_cast<size_t>((d + bucket_ - 1) / bucket_));
    RETURN_IF_ERROR(GetFloats(r, norms, "bucket norm"));
    for (float n : norms) RETURN_IF_ERROR(CheckFloat(n, true, "bucket norm"));
    std::vector<uint8_t> packed(static_cast<size_t>((d * (1 + bits) + 7) / 8));
    RETURN_IF_ERROR(r.GetBytes(packed.data(), packed.size(), "levels"));
    BitReader br(packed);
    for (int64_t i = 0; i < d; ++i) {
      uint32_t sign = 0, l = 0;
      RETURN_IF_ERROR(br.Get(1, &sign, "sign"));
      RETURN_IF_ERROR(br.Get(bits, &l, "level"));
      if (l > static_cast<uint32_t>(s_))
        return InvalidArgument("QSGD level " + std::to_string(l) + " > s=" + std::to_string(s_) + " at coordinate " + std::to_string(i));
      float n = norms[static_cast<size_t>(i / bucket_)];
      out[static_cast<size_t>(i)] = (sign ? -1.0f : 1.0f) * n * static_cast<float>(l) / static_cast<float>(s_);
    }
    return br.ExpectZeroPadding("levels");
  }

 private:
  RngStream Private(const TransformContext& ctx) const { return RngStream(ctx.seed, ctx.round, ctx.client, RngPurpose::kCompress); }
  int s_;
  int64_t bucket_;
};

class TernGradCodec final : public VectorCodec {
 public:
  explicit TernGradCodec(double clip_sigma)
      : VectorCodec(wire::Method::kQuantized, MethodId::kTernGrad, "terngrad", SeedScope::kNone), clip_(clip_sigma) {}

 protected:
  Status EncodePayload(std::span<const float> x, const TransformContext& ctx, const RngStream&, wire::Writer& w,
                       uint8_t*) const override {
    auto segs = Segments(ctx, static_cast<int64_t>(x.size()));
    std::vector<float> g(x.begin(), x.end());
    std::vector<float> scales;
    for (auto [off, n] : segs) {
      std::span<float> t(g.data() + off, static_cast<size_t>(n));
      if (clip_ > 0) {
        double sum = 0, var = 0;
        for (float v : t) sum += v;
        const double mean = sum / static_cast<double>(n);
        for (float v : t) var += (v - mean) * (v - mean);
        // A constant layer (std 0) is left alone rather than clipped to 0.
        const float c = static_cast<float>(clip_ * std::sqrt(var / static_cast<double>(n)));
        if (c > 0)
          for (float& v : t) v = std::clamp(v, -c, c);
      }
      float s = 0;
      for (float v : t) s = std::max(s, std::fabs(v));
      scales.push_back(s);
    }
    PutFloats(w, scales);
    WordSource u(RngStream(ctx.seed, ctx.round, ctx.client, RngPurpose::kCompress).key());
    std::vector<uint8_t> packed;
    BitWriter bw(&packed);
    for (size_t j = 0; j < segs.size(); ++j) {
      auto [off, n] = segs[j];
      for (int64_t i = off; i < off + n; ++i) {
        float v = g[static_cast<size_t>(i)];
        bool keep = scales[j] > 0 && u.UniformAt(static_cast<uint64_t>(i)) < std::fabs(v) / scales[j];
        bw.Put(!keep ? 0u : v > 0 ? 1u : 2u, 2);
      }
    }
    bw.Finish();
    w.PutBytes(packed.data(), packed.size());
    return Status::Ok();
  }
  Status DecodePayload(wire::Reader& r, uint8_t, const TransformContext& ctx, const RngStream&,
                       std::span<float> out) const override {
    auto segs = Segments(ctx, static_cast<int64_t>(out.size()));
    std::vector<float> scales(segs.size());
    RETURN_IF_ERROR(GetFloats(r, scales, "tensor scale"));
    for (float s : scales) RETURN_IF_ERROR(CheckFloat(s, true, "tensor scale"));
    std::vector<uint8_t> packed(static_cast<size_t>((2 * out.size() + 7) / 8));
    RETURN_IF_ERROR(r.GetBytes(packed.data(), packed.size(), "trits"));
    BitReader br(packed);
    for (size_t j = 0; j < segs.size(); ++j)
      for (int64_t i = segs[j].first; i < segs[j].first + segs[j].second; ++i) {
        uint32_t t = 0;
        RETURN_IF_ERROR(br.Get(2, &t, "trit"));
        if (t == 3) return InvalidArgument("invalid trit 11 at coordinate " + std::to_string(i));
        out[static_cast<size_t>(i)] = t == 0 ? 0.0f : t == 1 ? scales[j] : -scales[j];
      }
    return br.ExpectZeroPadding("trits");
  }

 private:
  double clip_;
};

class ScaledSignCodec final : public VectorCodec {
 public:
  ScaledSignCodec() : VectorCodec(wire::Method::kSign, MethodId::kScaledSign, "sign", SeedScope::kNone) {}

 protected:
  Status EncodePayload(std::span<const float> x, const TransformContext& ctx, const RngStream&, wire::Writer& w,
                       uint8_t*) const override {
    auto segs = Segments(ctx, static_cast<int64_t>(x.size()));
    std::vector<float> scales;
    for (auto [off, n] : segs) {
      double l1 = 0;
      for (int64_t i = off; i < off + n; ++i) l1 += std::fabs(x[static_cast<size_t>(i)]);
      scales.push_back(static_cast<float>(l1 / static_cast<double>(n)));
    }
    PutFloats(w, scales);
    std::vector<uint8_t> packed;
    BitWriter bw(&packed);
    for (float v : x) bw.Put(v >= 0 ? 1u : 0u, 1);
    bw.Finish();
    w.PutBytes(packed.data(), packed.size());
    return Status::Ok();
  }
  Status DecodePayload(wire::Reader& r, uint8_t, const TransformContext& ctx, const RngStream&,
                       std::span<float> out) const override {
    auto segs = Segments(ctx, static_cast<int64_t>(out.size()));
    std::vector<float> scales(segs.size());
    RETURN_IF_ERROR(GetFloats(r, scales, "tensor scale"));
    for (float s : scales) RETURN_IF_ERROR(CheckFloat(s, true, "tensor scale"));
    std::vector<uint8_t> packed(static_cast<size_t>((out.size() + 7) / 8));
    RETURN_IF_ERROR(r.GetBytes(packed.data(), packed.size(), "sign bits"));
    BitReader br(packed);
    for (size_t j = 0; j < segs.size(); ++j)
      for (int64_t i = segs[j].first; i < segs[j].first + segs[j].second; ++i) {
        uint32_t b = 0;
        RETURN_IF_ERROR(br.Get(1, &b, "sign"));
        out[static_cast<size_t>(i)] = b ? scales[j] : -scales[j];
      }
    return br.ExpectZeroPadding("sign bits");
  }
};

class Int8Codec final : public VectorCodec {
 public:
  Int8Codec(int64_t block, bool stochastic)
      : VectorCodec(wire::Method::kQuantized, MethodId::kInt8, "int8", SeedScope::kNone), block_(block), stochastic_(stochastic) {}

 protected:
  Status EncodePayload(std::span<const float> x, const TransformContext& ctx, const RngStream&, wire::Writer& w,
                       uint8_t*) const override {
    const int64_t d = static_cast<int64_t>(x.size());
    WordSource u(RngStream(ctx.seed, ctx.round, ctx.client, RngPurpose::kCompress).key());
    std::vector<int8_t> q(static_cast<size_t>(block_));
    for (int64_t b0 = 0; b0 < d; b0 += block_) {
      const int64_t n = std::min(block_, d - b0);
      float a = 0;
      for (int64_t i = b0; i < b0 + n; ++i) a = std::max(a, std::fabs(x[static_cast<size_t>(i)]));
      for (int64_t i = 0; i < n; ++i) {
        float r = a > 0 ? 127.0f * x[static_cast<size_t>(b0 + i)] / a : 0.0f;
        float v = stochastic_ ? std::floor(r) + (u.UniformAt(static_cast<uint64_t>(b0 + i)) < r - std::floor(r) ? 1.0f : 0.0f)
                              : std::nearbyint(r);
        q[static_cast<size_t>(i)] = static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f));
      }
      w.Put<float>(a);
      w.PutBytes(q.data(), static_cast<size_t>(n));
    }
    return Status::Ok();
  }
  Status DecodePayload(wire::Reader& r, uint8_t, const TransformContext&, const RngStream&,
                       std::span<float> out) const override {
    const int64_t d = static_cast<int64_t>(out.size());
    std::vector<int8_t> q(static_cast<size_t>(block_));
    for (int64_t b0 = 0; b0 < d; b0 += block_) {
      const int64_t n = std::min(block_, d - b0);
      float a = 0;
      RETURN_IF_ERROR(r.Get(&a, "block absmax"));
      RETURN_IF_ERROR(CheckFloat(a, true, "block absmax"));
      RETURN_IF_ERROR(r.GetBytes(q.data(), static_cast<size_t>(n), "int8 block"));
      for (int64_t i = 0; i < n; ++i) {
        int8_t v = q[static_cast<size_t>(i)];
        if (v == -128) return InvalidArgument("int8 value -128 at coordinate " + std::to_string(b0 + i));
        if (a == 0 && v != 0) return InvalidArgument("nonzero int8 value in a block with absmax 0 at " + std::to_string(b0 + i));
        out[static_cast<size_t>(b0 + i)] = a * static_cast<float>(v) / 127.0f;
      }
    }
    return Status::Ok();
  }

 private:
  int64_t block_;
  bool stochastic_;
};

Result<std::shared_ptr<const UpdateTransform>> Wrap(const ConfigNode& n, std::shared_ptr<const VectorCodec> c, bool ef) {
  RETURN_IF_ERROR(n.status());
  return std::shared_ptr<const UpdateTransform>(std::make_shared<CompressTransform>(std::move(c), ef));
}

}  // namespace

Result<std::shared_ptr<const UpdateTransform>> MakeQsgd(const ConfigNode& n) {
  int s = n.Get<int>("levels", 7, [](const int& v) { return v >= 1 && v <= 65535; }, "in [1, 65535]");
  int64_t b = n.Get<int64_t>("bucket", 512, [](const int64_t& v) { return v >= 1; }, ">= 1");
  bool ef = n.Get<bool>("error_feedback", false);
  return Wrap(n, std::make_shared<QsgdCodec>(s, b), ef);
}

Result<std::shared_ptr<const UpdateTransform>> MakeTernGrad(const ConfigNode& n) {
  double c = n.Get<double>("clip_sigma", 2.5, [](const double& v) { return v >= 0; }, ">= 0 (0 = no clipping)");
  bool ef = n.Get<bool>("error_feedback", false);
  return Wrap(n, std::make_shared<TernGradCodec>(c), ef);
}

Result<std::shared_ptr<const UpdateTransform>> MakeScaledSign(const ConfigNode& n) {
  bool ef = n.Get<bool>("error_feedback", true);
  return Wrap(n, std::make_shared<ScaledSignCodec>(), ef);
}

Result<std::shared_ptr<const UpdateTransform>> MakeInt8(const ConfigNode& n) {
  int64_t b = n.Get<int64_t>("block", 256, [](const int64_t& v) { return v >= 1; }, ">= 1");
  std::string rounding = n.Get<std::string>("rounding", "stochastic",
                                            [](const std::string& v) { return v == "stochastic" || v == "nearest"; },
                                            "stochastic | nearest");
  bool ef = n.Get<bool>("error_feedback", false);
  return Wrap(n, std::make_shared<Int8Codec>(b, rounding == "stochastic"), ef);
}

}  // namespace shoal::compress
