#include "core/config.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

ConfigNode ParseOk(const std::string& text) {
  auto r = ConfigNode::Parse(text, "test.yaml");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.value();
}

TEST(ConfigNode, ReadsTypedValuesWithDefaults) {
  ConfigNode root = ParseOk("a: 3\nb: 0.5\nc: hello\nd: true\nm: {x: [1, 2.5]}\n");
  EXPECT_EQ(root.Get<int>("a", 0), 3);
  EXPECT_DOUBLE_EQ(root.Get<double>("b", 0), 0.5);
  EXPECT_EQ(root.Get<std::string>("c", ""), "hello");
  EXPECT_TRUE(root.Get<bool>("d", false));
  EXPECT_EQ(root.Get<int>("missing", 9), 9);
  auto xs = root.Child("m").Get<std::vector<double>>("x", {});
  ASSERT_EQ(xs.size(), 2u);
  EXPECT_DOUBLE_EQ(xs[1], 2.5);
  EXPECT_TRUE(root.CheckUnknownKeys().ok());
}

TEST(ConfigNode, WrongTypeNamesFileLineKeyAndExpectation) {
  ConfigNode root = ParseOk("name: x\nstrategy:\n  rounds: ten\n");
  root.Get<std::string>("name", "");
  int r = root.Child("strategy").Get<int>("rounds", 5, [](const int& v) { return v >= 1; }, ">= 1");
  EXPECT_EQ(r, 5);
  Status st = root.status();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("test.yaml:3"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("strategy.rounds"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("an integer >= 1"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("'ten'"), std::string::npos) << st.message();
}

TEST(ConfigNode, RangeViolationIsAnError) {
  ConfigNode root = ParseOk("alpha: -1\n");
  root.Get<double>("alpha", 0.5, [](const double& v) { return v > 0; }, "> 0");
  ASSERT_FALSE(root.status().ok());
  EXPECT_NE(root.status().message().find("expected a number > 0, got '-1'"), std::string::npos)
      << root.status().message();
}

TEST(ConfigNode, UnknownKeyIsReportedWithValidKeys) {
  ConfigNode root = ParseOk("strategy:\n  rounds: 3\n  roundz: 4\n");
  root.Child("strategy").Get<int>("rounds", 1);
  Status st = root.CheckUnknownKeys();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("test.yaml:3: strategy.roundz: unknown key"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("rounds"), std::string::npos);
}

TEST(ConfigNode, OverrideReplacesAndCreatesKeysAndIsLocated) {
  ConfigNode root = ParseOk("strategy:\n  rounds: 3\n");
  ASSERT_TRUE(root.Override("strategy.rounds=7").ok());
  ASSERT_TRUE(root.Override("client.optimizer.lr=0.1").ok());
  EXPECT_EQ(root.Child("strategy").Get<int>("rounds", 0), 7);
  EXPECT_DOUBLE_EQ(root.Child("client").Child("optimizer").Get<double>("lr", 0), 0.1);
  ASSERT_TRUE(root.Override("strategy.rounds=-2").ok());
  root.Child("strategy").Get<int>("rounds", 1, [](const int& v) { return v >= 1; }, ">= 1");
  ASSERT_FALSE(root.status().ok());
  EXPECT_NE(root.status().message().find("--set strategy.rounds"), std::string::npos) << root.status().message();
  EXPECT_FALSE(root.Override("novalue").ok());
}

TEST(ConfigNode, MalformedYamlAndMissingFile) {
  auto bad = ConfigNode::Parse("a: [1, 2\n", "bad.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.yaml"), std::string::npos);
  auto missing = ConfigNode::LoadFile("/nonexistent/x.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(ConfigNode, RequireReportsMissingKey) {
  ConfigNode root = ParseOk("a: 1\n");
  root.Get<int>("a", 0);
  root.Require<std::string>("path");
  ASSERT_FALSE(root.status().ok());
  EXPECT_NE(root.status().message().find("path"), std::string::npos);
  EXPECT_NE(root.status().message().find("missing"), std::string::npos) << root.status().message();
}

}  // namespace
}  // namespace shoal
