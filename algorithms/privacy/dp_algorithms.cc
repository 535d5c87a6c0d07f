// Registry glue for differential privacy; see dp_algorithms.h.
#include "algorithms/privacy/dp_algorithms.h"

#include <algorithm>

#include "algorithms/fedavg.h"
#include "algorithms/privacy/dp_fedavg.h"
#include "algorithms/privacy/dp_sgd.h"

namespace shoal::privacy {
namespace {

// Strategies whose server step consumes the mean of the accepted deltas.
constexpr const char* kMeanStrategies[] = {"fedavg", "fedavgm", "fedprox", "fedadam", "fedyogi", "fedadagrad"};

}  // namespace

Status WrapWithDp(const std::string& name, const ConfigNode& s, Algorithm& a) {
  if (name == "dp_sgd" || !s.Has("dp")) return Status::Ok();
  const ConfigNode dp = s.Child("dp");
  ASSIGN_OR_RETURN(CentralDpOptions opts, CentralDpOptions::Parse(dp));
  if (opts.level == DpLevel::kCentralExample)
    return InvalidArgument(dp.Where("level") + ": 'central_example' is the level of strategy 'dp_sgd'; use it instead");
  AccountingFn accounting;
  if (opts.level == DpLevel::kCentralClient) {
    const bool mean = std::find(std::begin(kMeanStrategies), std::end(kMeanStrategies), name) != std::end(kMeanStrategies);
    if (!mean)
      return InvalidArgument(s.Where("dp") + ": central DP wraps strategies that average the deltas they accept "
                             "(fedavg, fedavgm, fedprox, fedadam, fedyogi, fedadagrad); got '" + name + "'");
    if (s.Get<double>("over_selection", 0.0) != 0)
      return InvalidArgument(s.Where("over_selection") + ": central DP needs over_selection 0 (the noise is "
                             "calibrated to the cohort that was dispatched)");
  } else {  // local: clients add the noise; one Gaussian (q = 1) per round each
    bool has_noise = false;
    for (const auto& t : a.pipeline->transforms()) has_noise = has_noise || t->name() == "local_noise";
    if (!has_noise)
      return InvalidArgument(dp.Where("level") + ": 'local' needs a 'local_noise' entry in client.pipeline");
    const double z = opts.noise_multiplier;
    accounting = [z](const StrategyContext&, int) -> Result<RoundAccounting> {
      RETURN_IF_ERROR(ValidateMechanism(z, 1.0, 1));
      RoundAccounting r;
      r.sample_rate = 1;
      for (double o : DefaultOrders()) r.rdp.push_back(RdpPoissonGaussian(1.0, z, o));
      return r;
    };
  }
  a.strategy = std::make_unique<CentralDp>(std::move(a.strategy), opts, std::move(accounting));
  return Status::Ok();
}

Result<Algorithm> MakeDpSgd(const ConfigNode& s, const ConfigNode& c) {
  RoundOptions round = RoundOptions::Parse(s);
  FedAvgOptions server = FedAvgOptions::Parse(s, 0.0);
  RETURN_IF_ERROR(s.status());
  ASSIGN_OR_RETURN(DpSgdOptions local, DpSgdOptions::Parse(c));
  ASSIGN_OR_RETURN(CentralDpOptions dp, CentralDpOptions::Parse(s.Child("dp")));
  if (s.Child("dp").Has("level") && dp.level != DpLevel::kCentralExample)
    return InvalidArgument(s.Child("dp").Where("level") + ": dp_sgd is accounted at level 'central_example'");
  dp.level = DpLevel::kCentralExample;
  dp.noise_multiplier = local.noise_multiplier;
  Algorithm a;
  a.strategy = std::make_unique<CentralDp>(std::make_unique<FedAvgStrategy>(round, server), dp,
                                           ExampleLevelAccounting(local));
  a.procedure = std::make_shared<DpSgdClient>(local);
  return a;
}

}  // namespace shoal::privacy
