// Personalized evaluation (shared/ALGORITHMS.md §11): every client with a
// non-empty test split (FederatedData::client_test) is evaluated with its
// personalized model (ClientProcedure::PersonalModel on its ClientState; the
// global model when it has none) and with the global model, on its own split.
//
// Metrics added to the row (accuracy per client, clients with 0 test samples
// skipped; percentiles by linear interpolation at q (N - 1) of the sorted list):
//   personal_test_acc (macro mean), personal_test_acc_p10/_p50/_p90,
//   personal_test_acc_micro (sum correct / sum samples),
//   global_client_test_acc (macro), global_client_test_acc_p10/_p50/_p90,
//   global_client_test_acc_micro, personal_eval_clients, personal_models
//   (clients whose state held a personal model), client_state_bytes.
// Timing: the driver calls it when a round closes, so the personal models are
// those after each client's latest local training (before the aggregation
// that round performed is sent back) and the global model is the aggregate.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <vector>

#include "algorithms/client_procedure.h"
#include "core/data.h"
#include "core/metrics.h"
#include "core/model.h"
#include "sim/thread_pool.h"

namespace shoal::sim {

// Linear interpolation at position q (n - 1) of `sorted` (ascending, non-empty).
double Percentile(const std::vector<double>& sorted, double q);

// REQUIRES: no task is running that could modify `states` (the caller waits
// for in-flight work); models has one model per pool worker.
void EvaluateClients(const FederatedData& data, const ClientProcedure& proc, std::span<const float> global,
                     const std::map<int, ClientState>& states, const Backend& backend, ThreadPool& pool,
                     std::vector<std::unique_ptr<Model<float>>>& models, MetricsRow& row);

// Sum of ClientState::bytes() over every client holding state.
int64_t ClientStateBytes(const std::map<int, ClientState>& states);

}  // namespace shoal::sim
