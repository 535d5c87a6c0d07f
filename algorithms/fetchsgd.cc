#include "algorithms/fetchsgd.h"

#include <algorithm>
#include <cmath>

namespace shoal {

FetchSgdOptions FetchSgdOptions::Parse(const ConfigNode& n) {
  FetchSgdOptions o;
  o.rows = n.Get<int>("rows", 5, [](const int& v) { return v >= 1 && v % 2 == 1 && v <= 63; }, "odd, in [1, 63] (median)");
  o.cols = n.Get<int64_t>("cols", 50000, [](const int64_t& v) { return v >= 1; }, ">= 1");
  o.k = n.Get<int64_t>("k", 0, [](const int64_t& v) { return v >= 0; }, ">= 0 (0 = 1% of the parameters)");
  o.momentum = n.Get<double>("momentum", 0.9, [](const double& v) { return v >= 0 && v < 1; }, "in [0, 1)");
  o.server_lr = n.Get<double>("server_lr", 1.0, [](const double& v) { return v > 0; }, "> 0");
  return o;
}

FetchSgdServer::FetchSgdServer(const FetchSgdOptions& o, int64_t d, uint64_t run_seed)
    : o_(o), d_(d), k_(o.k > 0 ? std::min(o.k, d) : compress::KeepCount(0.01, d)), hash_(o.rows, o.cols, run_seed) {
  s_u_.assign(static_cast<size_t>(hash_.table_size()), 0.0f);
  s_e_ = s_u_;
  estimate_.resize(static_cast<size_t>(d));
}

void FetchSgdServer::Step(std::span<const float> s, std::vector<int64_t>* idx, std::vector<float>* val) {
  for (size_t j = 0; j < s_u_.size(); ++j) {
    s_u_[j] = static_cast<float>(o_.momentum) * s_u_[j] + s[j];
    s_e_[j] += s_u_[j];
  }
  hash_.Estimate(s_e_, estimate_);
  std::vector<int64_t> order(static_cast<size_t>(d_));
  for (int64_t i = 0; i < d_; ++i) order[static_cast<size_t>(i)] = i;
  auto larger = [&](int64_t a, int64_t b) {
    float fa = std::fabs(estimate_[static_cast<size_t>(a)]), fb = std::fabs(estimate_[static_cast<size_t>(b)]);
    return fa > fb || (fa == fb && a < b);
  };
  if (k_ < d_) std::nth_element(order.begin(), order.begin() + k_, order.end(), larger);
  order.resize(static_cast<size_t>(k_));
  std::sort(order.begin(), order.end());
  idx->assign(order.begin(), order.end());
  val->clear();
  for (int64_t i : order) {
    val->push_back(estimate_[static_cast<size_t>(i)]);
    for (int r = 0; r < hash_.rows(); ++r) {
      size_t b = static_cast<size_t>(r) * static_cast<size_t>(hash_.cols()) + static_cast<size_t>(hash_.Bucket(r, static_cast<uint64_t>(i)));
      s_u_[b] = 0.0f;
      s_e_[b] = 0.0f;
    }
  }
}

void FetchSgdStrategy::BeginRound(StrategyContext& ctx) {
  if (!server_) server_ = std::make_unique<FetchSgdServer>(o_, static_cast<int64_t>(global_params().size()), ctx.seed);
  sum_.assign(static_cast<size_t>(server_->hash().table_size()), 0.0f);
  weight_sum_ = 0;
}

Status FetchSgdStrategy::Accept(ClientResult&& r, StrategyContext& ctx) {
  if (r.update.delta.size() != sum_.size())
    return InvalidArgument("client " + std::to_string(r.client) + " sent " + std::to_string(r.update.delta.size()) +
                           " values; strategy fetchsgd expects a count sketch of rows*cols=" + std::to_string(sum_.size()) +
                           " (client.pipeline: [{name: fetchsgd, rows: " + std::to_string(o_.rows) + ", cols: " +
                           std::to_string(o_.cols) + "}])");
  double w = static_cast<double>(r.update.num_samples);
  if (w <= 0) return Status::Ok();
  ctx.backend->WeightedAccumulate(static_cast<float>(w), r.update.delta, sum_);
  weight_sum_ += w;
  return Status::Ok();
}

Result<std::vector<float>> FetchSgdStrategy::Finish(int, StrategyContext& ctx) {
  std::vector<float> x = global_params();
  if (weight_sum_ <= 0) return x;
  ctx.backend->Scale(static_cast<float>(1.0 / weight_sum_), sum_);
  std::vector<int64_t> idx;
  std::vector<float> val;
  server_->Step(sum_, &idx, &val);
  for (size_t j = 0; j < idx.size(); ++j) x[static_cast<size_t>(idx[j])] += static_cast<float>(o_.server_lr) * val[j];
  return x;
}

}  // namespace shoal
