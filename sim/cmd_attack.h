// `shoal-sim attack SCENARIO [--out DIR]`: a gradient-inversion probe campaign.
//
// Runs the scenario with every `attacks:` probe attached to the strategy as a
// server-side observer (attacks::ProbeStrategy), then runs each attack on each
// observed update it asked for (in parallel, one GradientOracle per worker),
// and writes <out>/attacks.jsonl (one object per attacked update: attack,
// round, client, psnr, ssim, label_acc, ...), <out>/attack_summary.json (means
// per attack), PNG grids (<out>/grids/: originals above reconstructions) and
// the run's metrics.jsonl.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace shoal::sim {

struct AttackCliArgs {
  std::string scenario;
  std::string out;                  // default: runs/<name>_attack
  std::vector<std::string> sets;    // --set overrides
  int threads = 0;                  // 0 = scenario threads or all cores
};

// Adds the `attack` subcommand to `app`, filling `args` when parsed.
CLI::App* RegisterAttackCommand(CLI::App& app, AttackCliArgs& args);
// Runs it; returns the process exit code.
int RunAttackCommand(const AttackCliArgs& args);

}  // namespace shoal::sim
