// Simulator: drives a Strategy and its ClientProcedure over thousands of
// in-process clients on a virtual clock.
//
// Compute runs early and in parallel on a worker pool (one client per worker,
// no nested threading); results are committed to the strategy in virtual-time
// order with FIFO tie-breaks, so a run is bit-identical for any thread count.
// Memory: one model + buffers per worker, plus the updates in flight.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/registry.h"
#include "core/metrics.h"
#include "sim/device_profiles.h"
#include "sim/scenario.h"

namespace shoal::sim {

struct SimOptions {
  int threads = 1;
  int eval_every = 5;              // evaluate when rounds_done % eval_every == 0, and at the end
  int64_t eval_max_samples = 0;    // 0 = full test set
  uint64_t seed = 0;
  // Virtual compute speed (samples per second) and link bandwidth (bytes per
  // second, 0 = infinite) used for every client; heterogeneous device
  // profiles refine this.
  double samples_per_second = 1000.0;
  double bandwidth_bytes_per_s = 0.0;
  // Per-client device profiles (speed, bandwidth, latency, availability,
  // dropout); when set they replace the two homogeneous values above. Must
  // cover every client of the experiment.
  std::shared_ptr<const DeviceProfiles> devices;
};

struct SimSummary {
  int64_t rounds = 0;
  double final_test_acc = 0, final_test_loss = 0;
  double wall_seconds = 0, virtual_seconds = 0;
  int64_t bytes_up = 0, bytes_down = 0;
  std::vector<float> final_model;
};

class Simulator {
 public:
  // `exp` must outlive the simulator.
  Simulator(Experiment& exp, SimOptions opts, MetricsSink& sink);
  ~Simulator();
  Result<SimSummary> Run();

  // Evaluates params on rows `indices` of `data` (all rows when empty):
  // (mean loss, accuracy). Parallel with a fixed-order reduction.
  std::pair<double, double> Evaluate(std::span<const float> params, const Dataset& data,
                                     std::span<const int64_t> indices = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shoal::sim
