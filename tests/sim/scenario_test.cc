#include "sim/scenario.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace shoal::sim {
namespace {

namespace fs = std::filesystem;

std::string WriteScenario(const std::string& name, const std::string& text) {
  // One directory per test: ctest runs test cases as parallel processes.
  fs::path dir = fs::temp_directory_path() / "shoal_scenario_test" /
                 ::testing::UnitTest::GetInstance()->current_test_info()->name();
  fs::create_directories(dir);
  fs::path p = dir / name;
  std::ofstream(p) << text;
  return p.string();
}

const char* kValid =
    "name: t\n"
    "data:\n"
    "  dataset: synthetic\n"
    "  synthetic: {num_users: 5}\n"
    "model: {name: logreg}\n"
    "strategy: {name: fedavg, rounds: 2, clients_per_round: 2}\n"
    "client: {epochs: 1, batch_size: 8, optimizer: {name: sgd, lr: 0.1}}\n";

TEST(Scenario, ValidScenarioLoads) {
  auto s = LoadScenario(WriteScenario("ok.yaml", kValid), {});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->name, "t");
  EXPECT_EQ(s->data.dataset, "synthetic");
}

struct BadCase {
  std::string yaml;
  std::vector<std::string> must_contain;
};

TEST(Scenario, MalformedScenariosNameFileKeyAndExpectation) {
  std::vector<BadCase> cases = {
      {std::string(kValid) + "evall: {every: 2}\n", {"bad.yaml:8", "evall", "unknown key"}},
      {"strategy: {rounds: many}\n", {"bad.yaml:1", "strategy.rounds", "an integer >= 1", "'many'"}},
      {"data: {dataset: fashion_mnist, path: /nonexistent/fmnist}\n",
       {"bad.yaml:1", "data.path", "/nonexistent/fmnist", "does not exist"}},
      {"data: {dataset: synthetic, partition: {method: dirichlet, alpha: 0}}\n",
       {"bad.yaml:1", "data.partition.alpha", "> 0", "'0'"}},
      {"data: {dataset: synthetic}\nmodel: {name: resnet}\n", {"bad.yaml:2", "model.name", "resnet", "mlp"}},
      {"data: {dataset: synthetic}\nclient: {optimizer: {name: sgd, lr: -0.1}}\n", {"client.optimizer.lr", "> 0"}},
  };
  for (const auto& c : cases) {
    auto s = LoadScenario(WriteScenario("bad.yaml", c.yaml), {});
    ASSERT_FALSE(s.ok()) << c.yaml;
    for (const auto& m : c.must_contain)
      EXPECT_NE(s.status().message().find(m), std::string::npos) << "'" << m << "' not in: " << s.status().message();
  }
}

TEST(Scenario, OverridesAreValidatedLikeTheFile) {
  std::string path = WriteScenario("ok.yaml", kValid);
  auto good = LoadScenario(path, {"strategy.rounds=7"});
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->root.Child("strategy").Get<int>("rounds", 0), 7);
  auto bad = LoadScenario(path, {"strategy.rounds=0"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--set strategy.rounds"), std::string::npos) << bad.status().message();
  auto unknown = LoadScenario(path, {"strategy.roundz=3"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown key"), std::string::npos);
}

TEST(Scenario, MissingFileIsNotFound) {
  auto s = LoadScenario("/nonexistent/scenario.yaml", {});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("/nonexistent/scenario.yaml"), std::string::npos);
}

TEST(Scenario, ShippedScenariosValidate) {
  for (const auto& e : fs::directory_iterator(fs::path(SHOAL_SOURCE_DIR) / "scenarios")) {
    if (e.path().extension() != ".yaml") continue;
    auto s = LoadScenario(e.path().string(), {});
    EXPECT_TRUE(s.ok()) << e.path() << ": " << s.status().ToString();
  }
}

}  // namespace
}  // namespace shoal::sim
