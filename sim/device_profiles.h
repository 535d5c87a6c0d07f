// DeviceProfiles: the simulated hardware and connectivity of every client.
//
// A profile gives a client's compute speed (samples per second), download and
// upload bandwidth (bytes per second, 0 = infinite), one-way latency (seconds,
// paid once per transfer), availability and a per-task dropout probability.
// Availability is either a probability drawn per task at dispatch, or periodic
// on/off windows with a per-client random phase (a client that goes offline
// before its upload arrives fails when it goes offline).
//
// Profiles come from distributions (scenario `devices:` section) or from a CSV
// trace. Every random draw is keyed: the profile of client c by
// RngStream(seed, -1, c, kDevice), per-task availability/dropout by
// RngStream(seed, task_id, c, kDevice), so profiles never depend on the
// order in which anything runs. Immutable after construction; thread-safe.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/rng.h"
#include "core/status.h"

namespace shoal::sim {

struct DeviceProfile {
  double speed = 1000.0;         // samples per second; > 0
  double bandwidth_down = 0.0;   // bytes per second; 0 = infinite
  double bandwidth_up = 0.0;     // bytes per second; 0 = infinite
  double latency_s = 0.0;        // per transfer; >= 0
  double availability = 1.0;     // probability of being reachable at dispatch; [0, 1]
  double dropout = 0.0;          // probability a task is abandoned mid-way; [0, 1)
  double on_s = 0.0, off_s = 0.0, phase_s = 0.0;  // periodic on/off; on_s = 0 disables
  bool straggler = false;        // chosen as a straggler (reporting)
};

// A scalar drawn per client: constant, uniform(low, high) or lognormal with
// the given arithmetic mean and log-space sigma (mu = ln(mean) - sigma^2/2).
struct Distribution {
  enum class Kind { kConstant, kUniform, kLognormal } kind = Kind::kConstant;
  double value = 0, low = 0, high = 0, mean = 0, sigma = 0;
  // Reads a map {dist: constant (default) | uniform | lognormal, value | low,
  // high | mean, sigma}, e.g. `speed: {value: 100}` or
  // `speed: {dist: lognormal, mean: 100, sigma: 0.5}`.
  static Distribution Parse(const ConfigNode& parent, const std::string& key, double def, bool positive);
  double Draw(RngStream& rng) const;
};

struct DeviceOptions {
  bool configured = false;       // a `devices:` section was given
  std::string trace;             // CSV trace path (exclusive with distributions)
  Distribution speed{Distribution::Kind::kConstant, 1000.0};
  Distribution bandwidth_down{Distribution::Kind::kConstant, 0.0};
  Distribution bandwidth_up{Distribution::Kind::kConstant, 0.0};
  Distribution latency{Distribution::Kind::kConstant, 0.0};
  double straggler_fraction = 0.0;  // stragglers.fraction, [0, 1]: exactly round(f*N) clients
  double straggler_slowdown = 1.0;  // stragglers.slowdown, >= 1: their speed is divided by this
  double availability = 1.0;        // availability.probability, [0, 1]
  double on_mean_s = 0.0;           // availability.on_s: on-period length (0 = no periods)
  double off_mean_s = 0.0;          // availability.off_s: off-period length (periodic, random phase)
  double dropout = 0.0;             // [0, 1)
  double failure_detect_s = 1.0;    // time for the server to notice an unreachable/dropped client; > 0
  // Parses `devices:`; errors name file:line:key. A trace is read (and its
  // columns checked) here so `validate` reports a bad trace.
  static Result<DeviceOptions> Parse(const ConfigNode& devices);
};

class DeviceProfiles {
 public:
  DeviceProfiles() = default;
  // Every client identical (the simulator's default without `devices:`).
  static DeviceProfiles Homogeneous(int num_clients, double speed, double bandwidth, double failure_detect_s = 1.0);
  static Result<DeviceProfiles> Make(const DeviceOptions& opts, int num_clients, uint64_t seed);
  // Reads a CSV with header columns client,speed,bandwidth_up,bandwidth_down,
  // latency,availability,dropout (any order, extra columns ignored). Errors
  // name the file, and the line and column of a bad value. Make() then
  // requires a row for every client of the run.
  static Result<std::vector<std::pair<int, DeviceProfile>>> ReadTrace(const std::string& path);

  int size() const { return static_cast<int>(profiles_.size()); }
  const DeviceProfile& of(int client) const { return profiles_[static_cast<size_t>(client)]; }
  double failure_detect_s() const { return failure_detect_s_; }
  uint64_t seed() const { return seed_; }

  // Whether the client answers a task dispatched at `t_s` (availability draw
  // for the task, or inside an on-period).
  bool AvailableAt(int client, double t_s, uint64_t task_id) const;
  // End of the on-period containing `t_s` (infinity without periods).
  double OnlineUntil(int client, double t_s) const;
  // Whether this task drops out; *fraction in [0, 1) is how far it got.
  bool DropsOut(int client, uint64_t task_id, double* fraction) const;

 private:
  std::vector<DeviceProfile> profiles_;
  double failure_detect_s_ = 1.0;
  uint64_t seed_ = 0;
};

}  // namespace shoal::sim
