// Coordinator without any transport: a manual clock, recorded timers and a
// recording link. Expectations are hand-derived from FedAvg's update rule.
#include "server/coordinator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "algorithms/transforms/transform.h"
#include "core/config.h"

namespace shoal::server {
namespace {

struct ManualClock final : Clock {
  int64_t now = 0;
  int64_t NowUs() const override { return now; }
};
struct RecordingTimers final : Timers {
  std::vector<std::pair<int64_t, uint64_t>> armed;  // (delay, token)
  void Arm(int64_t d, uint64_t t) override { armed.push_back({d, t}); }
};
struct RecordingLink final : ClientLink {
  std::map<int, std::shared_ptr<const Task>> latest;  // last task offered per client
  int finished = 0;
  void Send(std::shared_ptr<const Task> t) override { latest[t->client] = t; }
  void Withdraw(int, uint64_t) override {}
  void Finish() override { ++finished; }
  std::vector<std::vector<float>> recycled;  // deltas handed back after commit
  void Recycle(std::vector<float>&& b) override { recycled.push_back(std::move(b)); }
};

// FedAvg over 3 parameters; clients 0..2 hold 3, 1, 2 samples.
struct Fixture {
  explicit Fixture(const std::string& extra = "", CoordinatorOptions o = {}, const std::string& strategy = "fedavg") {
    layout.Add("w", {3});
    auto root = ConfigNode::Parse("strategy: {name: " + strategy + ", rounds: 3, clients_per_round: 3" + extra +
                                      "}\nclient: {epochs: 1}\n",
                                  "t.yaml")
                    .value();
    alg = MakeAlgorithm(root.Child("strategy"), root.Child("client")).value();
    coord = std::make_unique<Coordinator>(o, alg, *GetBackend("cpu_ref").value(), layout,
                                          std::vector<int64_t>{3, 1, 2}, link, clock, timers, sink, nullptr);
  }
  std::vector<uint8_t> Encode(int client, std::vector<float> delta, int64_t n = 1) const {
    ClientUpdate u;
    u.delta = std::move(delta);
    u.num_samples = n;
    TransformContext tc{GetBackend("cpu_ref").value(), &layout, 0, 0, client, 0};
    return DenseCodec()->Encode(u, tc).value();
  }
  Status Submit(int client, std::vector<float> delta, int64_t n = 1) {
    const Task& t = *link.latest.at(client);
    return coord->Submit(client, t.round, t.task_id, Encode(client, std::move(delta), n));
  }
  void StartAll(std::vector<float> init = {0, 0, 0}, bool resume = false) {
    ASSERT_TRUE(coord->Init(init, resume).ok());
    for (int c = 0; c < 3; ++c) ASSERT_TRUE(coord->Join(c, std::vector<int64_t>{3, 1, 2}[c]).ok());
  }
  ParamLayout layout;
  Algorithm alg;
  ManualClock clock;
  RecordingTimers timers;
  RecordingLink link;
  MemorySink sink;
  std::unique_ptr<Coordinator> coord;
};

TEST(Coordinator, FedAvgRoundIsTheSampleWeightedMean) {
  Fixture f;
  f.StartAll({1, 1, 1});
  ASSERT_TRUE(f.Submit(0, {3, 0, 0}, 3).ok());
  ASSERT_TRUE(f.Submit(1, {0, 4, 0}, 1).ok());
  ASSERT_TRUE(f.Submit(2, {0, 0, 6}, 2).ok());
  ASSERT_EQ(f.coord->rounds_done(), 1);
  // x + (3*3, 1*4, 2*6) / 6
  const auto& g = *f.coord->global_model().params;
  EXPECT_FLOAT_EQ(g[0], 1 + 9.0f / 6);
  EXPECT_FLOAT_EQ(g[1], 1 + 4.0f / 6);
  EXPECT_FLOAT_EQ(g[2], 1 + 12.0f / 6);
  // FedAvg keeps no delta: each committed update's buffer went back to the
  // link for reuse (in commit order, the simulator's), its values still in it.
  auto recycled = f.link.recycled;
  std::sort(recycled.begin(), recycled.end());
  EXPECT_EQ(recycled, (std::vector<std::vector<float>>{{0, 0, 6}, {0, 4, 0}, {3, 0, 0}}));
}

TEST(Coordinator, DoesNotStartBeforeEveryClientJoined) {
  Fixture f;
  ASSERT_TRUE(f.coord->Init({0, 0, 0}, false).ok());
  ASSERT_TRUE(f.coord->Join(0, 3).ok());
  EXPECT_FALSE(f.coord->started());
  EXPECT_TRUE(f.link.latest.empty());
  EXPECT_EQ(f.coord->Join(1, 5).code(), StatusCode::kFailedPrecondition);  // partition says 1 sample
  EXPECT_EQ(f.coord->Join(7, 1).code(), StatusCode::kInvalidArgument);    // no such client
}

// Uniform weights; deltas 1e8, 1.5, -1e8 in float make the sum depend on the
// order: the simulator commits by planned compute time (samples: client 1 <
// client 2 < client 0), giving (1e8 + 1.5) - 1e8 = 0; the arrival order
// 1, 0, 2 would give (1e8 - 1e8) + 1.5 = 1.5.
TEST(Coordinator, CommitsInSimulatorOrderWhateverTheArrivalOrder) {
  for (bool ordered : {true, false}) {
    CoordinatorOptions o;
    o.ordered_commit = ordered;
    Fixture f(", weighting: uniform", o);
    f.StartAll();
    ASSERT_TRUE(f.Submit(1, {1e8f, 0, 0}).ok());
    ASSERT_TRUE(f.Submit(0, {-1e8f, 0, 0}).ok());
    EXPECT_EQ(f.coord->buffered(), ordered ? 1 : 0);  // client 0 waits for client 2
    ASSERT_TRUE(f.Submit(2, {1.5f, 0, 0}).ok());
    ASSERT_EQ(f.coord->rounds_done(), 1);
    EXPECT_EQ((*f.coord->global_model().params)[0], ordered ? 0.0f : 0.5f) << "ordered=" << ordered;
  }
}

TEST(Coordinator, RejectsBadResultsAndKeepsTheModel) {
  Fixture f;
  f.StartAll({1, 2, 3});
  const std::vector<float> before = *f.coord->global_model().params;
  const Task& t0 = *f.link.latest.at(0);
  // Wrong round.
  Status st = f.coord->Submit(0, t0.round + 1, t0.task_id, f.Encode(0, {1, 1, 1}));
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("wrong round"), std::string::npos) << st.message();
  // Unregistered client (no task, not joined): client 5 does not exist.
  EXPECT_EQ(f.coord->Submit(5, 0, t0.task_id, f.Encode(5, {1, 1, 1})).code(), StatusCode::kFailedPrecondition);
  // Someone else's task.
  EXPECT_EQ(f.coord->Submit(1, t0.round, t0.task_id, f.Encode(1, {1, 1, 1})).code(), StatusCode::kFailedPrecondition);
  // Oversized, checked from the header alone.
  EXPECT_EQ(f.coord->Admit(0, t0.round, t0.task_id, int64_t{1} << 40).code(), StatusCode::kOk);  // no limit set
  // Wrong parameter count: a failure of client 0's task.
  st = f.Submit(0, {1, 1});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("expected 3"), std::string::npos) << st.message();
  // A second result for the same task.
  EXPECT_EQ(f.Submit(0, {1, 1, 1}).code(), StatusCode::kAlreadyExists);
  // NaN and Inf.
  EXPECT_EQ(f.Submit(1, {0, std::nanf(""), 0}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*f.coord->global_model().params, before);
  EXPECT_EQ(f.coord->rounds_done(), 0);
  // Truncated bytes (the codec's DataLoss).
  std::vector<uint8_t> cut = f.Encode(2, {1, 1, 1});
  cut.resize(cut.size() / 2);
  const Task& t2 = *f.link.latest.at(2);
  EXPECT_EQ(f.coord->Submit(2, t2.round, t2.task_id, std::move(cut)).code(), StatusCode::kDataLoss);
  // Every task of round 0 failed: the round closes with the model unchanged,
  // and round 1 is served normally.
  EXPECT_EQ(f.coord->rounds_done(), 1);
  EXPECT_EQ(*f.coord->global_model().params, before);
  ASSERT_TRUE(f.Submit(0, {6, 0, 0}, 3).ok());
  ASSERT_TRUE(f.Submit(1, {0, 6, 0}, 1).ok());
  ASSERT_TRUE(f.Submit(2, {0, 0, 6}, 2).ok());
  EXPECT_EQ(f.coord->rounds_done(), 2);
  EXPECT_FLOAT_EQ((*f.coord->global_model().params)[0], 1 + 18.0f / 6);
}

// DecodeAndCheck's `known_finite`: the caller's NaN/Inf scan of the body is
// used only for a delta that is the body itself and only as far as it went.
TEST(Coordinator, KnownFiniteSkipsOnlyTheScannedPartOfAnInPlaceDelta) {
  Fixture f;
  f.StartAll({1, 2, 3});
  const Task& t = *f.link.latest.at(0);
  const size_t head = f.coord->ingest_prefix_bytes();
  ASSERT_EQ(head, 40u);  // the dense codec's fixed head
  auto check = [&](std::vector<float> delta, size_t known, bool split) {
    const std::vector<uint8_t> bytes = f.Encode(0, std::move(delta));
    const size_t k = split ? head : 0;  // no split: the codec decodes a copy
    std::vector<float> body((bytes.size() - k + 3) / 4 + 1);
    std::memcpy(body.data(), bytes.data() + k, bytes.size() - k);
    return f.coord
        ->DecodeAndCheck(0, t.round, t.task_id, std::span<const uint8_t>(bytes.data(), k), body, bytes.size() - k,
                         known)
        .verdict;
  };
  const float kNaN = std::nanf("");
  EXPECT_TRUE(check({1, 2, 3}, 0, true).ok());
  EXPECT_EQ(check({1, kNaN, 3}, 0, true).code(), StatusCode::kInvalidArgument);
  // Scanned up to the NaN, not past it: still rejected.
  EXPECT_EQ(check({1, kNaN, 3}, 1, true).code(), StatusCode::kInvalidArgument);
  // The whole delta vouched for: the scan is skipped (the caller's word is
  // the contract; the gRPC server scans each chunk as it lands).
  EXPECT_TRUE(check({1, kNaN, 3}, 3, true).ok());
  // Decoded into a new vector: the caller's scan does not cover it.
  EXPECT_EQ(check({1, kNaN, 3}, 3, false).code(), StatusCode::kInvalidArgument);
}

TEST(Coordinator, OversizedUploadRefusedFromTheHeader) {
  CoordinatorOptions o;
  o.max_update_bytes = 1000;
  Fixture f("", o);
  f.StartAll();
  const Task& t = *f.link.latest.at(0);
  EXPECT_EQ(f.coord->Admit(0, t.round, t.task_id, 1001).code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(f.coord->Admit(0, t.round, t.task_id, 1000).ok());
}

TEST(Coordinator, DeadlineClosesTheRoundWithoutTheStraggler) {
  Fixture f(", deadline_s: 2");
  f.StartAll({0, 0, 0});
  ASSERT_EQ(f.timers.armed.size(), 1u);
  EXPECT_EQ(f.timers.armed[0].first, 2000000);
  ASSERT_TRUE(f.Submit(0, {6, 0, 0}, 3).ok());
  ASSERT_TRUE(f.Submit(2, {0, 0, 6}, 2).ok());  // buffered behind... nothing: client 1 is due first
  EXPECT_EQ(f.coord->rounds_done(), 0);
  f.clock.now = 2000000;
  ASSERT_TRUE(f.coord->OnTimer(f.timers.armed[0].second).ok());
  EXPECT_EQ(f.coord->rounds_done(), 1);
  // (3*6 + 2*0)/5 and (3*0 + 2*6)/5: client 1 never reported.
  EXPECT_FLOAT_EQ((*f.coord->global_model().params)[0], 18.0f / 5);
  EXPECT_FLOAT_EQ((*f.coord->global_model().params)[2], 12.0f / 5);
}

TEST(Coordinator, ReorderWindowFullAsksForRetry) {
  CoordinatorOptions o;
  o.reorder_window = 1;
  Fixture f("", o);
  f.StartAll();
  ASSERT_TRUE(f.Submit(0, {1, 1, 1}, 3).ok());  // last in order: buffered
  EXPECT_EQ(f.Submit(2, {1, 1, 1}, 2).code(), StatusCode::kUnavailable);
  ASSERT_TRUE(f.Submit(1, {1, 1, 1}, 1).ok());  // head: commits, then client 0
  ASSERT_TRUE(f.Submit(2, {1, 1, 1}, 2).ok());  // the retry is accepted
  EXPECT_EQ(f.coord->rounds_done(), 1);
}

TEST(Coordinator, ResumeContinuesFromTheLastCheckpoint) {
  const std::string dir = ::testing::TempDir() + "/coord_ckpt";
  std::filesystem::remove_all(dir);
  CoordinatorOptions o;
  o.checkpoint_dir = dir;
  o.seed = 5;
  std::vector<float> after_two;
  uint64_t next_task = 0;
  {
    Fixture f(", server_momentum: 0.5", o);
    f.StartAll({1, 1, 1});
    for (int r = 0; r < 2; ++r)
      for (int c : {0, 1, 2}) ASSERT_TRUE(f.Submit(c, {1, 2, 3}, std::vector<int64_t>{3, 1, 2}[c]).ok());
    after_two = *f.coord->global_model().params;
    next_task = f.link.latest.at(0)->task_id;
    ASSERT_TRUE(f.Submit(0, {1, 2, 3}, 3).ok());  // round 2 half done when the server "dies"
  }
  Fixture g(", server_momentum: 0.5", o);
  g.StartAll({9, 9, 9}, /*resume=*/true);
  EXPECT_EQ(g.coord->rounds_done(), 2);
  EXPECT_EQ(*g.coord->global_model().params, after_two);
  EXPECT_EQ(g.link.latest.at(0)->round, 2);
  EXPECT_EQ(g.link.latest.at(0)->task_id, next_task);  // the same task ids as before the crash
  // The momentum buffer survived too: round 2 ends exactly as in an
  // uninterrupted run.
  Fixture h(", server_momentum: 0.5", CoordinatorOptions{});
  h.StartAll({1, 1, 1});
  for (int r = 0; r < 3; ++r)
    for (int c : {0, 1, 2}) ASSERT_TRUE(h.Submit(c, {1, 2, 3}, std::vector<int64_t>{3, 1, 2}[c]).ok());
  for (int c : {0, 1, 2}) ASSERT_TRUE(g.Submit(c, {1, 2, 3}, std::vector<int64_t>{3, 1, 2}[c]).ok());
  EXPECT_EQ(*g.coord->global_model().params, *h.coord->global_model().params);
}

// FedBuff has no SaveState: --resume is refused before anything starts (it
// would silently begin at round 0), and a checkpoint directory is dropped at
// Init rather than at the first checkpoint. FedAvg, which checkpoints, keeps it.
TEST(Coordinator, StrategyWithoutCheckpointsRefusesResumeAtInit) {
  const std::string dir = ::testing::TempDir() + "/coord_ckpt_fedbuff";
  std::filesystem::remove_all(dir);
  CoordinatorOptions o;
  o.checkpoint_dir = dir;
  Fixture resumed(", buffer_size: 2", o, "fedbuff");
  Status st = resumed.coord->Init({0, 0, 0}, /*resume=*/true);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("fedbuff"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("does not support checkpoints"), std::string::npos) << st.message();

  Fixture fresh(", buffer_size: 2", o, "fedbuff");
  ASSERT_TRUE(fresh.coord->Init({0, 0, 0}, /*resume=*/false).ok());
  EXPECT_TRUE(fresh.coord->options().checkpoint_dir.empty());
  Fixture fedavg("", o);
  ASSERT_TRUE(fedavg.coord->Init({0, 0, 0}, /*resume=*/false).ok());
  EXPECT_EQ(fedavg.coord->options().checkpoint_dir, dir);
}

}  // namespace
}  // namespace shoal::server
