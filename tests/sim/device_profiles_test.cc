#include "sim/device_profiles.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "core/config.h"

namespace shoal::sim {
namespace {

Result<DeviceOptions> ParseDevices(const std::string& yaml) {
  auto root = ConfigNode::Parse(yaml, "d.yaml").value();
  return DeviceOptions::Parse(root.Child("devices"));
}

DeviceProfiles MakeProfiles(const std::string& yaml, int n, uint64_t seed = 5) {
  auto o = ParseDevices(yaml);
  EXPECT_TRUE(o.ok()) << o.status().ToString();
  auto p = DeviceProfiles::Make(*o, n, seed);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return std::move(p).value();
}

TEST(DeviceProfiles, StragglerFractionIsExact) {
  DeviceProfiles p = MakeProfiles("devices: {speed: {value: 100}, stragglers: {fraction: 0.5, slowdown: 10}}\n", 1000);
  int slow = 0, fast = 0;
  for (int c = 0; c < p.size(); ++c) {
    if (p.of(c).straggler) {
      ++slow;
      EXPECT_DOUBLE_EQ(p.of(c).speed, 10.0);
    } else {
      ++fast;
      EXPECT_DOUBLE_EQ(p.of(c).speed, 100.0);
    }
  }
  EXPECT_EQ(slow, 500);
  EXPECT_EQ(fast, 500);
  // round(0.3 * 7) = 2 stragglers.
  DeviceProfiles q = MakeProfiles("devices: {stragglers: {fraction: 0.3, slowdown: 4}}\n", 7);
  int s = 0;
  for (int c = 0; c < q.size(); ++c) s += q.of(c).straggler;
  EXPECT_EQ(s, 2);
}

TEST(DeviceProfiles, LognormalSpeedHasRequestedMoments) {
  const int n = 20000;
  DeviceProfiles p = MakeProfiles("devices: {speed: {dist: lognormal, mean: 100, sigma: 0.5}}\n", n);
  double sum = 0, lsum = 0, lsq = 0;
  for (int c = 0; c < n; ++c) {
    double v = p.of(c).speed;
    ASSERT_GT(v, 0);
    sum += v;
    lsum += std::log(v);
    lsq += std::log(v) * std::log(v);
  }
  const double mean = sum / n, lmean = lsum / n, lsd = std::sqrt(lsq / n - lmean * lmean);
  // Arithmetic mean 100 (sd of the mean ~ 100 * sqrt(e^0.25 - 1) / sqrt(n) = 0.38).
  EXPECT_NEAR(mean, 100.0, 1.5);
  // Log-space: mu = ln(100) - 0.125, sigma = 0.5 (sd of estimates ~ 0.0035, 0.0025).
  EXPECT_NEAR(lmean, std::log(100.0) - 0.125, 0.015);
  EXPECT_NEAR(lsd, 0.5, 0.012);
}

TEST(DeviceProfiles, ProfilesAreKeyedByClient) {
  const std::string yaml = "devices: {speed: {dist: uniform, low: 10, high: 20}, latency: {dist: lognormal, mean: 0.1}}\n";
  DeviceProfiles a = MakeProfiles(yaml, 10), b = MakeProfiles(yaml, 100);
  for (int c = 0; c < 10; ++c) {
    EXPECT_EQ(a.of(c).speed, b.of(c).speed);
    EXPECT_EQ(a.of(c).latency_s, b.of(c).latency_s);
    EXPECT_GE(a.of(c).speed, 10);
    EXPECT_LT(a.of(c).speed, 20);
  }
  DeviceProfiles other = MakeProfiles(yaml, 10, 6);
  EXPECT_NE(a.of(0).speed, other.of(0).speed);
}

TEST(DeviceProfiles, AvailabilityProbabilityAndPeriods) {
  DeviceProfiles p = MakeProfiles("devices: {availability: {probability: 0.3}, dropout: 0.2}\n", 4);
  int avail = 0, drops = 0;
  const int tasks = 20000;
  for (int t = 1; t <= tasks; ++t) {
    avail += p.AvailableAt(t % 4, 0.0, static_cast<uint64_t>(t));
    double f = -1;
    if (p.DropsOut(t % 4, static_cast<uint64_t>(t), &f)) {
      ++drops;
      EXPECT_GE(f, 0.0);
      EXPECT_LT(f, 1.0);
    }
  }
  EXPECT_NEAR(avail / double(tasks), 0.3, 0.015);
  EXPECT_NEAR(drops / double(tasks), 0.2, 0.015);
  // Periodic: on 10 s, off 30 s, random phase: on a quarter of the time, and
  // OnlineUntil is the end of the current on-period.
  DeviceProfiles q = MakeProfiles("devices: {availability: {on_s: 10, off_s: 30}}\n", 50);
  int on = 0, samples = 0;
  for (int c = 0; c < 50; ++c)
    for (double t = 0; t < 400; t += 0.5, ++samples)
      if (q.AvailableAt(c, t, 1)) {
        ++on;
        double until = q.OnlineUntil(c, t);
        EXPECT_GT(until, t);
        EXPECT_LE(until, t + 10 + 1e-9);
        EXPECT_FALSE(q.AvailableAt(c, until + 1e-6, 1));
      }
  EXPECT_NEAR(on / double(samples), 0.25, 0.01);
}

TEST(DeviceProfiles, RejectsBadValuesNamingTheKey) {
  auto err = [](const std::string& yaml) {
    auto o = ParseDevices(yaml);
    return o.ok() ? std::string() : o.status().message();
  };
  EXPECT_NE(err("devices: {speed: {value: 0}}\n").find("devices.speed"), std::string::npos);
  EXPECT_NE(err("devices: {speed: {dist: gamma, mean: 3}}\n").find("devices.speed.dist"), std::string::npos);
  EXPECT_NE(err("devices: {speed: {dist: lognormal}}\n").find("devices.speed.mean"), std::string::npos);
  EXPECT_NE(err("devices: {stragglers: {fraction: 1.5}}\n").find("devices.stragglers.fraction"), std::string::npos);
  EXPECT_NE(err("devices: {stragglers: {slowdown: 0.5}}\n").find("devices.stragglers.slowdown"), std::string::npos);
  EXPECT_NE(err("devices: {dropout: 1}\n").find("devices.dropout"), std::string::npos);
  EXPECT_NE(err("devices: {availability: {probability: -0.1}}\n").find("devices.availability.probability"),
            std::string::npos);
}

class TraceTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    auto dir = std::filesystem::temp_directory_path() / ("shoal_trace_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::string path = (dir / name).string();
    std::ofstream(path) << text;
    return path;
  }
};

TEST_F(TraceTest, ParsesEveryColumnInAnyOrder) {
  std::string path = Write("ok.csv",
                           "speed,client,bandwidth_up,bandwidth_down,latency,availability,dropout,extra\n"
                           "50,1,1000,2000,0.1,0.9,0.05,x\n"
                           "25.5,0,0,0,0,1,0,y\n");
  auto o = ParseDevices("devices: {trace: " + path + "}\n");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  auto p = DeviceProfiles::Make(*o, 2, 1);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_DOUBLE_EQ(p->of(0).speed, 25.5);
  EXPECT_DOUBLE_EQ(p->of(1).speed, 50);
  EXPECT_DOUBLE_EQ(p->of(1).bandwidth_up, 1000);
  EXPECT_DOUBLE_EQ(p->of(1).bandwidth_down, 2000);
  EXPECT_DOUBLE_EQ(p->of(1).latency_s, 0.1);
  EXPECT_DOUBLE_EQ(p->of(1).availability, 0.9);
  EXPECT_DOUBLE_EQ(p->of(1).dropout, 0.05);
  // A run with more clients than the trace describes is an error naming the client.
  auto more = DeviceProfiles::Make(*o, 3, 1);
  ASSERT_FALSE(more.ok());
  EXPECT_NE(more.status().message().find("no row for client 2"), std::string::npos);
}

TEST_F(TraceTest, MissingColumnNamesFileAndColumn) {
  std::string path = Write("nolat.csv", "client,speed,bandwidth_up,bandwidth_down,availability,dropout\n0,1,0,0,1,0\n");
  auto o = ParseDevices("devices: {trace: " + path + "}\n");
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find(path), std::string::npos) << o.status().message();
  EXPECT_NE(o.status().message().find("missing column 'latency'"), std::string::npos) << o.status().message();
  EXPECT_NE(o.status().message().find("devices.trace"), std::string::npos) << o.status().message();
}

TEST_F(TraceTest, BadValuesNameLineAndColumn) {
  std::string path = Write("bad.csv",
                           "client,speed,bandwidth_up,bandwidth_down,latency,availability,dropout\n"
                           "0,10,0,0,0,1,0\n"
                           "1,10,0,0,0,1.5,0\n");
  auto o = ParseDevices("devices: {trace: " + path + "}\n");
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("line 3 column 'availability'"), std::string::npos) << o.status().message();
  auto missing = ParseDevices("devices: {trace: /nonexistent/trace.csv}\n");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/trace.csv"), std::string::npos);
  auto both = ParseDevices("devices: {trace: " + path + ", speed: {value: 3}}\n");
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.status().message().find("devices.speed"), std::string::npos) << both.status().message();
}

}  // namespace
}  // namespace shoal::sim
