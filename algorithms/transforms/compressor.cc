// Envelope of the compressed codecs, the bit-level helpers and the
// error-feedback transform (see compressor.h and bitpack.h).
#include "algorithms/transforms/compressor.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "algorithms/transforms/bitpack.h"

namespace shoal::compress {

void BitWriter::PutEliasGamma(uint64_t value) {
  const int n = 63 - __builtin_clzll(value);  // floor(log2 value)
  for (int z = n; z > 0; z -= 32) Put(0, std::min(z, 32));
  // The value's bits, most significant first: reverse them for LSB-first packing.
  for (int i = n; i >= 0;) {
    const int take = std::min(i + 1, 32);
    uint32_t chunk = 0;
    for (int k = 0; k < take; ++k, --i) chunk |= static_cast<uint32_t>((value >> i) & 1u) << k;
    Put(chunk, take);
  }
}

Status BitReader::GetEliasGamma(uint64_t* value, const char* what) {
  int zeros = 0;
  uint32_t bit = 0;
  for (;;) {
    RETURN_IF_ERROR(Get(1, &bit, what));
    if (bit) break;
    if (++zeros > 40) return InvalidArgument(std::string("compressed payload: Elias-gamma code too long in ") + what);
  }
  uint64_t v = 1;
  for (int i = 0; i < zeros; ++i) {
    RETURN_IF_ERROR(Get(1, &bit, what));
    v = (v << 1) | bit;
  }
  *value = v;
  return Status::Ok();
}

Status BitReader::ExpectZeroPadding(const char* what) const {
  if (b_.size() != (pos_ + 7) / 8)
    return InvalidArgument(std::string("compressed payload: ") + what + " has " +
                           std::to_string(b_.size() - (pos_ + 7) / 8) + " extra bytes");
  for (uint64_t p = pos_; p < b_.size() * 8; ++p)
    if ((b_[p >> 3] >> (p & 7)) & 1u)
      return InvalidArgument(std::string("compressed payload: nonzero pad bits after ") + what);
  return Status::Ok();
}

Status GetStrictVarint(wire::Reader& r, uint64_t* v, const char* what) {
  uint64_t x = 0;
  for (int i = 0; i < 10; ++i) {
    uint8_t byte = 0;
    RETURN_IF_ERROR(r.Get(&byte, what));
    if (i == 9 && byte > 1) return InvalidArgument(std::string("compressed payload: varint overflows 64 bits in ") + what);
    x |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if (!(byte & 0x80)) {
      if (i > 0 && byte == 0) return InvalidArgument(std::string("compressed payload: non-minimal varint in ") + what);
      *v = x;
      return Status::Ok();
    }
  }
  return InvalidArgument(std::string("compressed payload: varint longer than 10 bytes in ") + what);
}

namespace {
int VarintSize(uint64_t v) {
  int n = 1;
  while (v >= 0x80) v >>= 7, ++n;
  return n;
}
}  // namespace

int64_t IndexBytes(std::span<const int64_t> idx, int64_t d, bool* bitmap) {
  int64_t gaps = 0;
  for (size_t i = 0; i < idx.size(); ++i)
    gaps += VarintSize(static_cast<uint64_t>(i == 0 ? idx[0] : idx[i] - idx[i - 1] - 1));
  int64_t bm = (d + 7) / 8;
  *bitmap = bm < gaps;
  return *bitmap ? bm : gaps;
}

void PutIndices(wire::Writer& w, std::span<const int64_t> idx, int64_t d, bool* bitmap) {
  IndexBytes(idx, d, bitmap);
  if (*bitmap) {
    std::vector<uint8_t> bm(static_cast<size_t>((d + 7) / 8), 0);
    for (int64_t i : idx) bm[static_cast<size_t>(i >> 3)] |= static_cast<uint8_t>(1u << (i & 7));
    w.PutBytes(bm.data(), bm.size());
    return;
  }
  for (size_t i = 0; i < idx.size(); ++i) w.PutVarint(static_cast<uint64_t>(i == 0 ? idx[0] : idx[i] - idx[i - 1] - 1));
}

Status GetIndices(wire::Reader& r, int64_t k, int64_t d, bool bitmap, std::vector<int64_t>* idx) {
  idx->clear();
  idx->reserve(static_cast<size_t>(k));
  if (bitmap) {
    std::vector<uint8_t> bm(static_cast<size_t>((d + 7) / 8));
    RETURN_IF_ERROR(r.GetBytes(bm.data(), bm.size(), "index bitmap"));
    for (int64_t i = 0; i < static_cast<int64_t>(bm.size()) * 8; ++i)
      if ((bm[static_cast<size_t>(i >> 3)] >> (i & 7)) & 1u) {
        if (i >= d) return InvalidArgument("compressed payload: index bitmap sets bit " + std::to_string(i) + " >= d=" + std::to_string(d));
        idx->push_back(i);
      }
    if (static_cast<int64_t>(idx->size()) != k)
      return InvalidArgument("compressed payload: index bitmap has " + std::to_string(idx->size()) + " bits set, expected k=" + std::to_string(k));
    return Status::Ok();
  }
  int64_t prev = -1;
  for (int64_t i = 0; i < k; ++i) {
    uint64_t g = 0;
    RETURN_IF_ERROR(GetStrictVarint(r, &g, "index gap"));
    if (g >= static_cast<uint64_t>(d) || prev + 1 + static_cast<int64_t>(g) >= d)
      return InvalidArgument("compressed payload: index #" + std::to_string(i) + " out of range (d=" + std::to_string(d) + ")");
    prev = prev + 1 + static_cast<int64_t>(g);
    idx->push_back(prev);
  }
  return Status::Ok();
}

Status CheckFloat(float v, bool nonnegative, const char* what) {
  if (!std::isfinite(v)) return InvalidArgument(std::string("compressed payload: non-finite ") + what);
  if (nonnegative && v < 0) return InvalidArgument(std::string("compressed payload: negative ") + what);
  return Status::Ok();
}

Status GetFloats(wire::Reader& r, std::span<float> out, const char* what) {
  if (r.remaining() / sizeof(float) < out.size())
    return DataLoss(std::string("compressed payload truncated while reading ") + what);
  RETURN_IF_ERROR(r.GetBytes(out.data(), out.size() * sizeof(float), what));
  for (float v : out) RETURN_IF_ERROR(CheckFloat(v, false, what));
  return Status::Ok();
}

void PutFloats(wire::Writer& w, std::span<const float> v) { w.PutBytes(v.data(), v.size() * sizeof(float)); }

int64_t KeepCount(double density, int64_t d) {
  return std::clamp<int64_t>(static_cast<int64_t>(std::ceil(density * static_cast<double>(d))), 1, std::max<int64_t>(d, 1));
}

RngStream VectorCodec::Stream(const TransformContext& ctx) const {
  int64_t scope = scope_ == SeedScope::kClient ? ctx.client : -1;
  return RngStream(ctx.seed ^ (uint64_t{static_cast<uint8_t>(id_)} << 56), ctx.round, scope, RngPurpose::kCompress);
}

Result<std::vector<uint8_t>> VectorCodec::Encode(const ClientUpdate& u, const TransformContext& ctx) const {
  const int64_t d = DenseSize(u, ctx);
  RngStream rng = Stream(ctx);
  wire::Writer payload;
  uint8_t flags = 0;
  RETURN_IF_ERROR(EncodePayload(u.delta, ctx, rng, payload, &flags));
  if (scope_ != SeedScope::kNone) flags |= kFlagSeed;
  wire::Writer w;
  wire::WriteHeader(w, family_, u);
  w.Put<uint8_t>(static_cast<uint8_t>(id_));
  w.Put<uint8_t>(flags);
  w.PutVarint(static_cast<uint64_t>(d));
  w.PutVarint(static_cast<uint64_t>(std::max<int64_t>(ctx.round, 0)));
  if (flags & kFlagSeed) w.Put<uint64_t>(rng.key64());
  w.PutVarint(payload.bytes().size());
  w.PutBytes(payload.bytes().data(), payload.bytes().size());
  wire::WriteTrailer(w, u);
  return std::move(w.bytes());
}

Result<ClientUpdate> VectorCodec::Decode(std::span<const uint8_t> bytes, int64_t expected,
                                         const TransformContext& ctx) const {
  wire::Reader r(bytes);
  ClientUpdate u;
  RETURN_IF_ERROR(wire::ReadHeader(r, family_, &u));
  uint8_t method = 0, flags = 0;
  RETURN_IF_ERROR(r.Get(&method, "compression method"));
  if (method != static_cast<uint8_t>(id_))
    return InvalidArgument(name_ + " payload: method id " + std::to_string(method) + ", expected " +
                           std::to_string(static_cast<int>(id_)));
  RETURN_IF_ERROR(r.Get(&flags, "compression flags"));
  const uint8_t seed_flag = scope_ != SeedScope::kNone ? kFlagSeed : 0;
  if ((flags & ~(allowed_flags() | seed_flag)) || (flags & kFlagSeed) != seed_flag)
    return InvalidArgument(name_ + " payload: unexpected flags 0x" + std::to_string(flags));
  uint64_t d = 0, round = 0, len = 0;
  RETURN_IF_ERROR(GetStrictVarint(r, &d, "d"));
  if (d != static_cast<uint64_t>(expected))
    return InvalidArgument(name_ + " payload: d=" + std::to_string(d) + " but the model has " +
                           std::to_string(expected) + " parameters");
  RETURN_IF_ERROR(GetStrictVarint(r, &round, "round"));
  if (round != static_cast<uint64_t>(std::max<int64_t>(ctx.round, 0)))
    return InvalidArgument(name_ + " payload: round " + std::to_string(round) + ", expected " +
                           std::to_string(ctx.round));
  RngStream rng = Stream(ctx);
  if (flags & kFlagSeed) {
    uint64_t seed = 0;
    RETURN_IF_ERROR(r.Get(&seed, "seed"));
    if (seed != rng.key64())
      return InvalidArgument(name_ + " payload: seed does not match the one derived from the run seed");
  }
  RETURN_IF_ERROR(GetStrictVarint(r, &len, "payload_len"));
  if (len > r.remaining())
    return DataLoss(name_ + " payload: payload_len " + std::to_string(len) + " exceeds the " +
                    std::to_string(r.remaining()) + " bytes left");
  // The payload and the trailer are read in place, without copying.
  const size_t at = bytes.size() - r.remaining();
  wire::Reader pr(bytes.subspan(at, static_cast<size_t>(len)));
  u.delta.clear();
  u.delta.resize(static_cast<size_t>(DecodedSize(static_cast<int64_t>(d))));  // value-initialised: zeros
  RETURN_IF_ERROR(DecodePayload(pr, flags, ctx, rng, u.delta).WithContext(name_ + " payload"));
  if (pr.remaining() != 0)
    return InvalidArgument(name_ + " payload: " + std::to_string(pr.remaining()) + " unread bytes inside payload_len");
  wire::Reader tr(bytes.subspan(at + static_cast<size_t>(len)));
  RETURN_IF_ERROR(wire::ReadTrailer(tr, expected, &u));
  return u;
}

Status VectorCodec::RoundTrip(std::span<const float> x, const TransformContext& ctx, std::vector<float>* out) const {
  ClientUpdate u;
  u.delta.assign(x.begin(), x.end());
  ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, Encode(u, ctx));
  int64_t d = DenseSize(u, ctx);
  ASSIGN_OR_RETURN(ClientUpdate back, Decode(bytes, d, ctx));
  *out = std::move(back.delta);
  return Status::Ok();
}

Status CompressTransform::Apply(ClientUpdate& u, ClientState& state, const TransformContext& ctx) const {
  if (!error_feedback_) return Status::Ok();
  std::vector<float>& e = state.tensors[residual_key()];
  if (e.size() != u.delta.size()) e.assign(u.delta.size(), 0.0f);
  // p = delta + e is what gets compressed; the residual keeps p - D(C(p)).
  ctx.backend->Axpy(1.0f, e, u.delta);
  std::vector<float> sent;
  RETURN_IF_ERROR(codec_->RoundTrip(u.delta, ctx, &sent));
  e = u.delta;
  ctx.backend->Axpy(-1.0f, sent, e);
  if (step_ahead_ > 0) state.scalars[ClientState::kPreviewScaleKey] = step_ahead_;
  return Status::Ok();
}

}  // namespace shoal::compress

namespace shoal::compress {

std::vector<int64_t> SampleDistinctSorted(RngStream rng, int64_t n, int64_t k) {
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(k));
  if (k * 8 >= n) {
    // Selection sampling (Knuth's Algorithm S): one pass, sorted output.
    int64_t need = k;
    for (int64_t i = 0; i < n && need > 0; ++i)
      if (static_cast<int64_t>(rng.NextBelow(static_cast<uint64_t>(n - i))) < need) {
        out.push_back(i);
        --need;
      }
    return out;
  }
  // Floyd's algorithm: k draws, then sort.
  std::unordered_set<int64_t> seen;
  seen.reserve(static_cast<size_t>(2 * k));
  for (int64_t j = n - k; j < n; ++j) {
    int64_t t = static_cast<int64_t>(rng.NextBelow(static_cast<uint64_t>(j + 1)));
    int64_t pick = seen.insert(t).second ? t : j;
    if (pick == j) seen.insert(j);
    out.push_back(pick);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace shoal::compress
