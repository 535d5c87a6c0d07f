// The one list of strategies.
#include "algorithms/registry.h"

#include <functional>

#include "algorithms/apfl.h"
#include "algorithms/fedavg.h"
#include "algorithms/fedbuff.h"
#include "algorithms/fedfix.h"
#include "algorithms/fedopt.h"
#include "algorithms/fedprox.h"
#include "algorithms/fedspeed.h"
#include "algorithms/fetchsgd.h"
#include "algorithms/pfedme.h"
#include "algorithms/privacy/dp_algorithms.h"
#include "algorithms/scaffold.h"

namespace shoal {
namespace {

using Factory = std::function<Result<Algorithm>(const ConfigNode&, const ConfigNode&)>;

Result<Algorithm> MakeFedAvg(const ConfigNode& s, const ConfigNode& c, double default_momentum) {
  RoundOptions round = RoundOptions::Parse(s);
  FedAvgOptions opts = FedAvgOptions::Parse(s, default_momentum);
  RETURN_IF_ERROR(s.status());
  ASSIGN_OR_RETURN(LocalSgdOptions local, LocalSgdOptions::Parse(c));
  Algorithm a;
  a.strategy = std::make_unique<FedAvgStrategy>(round, opts);
  a.procedure = std::make_shared<FedAvgClient>(std::move(local));
  return a;
}

// Procedures that run plain SGD steps themselves (APFL, FedSpeed) take eta
// from client.optimizer and need it to be sgd.
Status RequirePlainSgd(const ConfigNode& c, const LocalSgdOptions& local, const std::string& strategy) {
  if (local.optimizer.name == "sgd") return Status::Ok();
  return InvalidArgument(c.Child("optimizer").Where("name") + ": " + strategy +
                         " runs plain SGD steps; expected 'sgd', got '" + local.optimizer.name + "'");
}

Result<Algorithm> MakeFedProx(const ConfigNode& s, const ConfigNode& c) {
  RoundOptions round = RoundOptions::Parse(s);
  ASSIGN_OR_RETURN(LocalSgdOptions local, LocalSgdOptions::Parse(c));
  FedProxOptions opts = FedProxOptions::Parse(s, local.training.epochs);
  RETURN_IF_ERROR(s.status());
  Algorithm a;
  a.strategy = std::make_unique<FedProxStrategy>(round, opts);
  a.procedure = std::make_shared<FedProxClient>(std::move(local), opts.mu);
  return a;
}

Result<Algorithm> MakeScaffold(const ConfigNode& s, const ConfigNode& c) {
  RoundOptions round = RoundOptions::Parse(s);
  FedAvgOptions server;
  server.server_lr = s.Get<double>("server_lr", 1.0, [](const double& v) { return v > 0; }, "> 0");
  server.uniform_weighting = s.Get<std::string>("weighting", "uniform",
                                                [](const std::string& v) { return v == "uniform" || v == "samples"; },
                                                "'uniform' or 'samples'") == "uniform";
  std::string option = s.Get<std::string>("option", "II", [](const std::string& v) { return v == "I" || v == "II"; },
                                          "'I' or 'II'");
  RETURN_IF_ERROR(s.status());
  ASSIGN_OR_RETURN(LocalSgdOptions local, LocalSgdOptions::Parse(c));
  Algorithm a;
  a.strategy = std::make_unique<ScaffoldStrategy>(round, server);
  a.procedure = std::make_shared<ScaffoldClient>(std::move(local), option == "I");
  return a;
}

Result<Algorithm> MakeFedOpt(const ConfigNode& s, const ConfigNode& c, FedOptOptions::Rule rule) {
  RoundOptions round = RoundOptions::Parse(s);
  FedOptOptions opts = FedOptOptions::Parse(s, rule);
  RETURN_IF_ERROR(s.status());
  ASSIGN_OR_RETURN(LocalSgdOptions local, LocalSgdOptions::Parse(c));
  Algorithm a;
  a.strategy = std::make_unique<FedOptStrategy>(round, opts);
  a.procedure = std::make_shared<FedAvgClient>(std::move(local));
  return a;
}

Result<Algorithm> MakePFedMe(const ConfigNode& s, const ConfigNode& c) {
  RoundOptions round = RoundOptions::Parse(s);
  PFedMeOptions opts = PFedMeOptions::Parse(s, c);
  RETURN_IF_ERROR(s.status());
  RETURN_IF_ERROR(c.status());
  Algorithm a;
  a.strategy = std::make_unique<PFedMeStrategy>(round, opts);
  a.procedure = std::make_shared<PFedMeClient>(opts);
  return a;
}

// APFL and FedSpeed: a round strategy plus a client that runs its own plain
// SGD steps, both configured by one Options struct.
template <typename Options, typename StrategyT, typename ClientT>
Result<Algorithm> MakePlainSgdAlgorithm(const ConfigNode& s, const ConfigNode& c) {
  const std::string name = s.Get<std::string>("name", "");
  RoundOptions round = RoundOptions::Parse(s);
  Options opts = Options::Parse(s);
  RETURN_IF_ERROR(s.status());
  ASSIGN_OR_RETURN(LocalSgdOptions local, LocalSgdOptions::Parse(c));
  RETURN_IF_ERROR(RequirePlainSgd(c, local, name));
  Algorithm a;
  a.strategy = std::make_unique<StrategyT>(round, opts);
  a.procedure = std::make_shared<ClientT>(std::move(local), opts);
  return a;
}

// Asynchronous strategies (FedBuff, FedFix, async FedAvg) train with the
// FedAvg client (local SGD; delta relative to the model the task started from).
Result<Algorithm> MakeAsync(const ConfigNode& s, const ConfigNode& c, const std::string& which) {
  Algorithm a;
  if (which == "fedbuff") {
    FedBuffOptions opts = FedBuffOptions::Parse(s);
    RETURN_IF_ERROR(s.status());
    a.strategy = std::make_unique<FedBuffStrategy>(opts);
  } else {
    AsyncOptions opts = AsyncOptions::Parse(s, which == "fedfix");
    RETURN_IF_ERROR(s.status());
    if (which == "fedfix") {
      a.strategy = std::make_unique<FedFixStrategy>(opts);
    } else {
      a.strategy = std::make_unique<AsyncFedAvgStrategy>(opts);
    }
  }
  ASSIGN_OR_RETURN(LocalSgdOptions local, LocalSgdOptions::Parse(c));
  a.procedure = std::make_shared<FedAvgClient>(std::move(local));
  return a;
}

Result<Algorithm> MakeFetchSgd(const ConfigNode& s, const ConfigNode& c) {
  RoundOptions round = RoundOptions::Parse(s);
  FetchSgdOptions opts = FetchSgdOptions::Parse(s);
  RETURN_IF_ERROR(s.status());
  ASSIGN_OR_RETURN(LocalSgdOptions local, LocalSgdOptions::Parse(c));
  Algorithm a;
  a.strategy = std::make_unique<FetchSgdStrategy>(round, opts);
  a.procedure = std::make_shared<FedAvgClient>(std::move(local));
  return a;
}

const std::vector<std::pair<std::string, Factory>>& Registry() {
  static const std::vector<std::pair<std::string, Factory>> kEntries = {
      {"fedavg", [](const ConfigNode& s, const ConfigNode& c) { return MakeFedAvg(s, c, 0.0); }},
      {"fedavgm", [](const ConfigNode& s, const ConfigNode& c) { return MakeFedAvg(s, c, 0.9); }},
      {"fedprox", MakeFedProx},
      {"scaffold", MakeScaffold},
      {"fedadam", [](const ConfigNode& s, const ConfigNode& c) { return MakeFedOpt(s, c, FedOptOptions::Rule::kAdam); }},
      {"fedyogi", [](const ConfigNode& s, const ConfigNode& c) { return MakeFedOpt(s, c, FedOptOptions::Rule::kYogi); }},
      {"fedadagrad",
       [](const ConfigNode& s, const ConfigNode& c) { return MakeFedOpt(s, c, FedOptOptions::Rule::kAdagrad); }},
      {"pfedme", MakePFedMe},
      {"apfl", MakePlainSgdAlgorithm<ApflOptions, ApflStrategy, ApflClient>},
      {"fedspeed", MakePlainSgdAlgorithm<FedSpeedOptions, FedSpeedStrategy, FedSpeedClient>},
      {"fedbuff", [](const ConfigNode& s, const ConfigNode& c) { return MakeAsync(s, c, "fedbuff"); }},
      {"fedfix", [](const ConfigNode& s, const ConfigNode& c) { return MakeAsync(s, c, "fedfix"); }},
      {"async_fedavg", [](const ConfigNode& s, const ConfigNode& c) { return MakeAsync(s, c, "async_fedavg"); }},
      // Differential privacy: DP-SGD clients (algorithms/privacy/dp_sgd.h).
      {"dp_sgd", privacy::MakeDpSgd},
      // Compression: FetchSGD's sketched server momentum/error (algorithms/fetchsgd.h).
      {"fetchsgd", MakeFetchSgd},
  };
  return kEntries;
}

}  // namespace

std::vector<std::string> StrategyNames() {
  std::vector<std::string> out;
  for (const auto& [name, f] : Registry()) out.push_back(name);
  return out;
}

Result<Algorithm> MakeAlgorithm(const ConfigNode& strategy, const ConfigNode& client) {
  std::string name = strategy.Get<std::string>("name", "fedavg");
  for (const auto& [n, f] : Registry())
    if (n == name) {
      ASSIGN_OR_RETURN(Algorithm a, f(strategy, client));
      ASSIGN_OR_RETURN(a.pipeline, ParsePipeline(client));
      // Optional strategy.dp: wraps the strategy in CentralDp (algorithms/privacy/dp_algorithms.h).
      RETURN_IF_ERROR(privacy::WrapWithDp(name, strategy, a));
      return a;
    }
  std::string valid;
  for (const auto& n : StrategyNames()) valid += (valid.empty() ? "" : ", ") + n;
  return InvalidArgument(strategy.Where("name") + ": unknown strategy '" + name + "'; valid names: " + valid);
}

}  // namespace shoal
