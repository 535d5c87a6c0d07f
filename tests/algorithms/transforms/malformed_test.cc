// Malformed compressed payloads are rejected with a Status naming the
// problem, never a crash (COMPRESSION.md §9). Payloads are built by hand
// around a real envelope so each case breaks exactly one rule.
#include <cstring>

#include "tests/algorithms/transforms/compress_test_util.h"

namespace shoal::compress {
namespace {
using namespace testing;

// Offsets in the envelope for d < 128, round < 128 (one-byte varints):
// 32-byte common header, then method, flags, d, round, [seed u64], payload_len.
constexpr size_t kMethodAt = 32, kFlagsAt = 33, kDAt = 34;

struct Parts {
  std::vector<uint8_t> head;     // common header + method (before flags)
  uint8_t flags = 0;
  std::vector<uint8_t> middle;   // d, round, seed
  std::vector<uint8_t> payload;
  std::vector<uint8_t> trailer;
};

Parts Split(const std::vector<uint8_t>& b) {
  Parts p;
  p.head.assign(b.begin(), b.begin() + kFlagsAt);
  p.flags = b[kFlagsAt];
  size_t at = kDAt + 2 + ((p.flags & kFlagSeed) ? 8 : 0);
  p.middle.assign(b.begin() + kDAt, b.begin() + static_cast<long>(at));
  size_t len = b[at];  // one-byte payload_len in these tests
  p.payload.assign(b.begin() + static_cast<long>(at) + 1, b.begin() + static_cast<long>(at + 1 + len));
  p.trailer.assign(b.begin() + static_cast<long>(at + 1 + len), b.end());
  return p;
}

std::vector<uint8_t> Join(const Parts& p) {
  std::vector<uint8_t> b = p.head;
  b.push_back(p.flags);
  b.insert(b.end(), p.middle.begin(), p.middle.end());
  b.push_back(static_cast<uint8_t>(p.payload.size()));
  b.insert(b.end(), p.payload.begin(), p.payload.end());
  b.insert(b.end(), p.trailer.begin(), p.trailer.end());
  return b;
}

std::vector<uint8_t> Encode(const VectorCodec& c, const std::vector<float>& x, const TransformContext& ctx = Ctx()) {
  ClientUpdate u;
  u.delta = x;
  return c.Encode(u, ctx).value();
}

// Succeeds when decoding `b` at dimension d fails with an error containing
// `needle`; called through EXPECT_TRUE so a failure points at the case.
::testing::AssertionResult Rejected(const VectorCodec& c, const std::vector<uint8_t>& b, int64_t d,
                                    const std::string& needle, const TransformContext& ctx = Ctx()) {
  auto r = c.Decode(b, d, ctx);
  if (r.ok())
    return ::testing::AssertionFailure() << "accepted a malformed payload of " << b.size() << " bytes at d=" << d
                                         << "; expected an error containing '" << needle << "'";
  if (r.status().ToString().find(needle) == std::string::npos)
    return ::testing::AssertionFailure() << "error does not contain '" << needle << "': " << r.status().ToString();
  return ::testing::AssertionSuccess();
}

void PutF(std::vector<uint8_t>& v, float f) {
  uint8_t b[4];
  std::memcpy(b, &f, 4);
  v.insert(v.end(), b, b + 4);
}

const char* kAll[] = {"{name: topk, density: 0.1}", "{name: randk, density: 0.1}", "{name: qsgd}", "{name: terngrad}",
                      "{name: sign}", "{name: int8}", "{name: sketch, rows: 8}", "{name: sketch, family: countsketch, rows: 8}"};

TEST(Malformed, EveryTruncationIsRejected) {
  auto x = RandomVector(40, 20);
  for (const char* spec : kAll) {
    auto c = MakeCodec(spec);
    auto b = Encode(*c, x);
    ASSERT_TRUE(c->Decode(b, 40, Ctx()).ok()) << spec;
    for (size_t n = 0; n < b.size(); ++n)
      EXPECT_FALSE(c->Decode(std::span<const uint8_t>(b.data(), n), 40, Ctx()).ok()) << spec << " prefix " << n;
  }
}

TEST(Malformed, EnvelopeFieldsAreChecked) {
  auto x = RandomVector(40, 21);
  for (const char* spec : kAll) {
    SCOPED_TRACE(spec);
    auto c = MakeCodec(spec);
    auto b = Encode(*c, x);
    auto bad = b;
    bad[0] ^= 0xff;
    EXPECT_TRUE(Rejected(*c, bad, 40, "magic"));
    bad = b, bad[6] ^= 0x7;  // family id of the common header
    EXPECT_TRUE(Rejected(*c, bad, 40, "method id"));
    bad = b, bad[kMethodAt] = static_cast<uint8_t>(bad[kMethodAt] == 5 ? 6 : 5);
    EXPECT_TRUE(Rejected(*c, bad, 40, "method id"));
    bad = b, bad[kFlagsAt] |= 0x40;
    EXPECT_TRUE(Rejected(*c, bad, 40, "flags"));
    EXPECT_TRUE(Rejected(*c, b, 41, "d=40"));
    EXPECT_TRUE(Rejected(*c, b, 40, "round", Ctx(7, 4, 2)));
    bad = b, bad.push_back(0);
    EXPECT_TRUE(Rejected(*c, bad, 40, "trailing"));
    // Non-minimal varint for d: 40 written as 0xA8 0x00.
    bad.assign(b.begin(), b.begin() + kDAt);
    bad.push_back(0x80 | 40);
    bad.push_back(0);
    bad.insert(bad.end(), b.begin() + kDAt + 1, b.end());
    EXPECT_TRUE(Rejected(*c, bad, 40, "non-minimal"));
    // payload_len one larger than the payload actually is.
    Parts p = Split(b);
    auto joined = Join(p);
    ASSERT_EQ(joined, b);
    p.payload.push_back(0);
    EXPECT_TRUE(Rejected(*c, Join(p), 40, ""));
  }
}

TEST(Malformed, SeedMustMatchTheRunSeed) {
  auto c = MakeCodec("{name: randk, density: 0.1}");
  auto b = Encode(*c, RandomVector(40, 22));
  EXPECT_TRUE(Rejected(*c, b, 40, "seed", Ctx(8, 3, 2)));
  EXPECT_TRUE(Rejected(*c, b, 40, "seed", Ctx(7, 3, 5)));  // another client's seed
}

TEST(Malformed, SparseIndicesAreChecked) {
  auto c = MakeCodec("{name: topk, density: 0.02}");  // d = 50 -> k = 1
  Parts p = Split(Encode(*c, RandomVector(50, 23)));
  p.payload = {1, 50};  // k = 1, index 50 >= d
  PutF(p.payload, 1.0f);
  EXPECT_TRUE(Rejected(*c, Join(p), 50, "out of range"));
  p.payload = {2, 3, 0};  // k = 2 while density gives 1
  PutF(p.payload, 1.0f), PutF(p.payload, 1.0f);
  EXPECT_TRUE(Rejected(*c, Join(p), 50, "k=2"));
  p.flags |= kFlagBitmap;  // bitmap with two bits set for k = 1
  p.payload = {1, 0x05, 0, 0, 0, 0, 0, 0};
  PutF(p.payload, 1.0f);
  EXPECT_TRUE(Rejected(*c, Join(p), 50, "bits set"));
  p.payload = {1, 0, 0, 0, 0, 0, 0, 0x20};  // bit 53 >= d
  PutF(p.payload, 1.0f);
  EXPECT_TRUE(Rejected(*c, Join(p), 50, ">= d"));
  p.flags = 0;
  p.payload = {1, 3};
  PutF(p.payload, std::nanf(""));
  EXPECT_TRUE(Rejected(*c, Join(p), 50, "non-finite"));
}

TEST(Malformed, QuantizerCodesAreChecked) {
  {  // TernGrad trit 11.
    auto c = MakeCodec("{name: terngrad}");
    Parts p = Split(Encode(*c, RandomVector(4, 24)));
    p.payload.clear();
    PutF(p.payload, 1.0f);
    p.payload.push_back(0x03);
    EXPECT_TRUE(Rejected(*c, Join(p), 4, "trit"));
  }
  {  // int8 -128.
    auto c = MakeCodec("{name: int8}");
    Parts p = Split(Encode(*c, RandomVector(4, 25)));
    p.payload.clear();
    PutF(p.payload, 1.0f);
    p.payload.insert(p.payload.end(), {0, 0x80, 0, 0});
    EXPECT_TRUE(Rejected(*c, Join(p), 4, "-128"));
  }
  {  // QSGD level 7 > s = 4 (3 level bits).
    auto c = MakeCodec("{name: qsgd, levels: 4}");
    Parts p = Split(Encode(*c, RandomVector(2, 26)));
    p.payload.clear();
    PutF(p.payload, 1.0f);
    p.payload.push_back(0x0e);
    EXPECT_TRUE(Rejected(*c, Join(p), 2, "level 7"));
  }
  {  // Sign: nonzero pad bits, negative scale.
    auto c = MakeCodec("{name: sign}");
    Parts p = Split(Encode(*c, RandomVector(3, 27)));
    p.payload.clear();
    PutF(p.payload, 1.0f);
    p.payload.push_back(0x80);
    EXPECT_TRUE(Rejected(*c, Join(p), 3, "pad bits"));
    p.payload.clear();
    PutF(p.payload, -1.0f);
    p.payload.push_back(0x01);
    EXPECT_TRUE(Rejected(*c, Join(p), 3, "negative"));
  }
  {  // Sketch: wrong number of values.
    auto c = MakeCodec("{name: sketch, rows: 8}");
    Parts p = Split(Encode(*c, RandomVector(40, 28)));
    p.payload.resize(p.payload.size() - 4);
    EXPECT_TRUE(Rejected(*c, Join(p), 40, "expected 4b=32"));
  }
}

}  // namespace
}  // namespace shoal::compress
