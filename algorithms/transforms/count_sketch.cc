// Count sketch hashing and the FetchSGD upload codec (see count_sketch.h).
#include "algorithms/transforms/count_sketch.h"

#include <algorithm>

#include "algorithms/transforms/bitpack.h"

namespace shoal::compress {
namespace {

constexpr uint64_t kP = (uint64_t{1} << 61) - 1;

uint64_t Reduce(__uint128_t x) {
  uint64_t lo = static_cast<uint64_t>(x & kP), hi = static_cast<uint64_t>(x >> 61);
  uint64_t s = lo + (hi & kP) + (hi >> 61);
  while (s >= kP) s -= kP;
  return s;
}
uint64_t MulAdd(uint64_t a, uint64_t x, uint64_t b) { return Reduce(static_cast<__uint128_t>(a) * x + b); }

}  // namespace

CountSketchHash::CountSketchHash(int rows, int64_t cols, uint64_t run_seed) : rows_(rows), cols_(cols) {
  RngStream rng(run_seed, -1, -1, RngPurpose::kCompress);
  rng.set_position(1 << 20);  // away from other shared draws of this stream
  for (int r = 0; r < rows * 6; ++r) coef_.push_back(rng.NextBelow(kP));
}

int64_t CountSketchHash::Bucket(int r, uint64_t i) const {
  const uint64_t* c = &coef_[static_cast<size_t>(r) * 6];
  return static_cast<int64_t>(MulAdd(c[0], i % kP, c[1]) % static_cast<uint64_t>(cols_));
}

float CountSketchHash::Sign(int r, uint64_t i) const {
  const uint64_t* c = &coef_[static_cast<size_t>(r) * 6];
  uint64_t x = i % kP;
  uint64_t h = MulAdd(MulAdd(MulAdd(c[5], x, c[4]), x, c[3]), x, c[2]);
  return (h & 1u) ? 1.0f : -1.0f;
}

void CountSketchHash::Accumulate(std::span<const float> x, std::span<float> table) const {
  for (int r = 0; r < rows_; ++r) {
    float* row = table.data() + static_cast<size_t>(r) * static_cast<size_t>(cols_);
    for (size_t i = 0; i < x.size(); ++i)
      if (x[i] != 0.0f) row[Bucket(r, i)] += Sign(r, i) * x[i];
  }
}

void CountSketchHash::Estimate(std::span<const float> table, std::span<float> out) const {
  std::vector<float> v(static_cast<size_t>(rows_));
  for (size_t i = 0; i < out.size(); ++i) {
    for (int r = 0; r < rows_; ++r)
      v[static_cast<size_t>(r)] = Sign(r, i) * table[static_cast<size_t>(r) * static_cast<size_t>(cols_) + static_cast<size_t>(Bucket(r, i))];
    auto mid = v.begin() + rows_ / 2;
    std::nth_element(v.begin(), mid, v.end());
    out[i] = *mid;
  }
}

namespace {

class FetchSgdCodec final : public VectorCodec {
 public:
  FetchSgdCodec(int rows, int64_t cols)
      : VectorCodec(wire::Method::kSketch, MethodId::kFetchSgd, "fetchsgd", SeedScope::kNone), rows_(rows), cols_(cols) {}

 protected:
  int64_t DecodedSize(int64_t) const override { return int64_t{rows_} * cols_; }
  Status EncodePayload(std::span<const float> x, const TransformContext& ctx, const RngStream&, wire::Writer& w,
                       uint8_t*) const override {
    CountSketchHash h(rows_, cols_, ctx.seed);
    std::vector<float> table(static_cast<size_t>(h.table_size()), 0.0f);
    h.Accumulate(x, table);
    PutFloats(w, table);
    return Status::Ok();
  }
  Status DecodePayload(wire::Reader& r, uint8_t, const TransformContext&, const RngStream&,
                       std::span<float> out) const override {
    if (r.remaining() != out.size() * sizeof(float))
      return InvalidArgument("count sketch table of " + std::to_string(r.remaining()) + " bytes, expected 4*rows*cols=" +
                             std::to_string(4 * out.size()));
    return GetFloats(r, out, "count sketch table");
  }

 private:
  int rows_;
  int64_t cols_;
};

}  // namespace

Result<std::shared_ptr<const UpdateTransform>> MakeFetchSgdSketch(const ConfigNode& n) {
  int rows = n.Get<int>("rows", 5, [](const int& v) { return v >= 1 && v % 2 == 1 && v <= 63; }, "odd, in [1, 63] (median)");
  int64_t cols = n.Get<int64_t>("cols", 50000, [](const int64_t& v) { return v >= 1; }, ">= 1");
  RETURN_IF_ERROR(n.status());
  return std::shared_ptr<const UpdateTransform>(
      std::make_shared<CompressTransform>(std::make_shared<FetchSgdCodec>(rows, cols), false));
}

}  // namespace shoal::compress
