// The simulator's bytes_up equals the serialized payload sizes of the
// compression codecs (COMPRESSION.md §0: bytes_counted == serialized size).
#include <gtest/gtest.h>

#include <atomic>

#include "algorithms/transforms/compressor.h"
#include "sim/simulator.h"
#include "tests/sim/sim_fixture.h"

namespace shoal::sim {
namespace {

int VarintBytes(uint64_t v) {
  int n = 1;
  while (v >= 0x80) v >>= 7, ++n;
  return n;
}

std::vector<MetricsRow> RunRows(const std::string& pipeline) {
  const std::string yaml =
      "strategy: {name: fedavg, rounds: 3, clients_per_round: 4}\n"
      "client: {epochs: 1, batch_size: 5, optimizer: {name: sgd, lr: 0.1}, pipeline: " + pipeline + "}\n";
  auto exp = testing::MakeExperiment(testing::MakeBlobs(8, 20), "mlp", yaml);
  MemorySink sink;
  SimOptions o;
  o.threads = 2;
  o.seed = 5;
  Simulator simulator(exp, o, sink);
  auto sum = simulator.Run();
  EXPECT_TRUE(sum.ok()) << sum.status().ToString();
  return sink.rows;
}

TEST(ByteAccounting, UploadBytesAreTheSerializedSketchSizes) {
  auto exp = testing::MakeExperiment(testing::MakeBlobs(8, 20), "mlp",
                                     "strategy: {name: fedavg, rounds: 1, clients_per_round: 1}\n");
  const int64_t d = exp.model->num_params();
  const int64_t b = 100;
  auto dense = RunRows("[]");
  auto sketch = RunRows("[{name: sketch, family: countsketch, rows: 100}]");
  ASSERT_EQ(dense.size(), 3u);
  ASSERT_EQ(sketch.size(), 3u);
  for (size_t r = 0; r < 3; ++r) {
    const int64_t clients = *sketch[r].GetNumber("clients");
    ASSERT_EQ(clients, 4);
    ASSERT_EQ(*dense[r].GetNumber("clients"), 4);
    // Same common header and trailer; the dense body (u64 length + 4d) is
    // replaced by method, flags, varint d, varint round, u64 seed,
    // varint payload_len and 4b sketch values.
    const int64_t round = *sketch[r].GetNumber("round") - 1;
    const int64_t sketch_body = 1 + 1 + VarintBytes(d) + VarintBytes(round) + 8 + VarintBytes(4 * b) + 4 * b;
    EXPECT_EQ(*sketch[r].GetNumber("bytes_up"), *dense[r].GetNumber("bytes_up") + clients * (sketch_body - 8 - 4 * d));
  }
}

// Wraps a codec and sums the sizes of everything it encodes.
class RecordingCodec final : public UpdateCodec {
 public:
  explicit RecordingCodec(std::shared_ptr<const UpdateCodec> inner) : inner_(std::move(inner)) {}
  std::string name() const override { return inner_->name(); }
  Result<std::vector<uint8_t>> Encode(const ClientUpdate& u, const TransformContext& ctx) const override {
    auto b = inner_->Encode(u, ctx);
    if (b.ok()) total += static_cast<int64_t>(b->size()), ++count;
    return b;
  }
  Result<ClientUpdate> Decode(std::span<const uint8_t> bytes, int64_t d, const TransformContext& ctx) const override {
    return inner_->Decode(bytes, d, ctx);
  }
  mutable std::atomic<int64_t> total{0}, count{0};

 private:
  std::shared_ptr<const UpdateCodec> inner_;
};

class Recorded final : public UpdateTransform {
 public:
  Recorded(std::shared_ptr<const UpdateTransform> t, std::shared_ptr<const RecordingCodec> c) : t_(std::move(t)), c_(std::move(c)) {}
  std::string name() const override { return t_->name(); }
  Status Apply(ClientUpdate& u, ClientState& s, const TransformContext& ctx) const override { return t_->Apply(u, s, ctx); }
  std::shared_ptr<const UpdateCodec> codec() const override { return c_; }

 private:
  std::shared_ptr<const UpdateTransform> t_;
  std::shared_ptr<const RecordingCodec> c_;
};

TEST(ByteAccounting, ContentDependentSizesEqualTheEncodedBytes) {
  // Top-k (varint gaps depend on the data) and QSGD, with error feedback.
  for (const char* entry : {"[{name: topk, density: 0.05}]", "[{name: qsgd, levels: 3, error_feedback: true}]"}) {
    const std::string yaml =
        "strategy: {name: fedavg, rounds: 3, clients_per_round: 4}\n"
        "client: {epochs: 1, batch_size: 5, optimizer: {name: sgd, lr: 0.1}, pipeline: " + std::string(entry) + "}\n";
    auto exp = testing::MakeExperiment(testing::MakeBlobs(8, 20), "mlp", yaml);
    auto inner = exp.algorithm.pipeline->transforms().at(0);
    auto rec = std::make_shared<const RecordingCodec>(inner->codec());
    exp.algorithm.pipeline = std::make_shared<const UpdatePipeline>(
        std::vector<std::shared_ptr<const UpdateTransform>>{std::make_shared<Recorded>(inner, rec)});
    MemorySink sink;
    SimOptions o;
    o.threads = 2;
    o.seed = 5;
    Simulator simulator(exp, o, sink);
    auto sum = simulator.Run();
    ASSERT_TRUE(sum.ok()) << sum.status().ToString();
    int64_t reported = 0;
    for (const auto& r : sink.rows) reported += *r.GetNumber("bytes_up");
    // One encode per upload (the error-feedback round trip calls the inner codec directly).
    EXPECT_EQ(rec->count.load(), 12) << entry;
    EXPECT_EQ(reported, rec->total.load()) << entry;
    EXPECT_EQ(sum->bytes_up, reported);
    EXPECT_LT(reported, 12 * 4 * exp.model->num_params() / 4) << "compressed uploads are smaller than a quarter of dense";
  }
}

}  // namespace
}  // namespace shoal::sim
