// `shoal-sim privacy`; see cmd_privacy.h.
#include "sim/cmd_privacy.h"

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>

#include "algorithms/privacy/accountant_pld.h"
#include "algorithms/privacy/accountant_rdp.h"

namespace shoal::sim {
namespace {

int Fail(const Status& st) {
  spdlog::error("privacy: {}", st.message());
  return 1;
}

}  // namespace

CLI::App* RegisterPrivacyCommand(CLI::App& app, PrivacyCliArgs& a) {
  auto* cmd = app.add_subcommand("privacy", "epsilon of T Poisson-subsampled Gaussian steps (RDP and PLD accountants)");
  auto* noise = cmd->add_option("--noise", a.noise, "noise multiplier z (noise std / L2 sensitivity), >= 0");
  auto* target = cmd->add_option("--target-epsilon", a.target_epsilon, "find the noise multiplier reaching this epsilon");
  noise->excludes(target);
  cmd->add_option("--sample-rate", a.sample_rate, "sampling rate q in (0, 1]")->required();
  cmd->add_option("--steps", a.steps, "number of steps (compositions), >= 0")->required();
  cmd->add_option("--delta", a.delta, "delta in (0, 1) (default 1e-5)");
  cmd->add_option("--tolerance", a.tolerance, "epsilon tolerance of --target-epsilon (default 0.01)");
  cmd->add_option("--pld-interval", a.pld_interval, "PLD loss discretisation interval (default 1e-4)");
  cmd->add_option("--format", a.format, "text | json")->check(CLI::IsMember({"text", "json"}));
  cmd->callback([&a, noise, target] {
    a.noise_given = noise->count() > 0;
    a.target_given = target->count() > 0;
  });
  return cmd;
}

int RunPrivacyCommand(const PrivacyCliArgs& a) {
  using namespace privacy;
  if (!a.noise_given && !a.target_given) return Fail(InvalidArgument("give --noise or --target-epsilon"));
  if (a.noise_given) {
    Status st = ValidateMechanism(a.noise, a.sample_rate, a.steps);
    if (!st.ok()) return Fail(InvalidArgument("--noise/--sample-rate/--steps: " + st.message()));
  } else {
    Status st = ValidateMechanism(1.0, a.sample_rate, a.steps);
    if (!st.ok()) return Fail(InvalidArgument("--sample-rate/--steps: " + st.message()));
    if (!(a.target_epsilon > 0)) return Fail(InvalidArgument("--target-epsilon must be > 0"));
  }
  if (Status st = ValidateDelta(a.delta); !st.ok()) return Fail(InvalidArgument("--delta: " + st.message()));
  auto rdp_eps = [&](double z) {
    RdpAccountant acc;
    acc.AddPoissonGaussian(a.sample_rate, z, a.steps);
    return acc;
  };
  double z = a.noise;
  if (a.target_given) {
    auto found = NoiseForEpsilon(a.target_epsilon, a.tolerance,
                                 [&](double s) -> Result<double> { return rdp_eps(s).Epsilon(a.delta).epsilon; });
    if (!found.ok()) return Fail(found.status());
    z = *found;
  }
  const RdpAccountant acc = rdp_eps(z);
  const EpsilonAtOrder tight = acc.Epsilon(a.delta), classic = acc.Epsilon(a.delta, Conversion::kClassic);
  if (tight.at_boundary)
    spdlog::warn("privacy: the best RDP order {} is at the end of the order list; epsilon may be loose", tight.order);
  double pld = std::numeric_limits<double>::infinity();
  if (z > 0 && a.steps > 0) {
    PldOptions po;
    po.interval = a.pld_interval;
    PldAccountant p(po);
    if (Status st = p.AddPoissonGaussian(a.sample_rate, z, a.steps); !st.ok()) return Fail(st);
    auto e = p.Epsilon(a.delta);
    if (!e.ok()) return Fail(e.status());
    pld = *e;
  } else if (a.steps == 0) {
    pld = 0;
  }
  if (a.format == "json") {
    nlohmann::ordered_json j;
    j["noise"] = z;
    j["sample_rate"] = a.sample_rate;
    j["steps"] = a.steps;
    j["delta"] = a.delta;
    j["epsilon_rdp"] = tight.epsilon;  // +inf prints as null
    j["best_order"] = tight.order;
    j["epsilon_rdp_classic"] = classic.epsilon;
    j["epsilon_pld"] = pld;
    if (a.target_given) j["target_epsilon"] = a.target_epsilon;
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  if (a.target_given) std::printf("noise multiplier for epsilon <= %g: %.6g\n", a.target_epsilon, z);
  std::printf("noise %g, sample rate %g, steps %lld, delta %g\n", z, a.sample_rate, static_cast<long long>(a.steps),
              a.delta);
  std::printf("epsilon (RDP, tight conversion):   %.6f (order %g)\n", tight.epsilon, tight.order);
  std::printf("epsilon (RDP, classic conversion): %.6f (order %g)\n", classic.epsilon, classic.order);
  std::printf("epsilon (PLD, interval %g):      %.6f\n", a.pld_interval, pld);
  return 0;
}

}  // namespace shoal::sim
