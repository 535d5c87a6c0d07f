// Quantizers (shared/COMPRESSION.md §5-7), each with a bit-packed codec
// (QSGD, §4, is in qsgd.cc).
//
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

#include "core/backend.h"

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
    std::vector<uint8_t> packed((2 * x.size() + 7) / 8, 0);
    for (size_t j = 0; j < segs.size(); ++j) {
      auto [off, n] = segs[j];
      for (int64_t i = off; i < off + n; ++i) {
        float v = g[static_cast<size_t>(i)];
        bool keep = scales[j] > 0 && u.UniformAt(static_cast<uint64_t>(i)) < std::fabs(v) / scales[j];
        const uint32_t t = !keep ? 0u : v > 0 ? 1u : 2u;
        packed[static_cast<size_t>(i) >> 2] |= static_cast<uint8_t>(t << (2 * (i & 3)));
      }
    }
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
    RETURN_IF_ERROR(ExpectZeroPadBits(packed, 2 * out.size(), "trits"));
    for (size_t j = 0; j < segs.size(); ++j) {
      const float value[4] = {0.0f, scales[j], -scales[j], 0.0f};
      for (int64_t i = segs[j].first; i < segs[j].first + segs[j].second; ++i) {
        const uint32_t t = (packed[static_cast<size_t>(i) >> 2] >> (2 * (i & 3))) & 3u;
        if (t == 3) return InvalidArgument("invalid trit 11 at coordinate " + std::to_string(i));
        out[static_cast<size_t>(i)] = value[t];
      }
    }
    return Status::Ok();
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
    std::vector<uint8_t> packed((x.size() + 7) / 8, 0);
    for (size_t i = 0; i < x.size(); ++i) packed[i >> 3] |= static_cast<uint8_t>((x[i] >= 0 ? 1u : 0u) << (i & 7));
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
    RETURN_IF_ERROR(ExpectZeroPadBits(packed, out.size(), "sign bits"));
    for (size_t j = 0; j < segs.size(); ++j) {
      const float s = scales[j];
      const size_t end = static_cast<size_t>(segs[j].first + segs[j].second);
      // One byte at a time, held in a local: stores to `out` cannot alias it.
      for (size_t i = static_cast<size_t>(segs[j].first); i < end;) {
        const uint32_t byte = packed[i >> 3];
        for (const size_t stop = std::min(end, (i | 7) + 1); i < stop; ++i) out[i] = (byte >> (i & 7)) & 1u ? s : -s;
      }
    }
    return Status::Ok();
  }
};

class Int8Codec final : public VectorCodec {
 public:
  Int8Codec(int64_t block, bool stochastic)
      : VectorCodec(wire::Method::kQuantized, MethodId::kInt8, "int8", SeedScope::kNone),
        block_(block),
        stochastic_(stochastic) {}

 protected:
  // Stochastic rounding is the backend's QuantizeInt8 (its scale is a/127;
  // a = 127 * scale is the block's max|x| to within an ulp); nearest rounding
  // is a plain loop with a = max|x| exactly.
  Status EncodePayload(std::span<const float> x, const TransformContext& ctx, const RngStream&, wire::Writer& w,
                       uint8_t*) const override {
    const int64_t d = static_cast<int64_t>(x.size());
    const size_t nb = static_cast<size_t>((d + block_ - 1) / block_);
    std::vector<int8_t> q(x.size());
    std::vector<float> a(nb);
    if (stochastic_) {
      const Backend& be = ctx.backend ? *ctx.backend : *GetBackend("cpu_ref").value();
      RETURN_IF_ERROR(
          be.QuantizeInt8(x, block_, RngStream(ctx.seed, ctx.round, ctx.client, RngPurpose::kCompress).key(), 0, q, a));
      for (float& v : a) v *= 127.0f;
    } else {
      for (int64_t b0 = 0, b = 0; b0 < d; b0 += block_, ++b) {
        const int64_t n = std::min(block_, d - b0);
        float ab = 0;  // a local, not a[b]: the compiler cannot tell a from x
        for (int64_t i = b0; i < b0 + n; ++i) ab = std::max(ab, std::fabs(x[static_cast<size_t>(i)]));
        a[static_cast<size_t>(b)] = ab;
        for (int64_t i = b0; i < b0 + n; ++i) {
          const float r = ab > 0 ? 127.0f * x[static_cast<size_t>(i)] / ab : 0.0f;
          q[static_cast<size_t>(i)] = static_cast<int8_t>(std::clamp(std::nearbyint(r), -127.0f, 127.0f));
        }
      }
    }
    for (int64_t b0 = 0, b = 0; b0 < d; b0 += block_, ++b) {
      w.Put<float>(a[static_cast<size_t>(b)]);
      w.PutBytes(q.data() + b0, static_cast<size_t>(std::min(block_, d - b0)));
    }
    return Status::Ok();
  }
  Status DecodePayload(wire::Reader& r, uint8_t, const TransformContext&, const RngStream&,
                       std::span<float> out) const override {
    const int64_t d = static_cast<int64_t>(out.size());
    std::vector<int8_t> q(static_cast<size_t>(std::min(block_, d)));
    for (int64_t b0 = 0; b0 < d; b0 += block_) {
      const int64_t n = std::min(block_, d - b0);
      float a = 0;
      RETURN_IF_ERROR(r.Get(&a, "block absmax"));
      RETURN_IF_ERROR(CheckFloat(a, true, "block absmax"));
      RETURN_IF_ERROR(r.GetBytes(q.data(), static_cast<size_t>(n), "int8 block"));
      bool bad = false;  // checked after the (vectorisable) loop
      for (int64_t i = 0; i < n; ++i) {
        const int8_t v = q[static_cast<size_t>(i)];
        bad |= (v == -128) | ((a == 0) & (v != 0));
        out[static_cast<size_t>(b0 + i)] = a * static_cast<float>(v) / 127.0f;
      }
      if (!bad) continue;
      for (int64_t i = 0; i < n; ++i) {
        const int8_t v = q[static_cast<size_t>(i)];
        if (v == -128) return InvalidArgument("int8 value -128 at coordinate " + std::to_string(b0 + i));
        if (v != 0) return InvalidArgument("nonzero int8 value in a block with absmax 0 at " + std::to_string(b0 + i));
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
