// `shoal-sim privacy`: the privacy accountants from the command line.
//
//   shoal-sim privacy --noise z --sample-rate q --steps T --delta d [--format json]
// prints epsilon after T Poisson-subsampled Gaussian steps from the RDP
// accountant (tight and classic conversions, best order) and from the PLD
// accountant; with --format json one object with keys noise, sample_rate,
// steps, delta, epsilon_rdp, best_order, epsilon_rdp_classic, epsilon_pld.
// `--target-epsilon e` instead of --noise calibrates the noise multiplier
// (Opacus get_noise_multiplier on the RDP accountant, key `noise`).
// Invalid settings (z < 0, q outside (0, 1], delta outside (0, 1)) exit 1
// with a message naming the flag.
#pragma once

#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace shoal::sim {

struct PrivacyCliArgs {
  double noise = -1;           // set by --noise
  double target_epsilon = -1;  // set by --target-epsilon
  double sample_rate = 0;
  int64_t steps = 0;
  double delta = 1e-5;
  double tolerance = 0.01;     // epsilon tolerance of the calibration
  double pld_interval = 1e-4;  // PLD loss grid step
  std::string format = "text"; // text | json
  bool noise_given = false, target_given = false;
};

// Adds the `privacy` subcommand to `app`, filling `args` when parsed.
CLI::App* RegisterPrivacyCommand(CLI::App& app, PrivacyCliArgs& args);
// Runs it; returns the process exit code.
int RunPrivacyCommand(const PrivacyCliArgs& args);

}  // namespace shoal::sim
