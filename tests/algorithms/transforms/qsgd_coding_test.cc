// QSGD's two level codings (COMPRESSION.md §4): fixed width (method 7) and
// Elias-gamma (method 8). The payloads of a hand-built sparse vector are
// derived bit by bit below; random vectors check that both codings carry the
// same draws.
#include "tests/algorithms/transforms/compress_test_util.h"

namespace shoal::compress {
namespace {
using namespace testing;

// Envelope of these tests (d < 128, round 3, no seed): 32-byte common header,
// method, flags, d, round, payload_len (one byte each), payload, trailer.
constexpr size_t kLenAt = 36;

std::vector<uint8_t> Encode(const VectorCodec& c, const std::vector<float>& x) {
  ClientUpdate u;
  u.delta = x;
  return c.Encode(u, Ctx()).value();
}

std::vector<uint8_t> Payload(const std::vector<uint8_t>& msg) {
  const size_t len = msg.at(kLenAt);
  return {msg.begin() + kLenAt + 1, msg.begin() + static_cast<long>(kLenAt + 1 + len)};
}

// v = 3 e_2 - 4 e_15 in R^16, one bucket: n = 5, and with s = 5 the levels
// s|v_i|/n = 3 and 4 are integers, so the stochastic rounding is exact.
std::vector<float> Sparse() {
  std::vector<float> v(16, 0.0f);
  v[2] = 3.0f;
  v[15] = -4.0f;
  return v;
}

TEST(QsgdCoding, FixedPayloadOfASparseVectorIsHandDerived) {
  auto c = MakeCodec("{name: qsgd, levels: 5, bucket: 16}");
  auto msg = Encode(*c, Sparse());
  // n = 5.0f = 0x40A00000; 1 sign + ceil(log2 6) = 3 level bits per coordinate,
  // code = level << 1 | sign: coordinate 2 -> 6 (low nibble of byte 1),
  // coordinate 15 -> 4 << 1 | 1 = 9 (high nibble of byte 7).
  EXPECT_EQ(Payload(msg), (std::vector<uint8_t>{0x00, 0x00, 0xA0, 0x40, 0x00, 0x06, 0, 0, 0, 0, 0, 0x90}));
  EXPECT_EQ(RoundTrip(*c, Sparse(), Ctx()), Sparse());
}

TEST(QsgdCoding, EliasPayloadOfASparseVectorIsHandDerivedAndSmaller) {
  auto fixed = MakeCodec("{name: qsgd, levels: 5, bucket: 16}");
  auto elias = MakeCodec("{name: qsgd, levels: 5, bucket: 16, coding: elias}");
  EXPECT_EQ(elias->method(), MethodId::kQsgdElias);
  auto msg = Encode(*elias, Sparse());
  // n, varint K = 2, then LSB-first bits:
  //   coordinate 2:  gamma(gap 3) = 0 11, sign 0, gamma(level 3) = 0 11   -> bits 0-6
  //   coordinate 15: gamma(gap 13) = 000 1101, sign 1, gamma(4) = 00 100 -> bits 7-19
  // byte 0 = bits 1,2,5,6 = 0x66; byte 1 = bits 10,11,13,14 = 0x6C; byte 2 = bit 17 = 0x02.
  EXPECT_EQ(Payload(msg), (std::vector<uint8_t>{0x00, 0x00, 0xA0, 0x40, 0x02, 0x66, 0x6C, 0x02}));
  // 8 payload bytes against 12: the messages differ by exactly those 4.
  EXPECT_EQ(Encode(*fixed, Sparse()).size() - msg.size(), 4u);
  EXPECT_EQ(RoundTrip(*elias, Sparse(), Ctx()), Sparse());
}

TEST(QsgdCoding, BothCodingsDecodeToTheSameDraws) {
  for (int s : {1, 3, 7, 300}) {
    SCOPED_TRACE(s);
    auto x = RandomVector(1000, 40 + static_cast<uint64_t>(s));
    const std::string opts = "levels: " + std::to_string(s) + ", bucket: 64";
    auto fixed = MakeCodec("{name: qsgd, " + opts + "}");
    auto elias = MakeCodec("{name: qsgd, coding: elias, " + opts + "}");
    for (int round = 0; round < 3; ++round) {
      auto a = RoundTrip(*fixed, x, Ctx(9, round, 1));
      auto b = RoundTrip(*elias, x, Ctx(9, round, 1));
      EXPECT_EQ(a, b);
    }
  }
}

TEST(QsgdCoding, EliasIsSmallerOnlyWhenLevelsAreMostlyZero) {
  // s = 1, B = 512: about ||v||_1 / ||v||_2 ~ sqrt(2B/pi) = 18 non-zeros per
  // bucket, so Elias codes ~18 x (gap ~ 2 log2(28) + sign + 1) bits against
  // 2 bits x 512: several times smaller. s = 65535: every level is non-zero
  // and ~2^11, gamma(l) takes ~23 bits against 1 + 16 fixed: fixed width wins.
  auto x = RandomVector(4096, 50);
  auto size = [&](const std::string& spec) { return Encode(*MakeCodec(spec), x).size(); };
  EXPECT_LT(3 * size("{name: qsgd, levels: 1, coding: elias}"), size("{name: qsgd, levels: 1}"));
  EXPECT_GT(size("{name: qsgd, levels: 65535, coding: elias}"), size("{name: qsgd, levels: 65535}"));
}

TEST(QsgdCoding, MalformedEliasStreamsAreRejected) {
  auto elias = MakeCodec("{name: qsgd, levels: 5, bucket: 16, coding: elias}");
  auto msg = Encode(*elias, Sparse());
  const size_t p = kLenAt + 1;  // payload start: norm (4 bytes), K, bits
  auto expect = [&](std::vector<uint8_t> m, const std::string& needle) {
    auto r = elias->Decode(m, 16, Ctx());
    ASSERT_FALSE(r.ok()) << needle;
    EXPECT_NE(r.status().ToString().find(needle), std::string::npos) << r.status().ToString();
  };
  auto bad = msg;
  bad[p + 4] = 17;  // K = 17 > d
  expect(bad, "exceeds d=16");
  bad = msg;
  bad[p + 4] = 3;  // a third non-zero that the bits do not hold
  expect(bad, "truncated");
  bad = msg;
  bad[p + 5] = 0x60;  // first gap gamma(3) -> 0 0 0 ... : gap 24 > d
  expect(bad, "");
  bad = msg;
  bad[p + 7] = 0x06;  // level gamma(4) "00 100" -> "00 110" (bits 17, 18) = 6 > s
  expect(bad, "level 6 > s=5");
  bad = msg;
  bad[p + 7] |= 0x80;  // a pad bit
  expect(bad, "pad bits");
}

TEST(QsgdCoding, UnknownCodingIsAnOptionError) {
  auto root = ConfigNode::Parse("client: {pipeline: [{name: qsgd, coding: huffman}]}", "t.yaml").value();
  auto p = ParsePipeline(root.Child("client"));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().ToString().find("fixed | elias"), std::string::npos) << p.status().ToString();
}

}  // namespace
}  // namespace shoal::compress
