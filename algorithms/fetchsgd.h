// FetchSGD (Rothchild, Panda, Ullah, Ivkin, Stoica, Braverman, Gonzalez,
// Arora, ICML 2020, arXiv 2007.07682; kiddyboots216/CommEfficient
// fed_aggregator.py _server_helper_sketched). shared/COMPRESSION.md §2.
//
// Clients upload the count sketch of their update (client.pipeline entry
// "fetchsgd", stateless clients). Server, per round, on S = mean_i T_i:
//   S_u <- rho S_u + S;  S_e <- S_e + S_u;
//   x^_i = median_r s_r(i) S_e[r, h_r(i)];  Delta = top-k of x^ by |x^_i|;
//   S_e and S_u are zeroed at every bucket Delta touches (the reference
//   code's "momentum factor masking"; subtracting S(Delta) diverged there);
//   x <- x + lr Delta.
// The optional second round trip fetching exact values of the k coordinates
// is not implemented. Options (strategy:): rows (5, odd; must equal the
// client's), cols (50000; must equal the client's), k (0 = ceil(0.01 d)),
// momentum rho (0.9), server_lr (1.0); plus the RoundStrategy keys.
#pragma once

#include <memory>

#include "algorithms/round_strategy.h"
#include "algorithms/transforms/count_sketch.h"

namespace shoal {

struct FetchSgdOptions {
  int rows = 5;
  int64_t cols = 50000;
  int64_t k = 0;
  double momentum = 0.9;
  double server_lr = 1.0;
  static FetchSgdOptions Parse(const ConfigNode& n);
};

// The server's sketched momentum and error state (testable without a driver).
class FetchSgdServer {
 public:
  FetchSgdServer(const FetchSgdOptions& o, int64_t d, uint64_t run_seed);
  // One server step on the mean table S; returns the sparse update as
  // sorted indices and values.
  void Step(std::span<const float> mean_table, std::vector<int64_t>* idx, std::vector<float>* val);
  const compress::CountSketchHash& hash() const { return hash_; }
  const std::vector<float>& momentum_table() const { return s_u_; }
  const std::vector<float>& error_table() const { return s_e_; }
  int64_t k() const { return k_; }

 private:
  FetchSgdOptions o_;
  int64_t d_, k_;
  compress::CountSketchHash hash_;
  std::vector<float> s_u_, s_e_, estimate_;
};

class FetchSgdStrategy final : public RoundStrategy {
 public:
  FetchSgdStrategy(RoundOptions round, FetchSgdOptions o) : RoundStrategy(round), o_(o) {}
  std::string name() const override { return "fetchsgd"; }
  int64_t state_bytes() const override { return 2 * int64_t{o_.rows} * o_.cols * 4; }

 protected:
  void BeginRound(StrategyContext& ctx) override;
  Status Accept(ClientResult&& result, StrategyContext& ctx) override;
  Result<std::vector<float>> Finish(int accepted, StrategyContext& ctx) override;

 private:
  FetchSgdOptions o_;
  std::unique_ptr<FetchSgdServer> server_;
  std::vector<float> sum_;
  double weight_sum_ = 0;
};

}  // namespace shoal
