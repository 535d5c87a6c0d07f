// PowerSGD low-rank compression (Vogels, Karimireddy & Jaggi, NeurIPS 2019,
// arXiv 1905.13727; epfml/powersgd). shared/COMPRESSION.md §8.
//
// Each tensor with ndim >= 2 is viewed as M (n x m, n = dim0) and compressed
// when n m / (0.5 r (n + m)) > min_compression_rate; others travel as f32.
// Client, one power-iteration step with warm start and error feedback:
//   M = G + E;  P = M Q;  P <- orthonormalize(P) (Gram-Schmidt, columns with
//   norm < 1e-8 -> 0);  Q = M^T P;  send P, Q;  E <- M - P Q^T;  keep Q.
// Server: x^ = P Q^T per matrix. Q starts from a Gaussian drawn from the
// shared seed and is warm-started from the client's previous Q (ClientState).
// This is the single-exchange, per-client-factor variant: the spec's
// shared-factor form (server broadcasts P^, linear aggregation) is not
// implemented. Bytes: 4 r (n + m) per compressed matrix.
// Options: {rank: 2, min_compression_rate: 2, error_feedback: true}.
#include <cmath>

#include "algorithms/transforms/bitpack.h"
#include "algorithms/transforms/compressor.h"

namespace shoal::compress {
namespace {

struct Block {
  int64_t offset, n, m, r;  // r = 0: sent uncompressed
};

std::vector<Block> Plan(const ParamLayout& layout, int rank, double min_rate) {
  std::vector<Block> out;
  for (const TensorSpec& t : layout.tensors()) {
    Block b{t.offset, t.size, 1, 0};
    if (t.shape.size() >= 2 && t.size > 0) {
      b.n = t.shape[0];
      b.m = t.size / b.n;
      int64_t r = std::min<int64_t>({b.n, b.m, rank});
      if (static_cast<double>(t.size) / (0.5 * static_cast<double>(r * (b.n + b.m))) > min_rate) b.r = r;
    }
    out.push_back(b);
  }
  return out;
}

int64_t FactorSize(const std::vector<Block>& plan) {
  int64_t f = 0;
  for (const Block& b : plan) f += b.r ? b.r * (b.n + b.m) : b.n * b.m;
  return f;
}

void Orthonormalize(std::span<float> p, int64_t n, int64_t r) {
  for (int64_t c = 0; c < r; ++c) {
    for (int64_t k = 0; k < c; ++k) {
      double dot = 0;
      for (int64_t i = 0; i < n; ++i) dot += double{p[static_cast<size_t>(i * r + c)]} * p[static_cast<size_t>(i * r + k)];
      for (int64_t i = 0; i < n; ++i) p[static_cast<size_t>(i * r + c)] -= static_cast<float>(dot) * p[static_cast<size_t>(i * r + k)];
    }
    double sq = 0;
    for (int64_t i = 0; i < n; ++i) sq += double{p[static_cast<size_t>(i * r + c)]} * p[static_cast<size_t>(i * r + c)];
    double norm = std::sqrt(sq);
    float inv = norm < 1e-8 ? 0.0f : static_cast<float>(1.0 / norm);
    for (int64_t i = 0; i < n; ++i) p[static_cast<size_t>(i * r + c)] *= inv;
  }
}

Status CheckLayout(const TransformContext& ctx) {
  if (!ctx.layout || !ctx.backend) return FailedPrecondition("powersgd needs the model's ParamLayout and a backend");
  return Status::Ok();
}

class PowerSgdCodec final : public VectorCodec {
 public:
  PowerSgdCodec(int rank, double min_rate)
      : VectorCodec(wire::Method::kLowRank, MethodId::kPowerSgd, "powersgd", SeedScope::kNone), rank_(rank), min_rate_(min_rate) {}
  std::vector<Block> PlanFor(const ParamLayout& l) const { return Plan(l, rank_, min_rate_); }

 protected:
  int64_t DenseSize(const ClientUpdate& u, const TransformContext& ctx) const override {
    return ctx.layout ? ctx.layout->total_size() : static_cast<int64_t>(u.delta.size());
  }
  Status EncodePayload(std::span<const float> x, const TransformContext& ctx, const RngStream&, wire::Writer& w,
                       uint8_t*) const override {
    RETURN_IF_ERROR(CheckLayout(ctx));
    int64_t f = FactorSize(PlanFor(*ctx.layout));
    if (static_cast<int64_t>(x.size()) != f)
      return Internal("powersgd codec got " + std::to_string(x.size()) + " values, expected " + std::to_string(f) +
                      " factor values: the powersgd transform must run right before encoding");
    PutFloats(w, x);
    return Status::Ok();
  }
  Status DecodePayload(wire::Reader& r, uint8_t, const TransformContext& ctx, const RngStream&,
                       std::span<float> out) const override {
    RETURN_IF_ERROR(CheckLayout(ctx));
    if (ctx.layout->total_size() != static_cast<int64_t>(out.size()))
      return InvalidArgument("layout has " + std::to_string(ctx.layout->total_size()) + " parameters, update " + std::to_string(out.size()));
    std::vector<Block> plan = PlanFor(*ctx.layout);
    const int64_t f = FactorSize(plan);
    if (r.remaining() != static_cast<size_t>(f) * sizeof(float))
      return InvalidArgument("factor payload of " + std::to_string(r.remaining()) + " bytes, expected " + std::to_string(4 * f));
    std::vector<float> fac(static_cast<size_t>(f));
    RETURN_IF_ERROR(GetFloats(r, fac, "factors"));
    const float* p = fac.data();
    for (const Block& b : plan) {
      float* dst = out.data() + b.offset;
      if (!b.r) {
        std::copy(p, p + b.n * b.m, dst);
        p += b.n * b.m;
        continue;
      }
      ctx.backend->Gemm(false, true, b.n, b.m, b.r, 1.0f, p, b.r, p + b.n * b.r, b.r, 0.0f, dst, b.m);
      p += b.r * (b.n + b.m);
    }
    return Status::Ok();
  }

 private:
  int rank_;
  double min_rate_;
};

class PowerSgdTransform final : public UpdateTransform {
 public:
  PowerSgdTransform(std::shared_ptr<const PowerSgdCodec> codec, bool ef) : codec_(std::move(codec)), ef_(ef) {}
  std::string name() const override { return "powersgd"; }
  std::shared_ptr<const UpdateCodec> codec() const override { return codec_; }

  Status Apply(ClientUpdate& u, ClientState& state, const TransformContext& ctx) const override {
    RETURN_IF_ERROR(CheckLayout(ctx));
    const Backend& be = *ctx.backend;
    if (ctx.layout->total_size() != static_cast<int64_t>(u.delta.size()))
      return InvalidArgument("update has " + std::to_string(u.delta.size()) + " values, layout " + std::to_string(ctx.layout->total_size()));
    std::vector<Block> plan = codec_->PlanFor(*ctx.layout);
    std::vector<float> unused;
    std::vector<float>& e = ef_ ? state.tensors["compress.powersgd.residual"] : unused;
    std::vector<float>& q_all = state.tensors["compress.powersgd.q"];
    int64_t q_size = 0;
    for (const Block& b : plan) q_size += b.r * b.m;
    if (q_all.size() != static_cast<size_t>(q_size)) {
      // Same initial Q for every client: Gaussian from the run's shared stream.
      q_all.resize(static_cast<size_t>(q_size));
      RngStream init(ctx.seed, -1, -1, RngPurpose::kCompress);
      be.GaussianFill(init.key(), 0, 0.0f, 1.0f, q_all);
    }
    if (ef_) {
      if (e.size() != u.delta.size()) e.assign(u.delta.size(), 0.0f);
      be.Axpy(1.0f, e, u.delta);
    }
    std::vector<float> out;
    out.reserve(static_cast<size_t>(FactorSize(plan)));
    std::vector<float> approx;
    float* q = q_all.data();
    for (const Block& b : plan) {
      std::span<float> m(u.delta.data() + b.offset, static_cast<size_t>(b.n * b.m));
      if (!b.r) {
        out.insert(out.end(), m.begin(), m.end());
        if (ef_) std::fill(e.begin() + b.offset, e.begin() + b.offset + b.n * b.m, 0.0f);
        continue;
      }
      std::vector<float> p(static_cast<size_t>(b.n * b.r));
      be.Gemm(false, false, b.n, b.r, b.m, 1.0f, m.data(), b.m, q, b.r, 0.0f, p.data(), b.r);
      Orthonormalize(p, b.n, b.r);
      be.Gemm(true, false, b.m, b.r, b.n, 1.0f, m.data(), b.m, p.data(), b.r, 0.0f, q, b.r);
      out.insert(out.end(), p.begin(), p.end());
      out.insert(out.end(), q, q + b.m * b.r);
      if (ef_) {
        approx.resize(static_cast<size_t>(b.n * b.m));
        be.Gemm(false, true, b.n, b.m, b.r, 1.0f, p.data(), b.r, q, b.r, 0.0f, approx.data(), b.m);
        std::copy(m.begin(), m.end(), e.begin() + b.offset);
        be.Axpy(-1.0f, approx, std::span<float>(e.data() + b.offset, m.size()));
      }
      q += b.m * b.r;
    }
    u.delta = std::move(out);
    return Status::Ok();
  }

 private:
  std::shared_ptr<const PowerSgdCodec> codec_;
  bool ef_;
};

}  // namespace

Result<std::shared_ptr<const UpdateTransform>> MakePowerSgd(const ConfigNode& n) {
  int rank = n.Get<int>("rank", 2, [](const int& v) { return v >= 1; }, ">= 1");
  double rate = n.Get<double>("min_compression_rate", 2.0, [](const double& v) { return v >= 0; }, ">= 0");
  bool ef = n.Get<bool>("error_feedback", true);
  RETURN_IF_ERROR(n.status());
  return std::shared_ptr<const UpdateTransform>(
      std::make_shared<PowerSgdTransform>(std::make_shared<PowerSgdCodec>(rank, rate), ef));
}

}  // namespace shoal::compress
