// Fuzz-style robustness of every compression codec's Decode (COMPRESSION.md
// §9): valid messages mutated by truncation at every length, random byte
// flips, insertions and deletions, every wrong method id, and huge varints
// spliced in at every position must come back as a Status -- never a crash,
// never an absurd allocation. A replaced global operator new turns any
// allocation above kMaxAlloc into a recorded failure (and std::bad_alloc), so
// "a count of 2^40 is rejected before allocating" is checked, not assumed.
// Fixed seeds; runs in about a second (run it under the asan preset too).
#include <atomic>
#include <cstdlib>
#include <new>

#include "tests/algorithms/transforms/compress_test_util.h"

namespace {
constexpr std::size_t kMaxAlloc = std::size_t{256} << 20;
std::atomic<std::size_t> g_largest_refused{0};

void* Allocate(std::size_t n) {
  if (n > kMaxAlloc) {
    g_largest_refused = n;
    throw std::bad_alloc();
  }
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t n) { return Allocate(n); }
void* operator new[](std::size_t n) { return Allocate(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace shoal::compress {
namespace {
using namespace testing;

constexpr int64_t kD = 37;  // a 5x6 matrix and a 7-vector

const char* kCodecs[] = {
    "{name: topk, density: 0.1}",
    "{name: topk, density: 0.9}",  // bitmap indices
    "{name: randk, density: 0.2}",
    "{name: qsgd, bucket: 8}",
    "{name: qsgd, bucket: 8, levels: 2, coding: elias}",
    "{name: terngrad}",
    "{name: sign}",
    "{name: int8, block: 16}",
    "{name: int8, block: 16, rounding: nearest}",
    "{name: sketch, rows: 8}",
    "{name: sketch, family: countsketch, rows: 8}",
    "{name: sketch, family: gaussian, rows: 8}",
    "{name: fetchsgd, rows: 3, cols: 5}",
    "{name: powersgd, rank: 1}",
};

struct Case {
  std::string spec;
  std::shared_ptr<const UpdateTransform> transform;
  const UpdateCodec* codec;
  std::vector<uint8_t> bytes;
};

class CodecFuzz : public ::testing::Test {
 protected:
  void SetUp() override {
    layout_.Add("w", {5, 6});
    layout_.Add("b", {7});
    ctx_ = Ctx(11, 2, 3, &layout_);
    ctx_.backend = GetBackend("cpu_ref").value();
    auto x = RandomVector(kD, 60);
    for (const char* spec : kCodecs) {
      Case c{spec, MakeTransform(spec), nullptr, {}};
      c.codec = c.transform->codec().get();
      ClientUpdate u;
      u.delta = x;
      ClientState state;
      ASSERT_TRUE(c.transform->Apply(u, state, ctx_).ok()) << spec;
      auto b = c.codec->Encode(u, ctx_);
      ASSERT_TRUE(b.ok()) << spec << ": " << b.status().ToString();
      c.bytes = *b;
      ASSERT_TRUE(Decode(c, c.bytes).ok()) << spec;
      cases_.push_back(std::move(c));
    }
  }
  void TearDown() override { EXPECT_EQ(g_largest_refused.load(), 0u) << "a decoder tried to allocate that many bytes"; }

  // Decode, turning an escaping exception (e.g. bad_alloc) into a test failure.
  Status Decode(const Case& c, std::span<const uint8_t> b) {
    try {
      auto r = c.codec->Decode(b, kD, ctx_);
      return r.ok() ? Status::Ok() : r.status();
    } catch (const std::exception& e) {
      ADD_FAILURE() << c.spec << ": Decode threw " << e.what();
      return Internal("threw");
    }
  }

  ParamLayout layout_;
  TransformContext ctx_;
  std::vector<Case> cases_;
};

TEST_F(CodecFuzz, EveryTruncationIsRejected) {
  for (const Case& c : cases_)
    for (size_t n = 0; n < c.bytes.size(); ++n)
      EXPECT_FALSE(Decode(c, std::span<const uint8_t>(c.bytes.data(), n)).ok()) << c.spec << " prefix " << n;
}

TEST_F(CodecFuzz, EveryWrongMethodIdIsRejected) {
  constexpr size_t kMethodAt = 32;  // after the 32-byte common header
  for (const Case& c : cases_)
    for (int id = 0; id < 256; ++id) {
      if (id == c.bytes[kMethodAt]) continue;
      auto bad = c.bytes;
      bad[kMethodAt] = static_cast<uint8_t>(id);
      Status st = Decode(c, bad);
      EXPECT_FALSE(st.ok()) << c.spec << " method id " << id;
      EXPECT_NE(st.ToString().find("method id"), std::string::npos) << st.ToString();
    }
}

// A varint of 2^40 (and one of 2^63) written over every byte position: counts,
// lengths, d, round and index gaps all see absurd values somewhere.
TEST_F(CodecFuzz, HugeVarintsAnywhereAreRejectedWithoutAllocating) {
  const std::vector<std::vector<uint8_t>> huge = {{0x80, 0x80, 0x80, 0x80, 0x80, 0x20},
                                                  {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}};
  for (const Case& c : cases_) {
    int rejected = 0;
    for (const auto& v : huge)
      for (size_t at = 0; at < c.bytes.size(); ++at) {
        std::vector<uint8_t> bad(c.bytes.begin(), c.bytes.begin() + static_cast<long>(at));
        bad.insert(bad.end(), v.begin(), v.end());
        bad.insert(bad.end(), c.bytes.begin() + static_cast<long>(at) + 1, c.bytes.end());
        // Must return (either way) without crashing or allocating > kMaxAlloc
        // (TearDown checks the allocation guard).
        rejected += !Decode(c, bad).ok();
      }
    // Splicing bytes in changes the length, so the size checks catch most.
    EXPECT_GT(rejected, static_cast<int>(c.bytes.size())) << c.spec;
  }
}

TEST_F(CodecFuzz, RandomMutationsNeverCrash) {
  RngStream rng(77, -1, -1, RngPurpose::kSynthetic);
  int64_t accepted = 0, total = 0;
  for (const Case& c : cases_)
    for (int trial = 0; trial < 1500; ++trial) {
      auto bad = c.bytes;
      switch (rng.NextBelow(3)) {
        case 0:  // flip 1-3 bytes
          for (uint64_t k = 0, m = 1 + rng.NextBelow(3); k < m; ++k)
            bad[rng.NextBelow(bad.size())] ^= static_cast<uint8_t>(1 + rng.NextBelow(255));
          break;
        case 1:  // insert a random byte
          bad.insert(bad.begin() + static_cast<long>(rng.NextBelow(bad.size() + 1)),
                     static_cast<uint8_t>(rng.NextU32()));
          break;
        default:  // delete a byte
          bad.erase(bad.begin() + static_cast<long>(rng.NextBelow(bad.size())));
      }
      Status st = Decode(c, bad);
      accepted += st.ok();
      ++total;
      if (!st.ok()) {
        EXPECT_FALSE(st.message().empty()) << c.spec;
      }
    }
  // Flips inside float values decode to other floats; most mutations break a rule.
  EXPECT_LT(accepted, total / 2);
}

// The server decodes uploads in place (UpdateCodec::DecodeInPlace): the
// first InPlacePrefixBytes() bytes arrive apart, the rest in a float buffer
// that a dense update's delta takes over (its floats land at body[0]: no copy).
// Against Decode as the reference, on the valid message, every truncation and
// random mutations: the same outcome and the same error message; the buffer
// is taken over only on success and untouched (byte for byte) otherwise.
TEST(DenseInPlace, MatchesDecodeOnValidAndHostileBytes) {
  ParamLayout layout;
  layout.Add("w", {kD});
  TransformContext ctx = Ctx(11, 2, 3, &layout);
  ctx.backend = GetBackend("cpu_ref").value();
  const UpdateCodec& codec = *DenseCodec();
  ClientUpdate u;
  u.delta = RandomVector(kD, 61);
  u.extras["dc"] = RandomVector(kD, 62);
  u.num_samples = 17;
  u.steps = 4;
  u.train_loss = 0.625;
  const std::vector<uint8_t> good = codec.Encode(u, ctx).value();
  ASSERT_EQ(codec.InPlacePrefixBytes(), 40u);  // header 32 + count 8: the floats start there
  // Split as the server's ingest does: prefix, then the body at the buffer's start.
  auto split = [&](std::span<const uint8_t> b) {
    const size_t p = std::min(b.size(), codec.InPlacePrefixBytes());
    std::vector<float> body((b.size() - p + 3) / 4 + 1, -1.0f);
    if (b.size() > p) std::memcpy(body.data(), b.data() + p, b.size() - p);
    return std::make_pair(b.first(p), body);
  };
  auto check = [&](std::span<const uint8_t> b, const std::string& what) {
    auto ref = codec.Decode(b, kD, ctx);
    auto [prefix, storage] = split(b);
    const std::vector<float> before = storage;
    auto got = codec.DecodeInPlace(prefix, storage, b.size() - prefix.size(), kD, ctx);
    ASSERT_EQ(ref.ok(), got.ok()) << what;
    if (!ref.ok()) {
      EXPECT_EQ(ref.status().ToString(), got.status().ToString()) << what;
      EXPECT_EQ(std::memcmp(before.data(), storage.data(), before.size() * sizeof(float)), 0) << what;
      return;
    }
    EXPECT_TRUE(storage.empty()) << what << ": the buffer should have become the delta";
    // Bitwise: a mutation can make a NaN, which == would call unequal to itself.
    auto same = [](const std::vector<float>& a, const std::vector<float>& b) {
      return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
    };
    EXPECT_TRUE(same(ref->delta, got->delta)) << what;
    ASSERT_EQ(ref->extras.size(), got->extras.size()) << what;
    for (const auto& [k, v] : ref->extras) EXPECT_TRUE(got->extras.count(k) && same(v, got->extras.at(k))) << what;
    EXPECT_EQ(ref->num_samples, got->num_samples) << what;
    EXPECT_EQ(ref->steps, got->steps) << what;
    EXPECT_EQ(ref->train_loss, got->train_loss) << what;
  };
  check(good, "valid");
  auto [prefix, body] = split(good);
  const float* floats = body.data();
  auto decoded = codec.DecodeInPlace(prefix, body, good.size() - prefix.size(), kD, ctx).value();
  EXPECT_EQ(decoded.delta, u.delta);
  EXPECT_EQ(decoded.delta.data(), floats);  // the buffer itself, not a copy
  for (size_t n = 0; n < good.size(); ++n) check(std::span<const uint8_t>(good.data(), n), "prefix " + std::to_string(n));
  RngStream rng(78, -1, -1, RngPurpose::kSynthetic);
  for (int trial = 0; trial < 2000; ++trial) {
    auto bad = good;
    bad[rng.NextBelow(bad.size())] ^= static_cast<uint8_t>(1 + rng.NextBelow(255));
    if (rng.NextBelow(2)) bad.erase(bad.begin() + static_cast<long>(rng.NextBelow(bad.size())));
    check(bad, "mutation " + std::to_string(trial));
  }
}

}  // namespace
}  // namespace shoal::compress
