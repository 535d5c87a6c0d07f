// Loaders (IDX, LEAF JSON) and the synthetic generator. Files are written by
// the tests themselves, so expected values are known by construction.
#include "core/data.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace shoal {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ =
        fs::temp_directory_path() / ("shoal_data_test_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

void PutBigEndian32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

std::vector<uint8_t> IdxBytes(uint32_t magic, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> out;
  PutBigEndian32(out, magic);
  for (uint32_t d : dims) PutBigEndian32(out, d);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes, bool gzip) {
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
    ASSERT_EQ(gzclose(f), Z_OK);
  } else {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
}

void WriteText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// Three 2x2 images and their labels.
const std::vector<uint8_t> kPixels = {0, 255, 51, 102, 1, 2, 3, 4, 200, 100, 50, 25};
const std::vector<uint8_t> kLabels = {2, 0, 5};

using LoadIdxTest = TempDirTest;

TEST_F(LoadIdxTest, ReadsGzipAndRawPairs) {
  for (bool gzip : {true, false}) {
    SCOPED_TRACE(gzip ? "gzip" : "raw");
    std::string images = Path(gzip ? "img.gz" : "img"), labels = Path(gzip ? "lbl.gz" : "lbl");
    WriteFile(images, IdxBytes(2051, {3, 2, 2}, kPixels), gzip);
    WriteFile(labels, IdxBytes(2049, {3}, kLabels), gzip);
    Result<Dataset> ds = LoadIdx(images, labels);
    ASSERT_TRUE(ds.ok()) << ds.status().ToString();
    EXPECT_EQ(ds->size(), 3);
    EXPECT_EQ(ds->dim, 4);
    EXPECT_EQ(ds->sample_shape, (std::vector<int>{1, 2, 2}));
    EXPECT_EQ(ds->num_classes, 6);
    EXPECT_EQ(ds->y, (std::vector<int32_t>{2, 0, 5}));
    ASSERT_EQ(ds->x.size(), kPixels.size());
    for (size_t i = 0; i < kPixels.size(); ++i) EXPECT_FLOAT_EQ(ds->x[i], kPixels[i] / 255.0f) << i;
    EXPECT_FLOAT_EQ(ds->row(2)[1], 100 / 255.0f);
  }
}

TEST_F(LoadIdxTest, TruncatedFilesAreDataLossNamingTheFile) {
  std::vector<uint8_t> full = IdxBytes(2051, {3, 2, 2}, kPixels);
  std::vector<uint8_t> cut(full.begin(), full.end() - 3);
  WriteFile(Path("raw_cut"), cut, false);
  WriteFile(Path("lbl"), IdxBytes(2049, {3}, kLabels), false);
  Result<Dataset> raw = LoadIdx(Path("raw_cut"), Path("lbl"));
  ASSERT_FALSE(raw.ok());
  EXPECT_EQ(raw.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(raw.status().message().find(Path("raw_cut")), std::string::npos) << raw.status().message();
  EXPECT_NE(raw.status().message().find("truncated"), std::string::npos) << raw.status().message();

  // A gzip stream cut in the middle: zlib notices the missing end.
  std::vector<uint8_t> big_pixels(3 * 64 * 64);
  for (size_t i = 0; i < big_pixels.size(); ++i) big_pixels[i] = static_cast<uint8_t>(i * 7919 % 251);
  WriteFile(Path("whole.gz"), IdxBytes(2051, {3, 64, 64}, big_pixels), true);
  std::ifstream in(Path("whole.gz"), std::ios::binary);
  std::vector<uint8_t> gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  WriteFile(Path("gz_cut.gz"), std::vector<uint8_t>(gz.begin(), gz.begin() + gz.size() / 2), false);
  Result<Dataset> zipped = LoadIdx(Path("gz_cut.gz"), Path("lbl"));
  ASSERT_FALSE(zipped.ok());
  EXPECT_EQ(zipped.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(zipped.status().message().find(Path("gz_cut.gz")), std::string::npos) << zipped.status().message();
}

TEST_F(LoadIdxTest, BadMagicNamesTheFile) {
  WriteFile(Path("img"), IdxBytes(2049, {3, 2, 2}, kPixels), true);  // label magic on an image file
  WriteFile(Path("lbl"), IdxBytes(2049, {3}, kLabels), true);
  Result<Dataset> ds = LoadIdx(Path("img"), Path("lbl"));
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ds.status().message().find(Path("img")), std::string::npos) << ds.status().message();
  EXPECT_NE(ds.status().message().find("magic"), std::string::npos) << ds.status().message();
}

TEST_F(LoadIdxTest, CountMismatchNamesBothFiles) {
  WriteFile(Path("img"), IdxBytes(2051, {3, 2, 2}, kPixels), true);
  WriteFile(Path("lbl"), IdxBytes(2049, {2}, {2, 0}), true);
  Result<Dataset> ds = LoadIdx(Path("img"), Path("lbl"));
  ASSERT_FALSE(ds.ok());
  const std::string& msg = ds.status().message();
  EXPECT_NE(msg.find(Path("lbl")), std::string::npos) << msg;
  EXPECT_NE(msg.find(Path("img")), std::string::npos) << msg;
  EXPECT_NE(msg.find("2 labels"), std::string::npos) << msg;
  EXPECT_NE(msg.find("3 images"), std::string::npos) << msg;
}

TEST_F(LoadIdxTest, MissingFileIsNotFound) {
  WriteFile(Path("lbl"), IdxBytes(2049, {3}, kLabels), true);
  Result<Dataset> ds = LoadIdx(Path("nope"), Path("lbl"));
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.status().code(), StatusCode::kNotFound);
  EXPECT_NE(ds.status().message().find(Path("nope")), std::string::npos) << ds.status().message();
}

TEST_F(LoadIdxTest, FashionMnistMissingSuggestsThePackage) {
  Result<FederatedData> data = LoadFashionMnist(Path("empty"));
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), StatusCode::kNotFound);
  EXPECT_NE(data.status().message().find("train-images-idx3-ubyte.gz"), std::string::npos);
  EXPECT_NE(data.status().message().find("apt-get install dataset-fashion-mnist"), std::string::npos);
}

TEST(LoadFashionMnist, RealDataHasTheKnownShape) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(fs::path(dir) / "train-images-idx3-ubyte.gz")) GTEST_SKIP() << dir << " not installed";
  Result<FederatedData> data = LoadFashionMnist(dir);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->train.size(), 60000);
  EXPECT_EQ(data->test.size(), 10000);
  EXPECT_EQ(data->train.dim, 784);
  EXPECT_EQ(data->train.sample_shape, (std::vector<int>{1, 28, 28}));
  EXPECT_EQ(data->train.num_classes, 10);
  EXPECT_EQ(data->test.num_classes, 10);
  EXPECT_EQ(data->num_clients(), 0);
  std::vector<int> counts(10, 0);
  for (int32_t y : data->train.y) ++counts[y];
  for (int c = 0; c < 10; ++c) EXPECT_EQ(counts[c], 6000) << "class " << c;
  auto [lo, hi] = std::minmax_element(data->train.x.begin(), data->train.x.end());
  EXPECT_EQ(*lo, 0.0f);
  EXPECT_EQ(*hi, 1.0f);
}

using LoadLeafTest = TempDirTest;

constexpr char kLeafTrain[] = R"({"users": ["b", "a"], "num_samples": [2, 1],
  "user_data": {"a": {"x": [[5, 6]], "y": [3]}, "b": {"x": [[1, 2], [3, 4.5]], "y": [1, 0]}}})";
constexpr char kLeafTest[] = R"({"users": ["a"], "num_samples": [1],
  "user_data": {"a": {"x": [[7, 8]], "y": [2]}}})";

TEST_F(LoadLeafTest, ClientsFollowTrainFileOrder) {
  WriteText(Path("train.json"), kLeafTrain);
  WriteText(Path("test.json"), kLeafTest);
  Result<FederatedData> data = LoadLeaf(Path("train.json"), Path("test.json"));
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  ASSERT_EQ(data->num_clients(), 2);
  EXPECT_EQ(data->client_train[0], (std::vector<int64_t>{0, 1}));  // user "b"
  EXPECT_EQ(data->client_train[1], (std::vector<int64_t>{2}));     // user "a"
  EXPECT_TRUE(data->client_test[0].empty());
  EXPECT_EQ(data->client_test[1], (std::vector<int64_t>{0}));
  EXPECT_FALSE(data->client_test_in_train);
  EXPECT_EQ(data->train.x, (std::vector<float>{1, 2, 3, 4.5f, 5, 6}));
  EXPECT_EQ(data->train.y, (std::vector<int32_t>{1, 0, 3}));
  EXPECT_EQ(data->test.x, (std::vector<float>{7, 8}));
  EXPECT_EQ(data->test.y, (std::vector<int32_t>{2}));
  EXPECT_EQ(data->train.num_classes, 4);
  EXPECT_EQ(data->test.num_classes, 4);
  EXPECT_EQ(data->train.dim, 2);
  EXPECT_EQ(data->train.sample_shape, (std::vector<int>{2}));

  Result<FederatedData> shaped = LoadLeaf(Path("train.json"), Path("test.json"), {1, 2});
  ASSERT_TRUE(shaped.ok()) << shaped.status().ToString();
  EXPECT_EQ(shaped->test.sample_shape, (std::vector<int>{1, 2}));
  EXPECT_FALSE(LoadLeaf(Path("train.json"), Path("test.json"), {3}).ok());
}

// Loads `train` against the valid test file (or `test` against the valid
// train file) and expects an error mentioning every string in `needles`.
void ExpectLeafError(const std::string& train_path, const std::string& test_path,
                     const std::vector<std::string>& needles) {
  Result<FederatedData> data = LoadLeaf(train_path, test_path);
  ASSERT_FALSE(data.ok());
  for (const std::string& s : needles)
    EXPECT_NE(data.status().message().find(s), std::string::npos) << data.status().message();
}

TEST_F(LoadLeafTest, MalformedFilesNameFileAndKey) {
  WriteText(Path("train.json"), kLeafTrain);
  WriteText(Path("test.json"), kLeafTest);
  WriteText(Path("no_user_data.json"), R"({"users": ["a"]})");
  ExpectLeafError(Path("no_user_data.json"), Path("test.json"), {Path("no_user_data.json"), "user_data"});
  WriteText(Path("no_y.json"), R"({"users": ["a"], "user_data": {"a": {"x": [[1]]}}})");
  ExpectLeafError(Path("no_y.json"), Path("test.json"), {Path("no_y.json"), "\"a\"", "\"y\""});
  WriteText(Path("ragged.json"), R"({"users": ["a", "q"], "user_data": {"a": {"x": [[1, 2]], "y": [0]},
    "q": {"x": [[1, 2], [3]], "y": [0, 1]}}})");
  ExpectLeafError(Path("ragged.json"), Path("test.json"), {Path("ragged.json"), "\"q\"", "[1]", "1 values"});
  WriteText(Path("stranger.json"), R"({"users": ["zed"], "user_data": {"zed": {"x": [[1, 2]], "y": [0]}}})");
  ExpectLeafError(Path("train.json"), Path("stranger.json"), {Path("stranger.json"), "\"zed\"", "not in"});
  WriteText(Path("missing_user.json"), R"({"users": ["a", "ghost"], "user_data": {"a": {"x": [[1]], "y": [0]}}})");
  ExpectLeafError(Path("missing_user.json"), Path("test.json"), {Path("missing_user.json"), "\"ghost\""});
  WriteText(Path("bad_count.json"),
            R"({"users": ["a"], "num_samples": [5], "user_data": {"a": {"x": [[1, 2]], "y": [0]}}})");
  ExpectLeafError(Path("bad_count.json"), Path("test.json"), {Path("bad_count.json"), "num_samples"});
  WriteText(Path("bad_label.json"), R"({"users": ["a"], "user_data": {"a": {"x": [[1, 2]], "y": [-1]}}})");
  ExpectLeafError(Path("bad_label.json"), Path("test.json"), {Path("bad_label.json"), "\"a\"", "y"});
  WriteText(Path("not_json.json"), "{\"users\": [");
  ExpectLeafError(Path("not_json.json"), Path("test.json"), {Path("not_json.json"), "JSON"});
  WriteText(Path("wide_test.json"), R"({"users": ["a"], "user_data": {"a": {"x": [[1, 2, 3]], "y": [0]}}})");
  ExpectLeafError(Path("train.json"), Path("wide_test.json"), {Path("wide_test.json"), "3 values"});
  ExpectLeafError(Path("absent.json"), Path("test.json"), {Path("absent.json"), "not found"});
}

int64_t UserCount(const FederatedData& d, int i) {
  return static_cast<int64_t>(d.client_train[i].size() + d.client_test[i].size());
}

// A user's rows from train then test, as one list of (row pointer, label).
std::vector<std::pair<const float*, int32_t>> UserRows(const FederatedData& d, int i) {
  std::vector<std::pair<const float*, int32_t>> rows;
  for (int64_t k : d.client_train[i]) rows.emplace_back(d.train.row(k), d.train.y[k]);
  for (int64_t k : d.client_test[i]) rows.emplace_back(d.test.row(k), d.test.y[k]);
  return rows;
}

SyntheticOptions SmallSynthetic(int users) {
  SyntheticOptions o;
  o.num_users = users;
  o.max_samples_per_user = 3000;  // keeps the heavy LogNormal tail cheap
  return o;
}

TEST(GenerateSynthetic, DeterministicAndIndependentOfUserCount) {
  Result<FederatedData> a = GenerateSynthetic(SmallSynthetic(6), 7);
  Result<FederatedData> b = GenerateSynthetic(SmallSynthetic(6), 7);
  Result<FederatedData> c = GenerateSynthetic(SmallSynthetic(6), 8);
  Result<FederatedData> few = GenerateSynthetic(SmallSynthetic(3), 7);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && few.ok()) << a.status().ToString();
  EXPECT_EQ(a->train.x, b->train.x);
  EXPECT_EQ(a->test.y, b->test.y);
  EXPECT_EQ(a->client_train, b->client_train);
  EXPECT_NE(a->train.x, c->train.x);
  // User i's data comes from its own stream, so fewer users leave it unchanged.
  for (int i = 0; i < 3; ++i) {
    auto rows_a = UserRows(*a, i), rows_few = UserRows(*few, i);
    ASSERT_EQ(rows_a.size(), rows_few.size()) << "user " << i;
    for (size_t r = 0; r < rows_a.size(); ++r) {
      ASSERT_TRUE(std::equal(rows_a[r].first, rows_a[r].first + 60, rows_few[r].first)) << "user " << i << " row " << r;
      ASSERT_EQ(rows_a[r].second, rows_few[r].second);
    }
  }
}

TEST(GenerateSynthetic, SplitsLabelsAndShapes) {
  Result<FederatedData> d = GenerateSynthetic(SmallSynthetic(30), 1);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->num_clients(), 30);
  EXPECT_EQ(d->train.sample_shape, (std::vector<int>{60}));
  EXPECT_EQ(d->train.num_classes, 10);
  EXPECT_FALSE(d->client_test_in_train);
  for (int i = 0; i < 30; ++i) {
    int64_t n = UserCount(*d, i);
    EXPECT_GE(n, 250);
    EXPECT_EQ(n % 5, 0) << n;
    EXPECT_EQ(static_cast<int64_t>(d->client_train[i].size()), n * 9 / 10) << "user " << i;
  }
  std::map<int32_t, int64_t> hist;
  for (int32_t y : d->train.y) ++hist[y];
  EXPECT_GE(hist.begin()->first, 0);
  EXPECT_LT(hist.rbegin()->first, 10);
  EXPECT_GE(hist.size(), 5u) << "labels should spread over classes";
  double ratio = static_cast<double>(d->train.size()) / static_cast<double>(d->train.size() + d->test.size());
  EXPECT_NEAR(ratio, 0.9, 0.005);
}

TEST(GenerateSynthetic, CountMedianMatchesLogNormal) {
  SyntheticOptions o;
  o.num_users = 1000;
  o.dim = 1;
  o.num_classes = 2;
  o.max_samples_per_user = 2000;  // far above the median, so it does not move it
  Result<FederatedData> d = GenerateSynthetic(o, 3);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  std::vector<int64_t> n(1000);
  for (int i = 0; i < 1000; ++i) n[i] = UserCount(*d, i);
  std::nth_element(n.begin(), n.begin() + 500, n.end());
  // (floor(e^4) + 50) * 5 = 520; the sample median's spread over 1000 users is about +-45.
  EXPECT_GT(n[500], 430);
  EXPECT_LT(n[500], 630);
}

TEST(GenerateSynthetic, WithinUserFeatureVarianceIsDiagonalSigma) {
  Result<FederatedData> d = GenerateSynthetic(SmallSynthetic(10), 5);
  ASSERT_TRUE(d.ok());
  int big = 0;
  for (int i = 1; i < 10; ++i)
    if (UserCount(*d, i) > UserCount(*d, big)) big = i;
  auto rows = UserRows(*d, big);
  ASSERT_GE(rows.size(), 1000u);
  for (int j : {0, 9, 59}) {
    double sum = 0, sq = 0;
    for (auto& [x, y] : rows) sum += x[j], sq += x[j] * x[j];
    double mean = sum / rows.size();
    double var = sq / rows.size() - mean * mean;
    EXPECT_NEAR(var / std::pow(j + 1.0, -1.2), 1.0, 0.2) << "coordinate " << j;
  }
}

// Mean total-variation distance between users' label histograms.
double MeanPairwiseLabelTv(const FederatedData& d) {
  const int users = d.num_clients(), classes = d.train.num_classes;
  std::vector<std::vector<double>> p(users, std::vector<double>(classes, 0.0));
  for (int i = 0; i < users; ++i) {
    auto rows = UserRows(d, i);
    for (auto& [x, y] : rows) p[i][y] += 1.0 / rows.size();
  }
  double total = 0;
  int pairs = 0;
  for (int i = 0; i < users; ++i) {
    for (int k = i + 1; k < users; ++k, ++pairs) {
      for (int c = 0; c < classes; ++c) total += 0.5 * std::abs(p[i][c] - p[k][c]);
    }
  }
  return total / pairs;
}

TEST(GenerateSynthetic, IidUsersHaveMoreSimilarLabelsThanNonIid) {
  SyntheticOptions o = SmallSynthetic(20);  // alpha = beta = 0.5
  Result<FederatedData> non_iid = GenerateSynthetic(o, 11);
  o.iid = true;
  Result<FederatedData> iid = GenerateSynthetic(o, 11);
  // FedProx's synthetic_iid: iid with alpha = beta = 0, so every user draws from one distribution.
  o.alpha = o.beta = 0;
  Result<FederatedData> iid_same_mean = GenerateSynthetic(o, 11);
  ASSERT_TRUE(non_iid.ok() && iid.ok() && iid_same_mean.ok());
  double tv_non_iid = MeanPairwiseLabelTv(*non_iid), tv_iid = MeanPairwiseLabelTv(*iid);
  double tv_same = MeanPairwiseLabelTv(*iid_same_mean);
  // The shared W, b remove model heterogeneity; the shift B_i still skews labels.
  EXPECT_LT(tv_iid, tv_non_iid);
  // Only sampling noise is left (users have >= 250 samples over 10 classes).
  EXPECT_LT(tv_same, 0.15);
  EXPECT_GT(tv_non_iid, 0.5);
}

TEST(GenerateSynthetic, InvalidOptionsNameTheField) {
  auto expect_error = [](SyntheticOptions o, const std::string& field) {
    Result<FederatedData> d = GenerateSynthetic(o, 0);
    ASSERT_FALSE(d.ok()) << field;
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(d.status().message().find(field), std::string::npos) << d.status().message();
  };
  SyntheticOptions o;
  o.alpha = -1;
  expect_error(o, "synthetic.alpha");
  o = {};
  o.beta = -0.1;
  expect_error(o, "synthetic.beta");
  o = {};
  o.num_users = 0;
  expect_error(o, "synthetic.num_users");
  o = {};
  o.dim = 0;
  expect_error(o, "synthetic.dim");
  o = {};
  o.num_classes = 1;
  expect_error(o, "synthetic.num_classes");
  o = {};
  o.train_fraction = 0;
  expect_error(o, "synthetic.train_fraction");
  o.train_fraction = 1.5;
  expect_error(o, "synthetic.train_fraction");
}

}  // namespace
}  // namespace shoal
