#include "sim/personal_eval.h"

#include <algorithm>
#include <cmath>

namespace shoal::sim {
namespace {

struct Scratch {
  std::vector<float> params, x;
  std::vector<int32_t> y;
};

// Correct predictions of `params` on rows `rows` of `data`, in chunks.
int64_t CountCorrect(Model<float>& model, const Backend& be, std::span<const float> params, const Dataset& data,
                     std::span<const int64_t> rows, Scratch& s) {
  constexpr size_t kChunk = 256;
  const size_t dim = static_cast<size_t>(data.dim);
  int64_t correct = 0;
  for (size_t lo = 0; lo < rows.size(); lo += kChunk) {
    size_t m = std::min(kChunk, rows.size() - lo);
    s.x.resize(m * dim);
    s.y.resize(m);
    for (size_t r = 0; r < m; ++r) {
      std::copy_n(data.row(rows[lo + r]), dim, s.x.data() + r * dim);
      s.y[r] = data.y[static_cast<size_t>(rows[lo + r])];
    }
    int64_t ok = 0;
    model.Loss(be, params, s.x.data(), s.y.data(), static_cast<int>(m), &ok);
    correct += ok;
  }
  return correct;
}

void AddDistribution(MetricsRow& row, const std::string& key, std::vector<double> acc, int64_t correct,
                     int64_t samples) {
  if (acc.empty()) return;
  double mean = 0;
  for (double a : acc) mean += a;
  std::sort(acc.begin(), acc.end());
  row.Set(key, mean / static_cast<double>(acc.size()));
  row.Set(key + "_p10", Percentile(acc, 0.10));
  row.Set(key + "_p50", Percentile(acc, 0.50));
  row.Set(key + "_p90", Percentile(acc, 0.90));
  row.Set(key + "_micro", static_cast<double>(correct) / static_cast<double>(samples));
}

}  // namespace

double Percentile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

int64_t ClientStateBytes(const std::map<int, ClientState>& states) {
  int64_t b = 0;
  for (const auto& [c, s] : states) b += s.bytes();
  return b;
}

void EvaluateClients(const FederatedData& data, const ClientProcedure& proc, std::span<const float> global,
                     const std::map<int, ClientState>& states, const Backend& backend, ThreadPool& pool,
                     std::vector<std::unique_ptr<Model<float>>>& models, MetricsRow& row) {
  row.Set("client_state_bytes", ClientStateBytes(states));
  std::vector<int> clients;
  for (int c = 0; c < static_cast<int>(data.client_test.size()); ++c)
    if (!data.client_test[static_cast<size_t>(c)].empty()) clients.push_back(c);
  if (clients.empty()) return;
  const Dataset& source = data.client_test_source();
  std::vector<int64_t> personal_ok(clients.size()), global_ok(clients.size());
  std::vector<char> has_personal(clients.size(), 0);
  std::vector<Scratch> scratch(static_cast<size_t>(pool.size()));
  pool.ParallelFor(static_cast<int64_t>(clients.size()), [&](int w, int64_t k) {
    const size_t i = static_cast<size_t>(k);
    const int c = clients[i];
    Scratch& s = scratch[static_cast<size_t>(w)];
    Model<float>& model = *models[static_cast<size_t>(w)];
    std::span<const int64_t> rows(data.client_test[static_cast<size_t>(c)]);
    global_ok[i] = CountCorrect(model, backend, global, source, rows, s);
    auto it = states.find(c);
    s.params.resize(global.size());
    if (it != states.end() && proc.PersonalModel(it->second, global, s.params)) {
      has_personal[i] = 1;
      personal_ok[i] = CountCorrect(model, backend, s.params, source, rows, s);
    } else {
      personal_ok[i] = global_ok[i];
    }
  });
  std::vector<double> p_acc, g_acc;
  int64_t p_sum = 0, g_sum = 0, samples = 0, personal_models = 0;
  for (size_t i = 0; i < clients.size(); ++i) {  // fixed order
    const double n = static_cast<double>(data.client_test[static_cast<size_t>(clients[i])].size());
    p_acc.push_back(static_cast<double>(personal_ok[i]) / n);
    g_acc.push_back(static_cast<double>(global_ok[i]) / n);
    p_sum += personal_ok[i];
    g_sum += global_ok[i];
    samples += static_cast<int64_t>(n);
    personal_models += has_personal[i];
  }
  AddDistribution(row, "personal_test_acc", std::move(p_acc), p_sum, samples);
  AddDistribution(row, "global_client_test_acc", std::move(g_acc), g_sum, samples);
  row.Set("personal_eval_clients", static_cast<int64_t>(clients.size()));
  row.Set("personal_models", personal_models);
}

}  // namespace shoal::sim
