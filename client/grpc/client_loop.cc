#include "client/grpc/client_loop.h"

#include <csignal>

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

namespace shoal::client {
namespace {

bool Transient(const Status& st) {
  return st.code() == StatusCode::kUnavailable || st.code() == StatusCode::kDeadlineExceeded ||
         st.code() == StatusCode::kCancelled || st.code() == StatusCode::kUnknown;
}

// Exponential backoff with a give-up horizon measured from the last success.
class Backoff {
 public:
  explicit Backoff(const RetryOptions& o) : o_(o), delay_ms_(o.initial_ms) { Reset(); }
  void Reset() {
    delay_ms_ = o_.initial_ms;
    last_ok_ = std::chrono::steady_clock::now();
  }
  // Sleeps before the next try; false when it is time to give up.
  bool Wait() {
    if (std::chrono::steady_clock::now() - last_ok_ > std::chrono::duration<double>(o_.give_up_s)) return false;
    boost::asio::steady_timer t(io_, std::chrono::milliseconds(delay_ms_));
    t.wait();
    delay_ms_ = std::min(o_.max_ms, delay_ms_ * 2);
    return true;
  }

 private:
  const RetryOptions& o_;
  boost::asio::io_context io_;
  int delay_ms_;
  std::chrono::steady_clock::time_point last_ok_;
};

Status Register(ServerLink& link, const ClientRuntime& rt, Backoff& backoff, SessionStats& stats) {
  shoal::v1::RegisterRequest req;
  req.set_protocol_version(kProtocolVersion);
  req.set_client_id(rt.client());
  req.add_capabilities("codec:pipeline");
  req.set_num_samples(rt.num_samples());
  req.set_procedure(rt.procedure().name());
  req.set_num_params(rt.num_params());
  for (;;) {
    auto r = link.Register(req);
    if (r.ok()) {
      backoff.Reset();
      spdlog::info("client {}: registered ({} samples)", rt.client(), rt.num_samples());
      return Status::Ok();
    }
    if (!Transient(r.status())) return r.status();
    ++stats.retries;
    spdlog::debug("client {}: register: {}; retrying", rt.client(), r.status().ToString());
    if (!backoff.Wait()) return Unavailable("client " + std::to_string(rt.client()) + ": server unreachable: " +
                                            r.status().message());
  }
}

}  // namespace

Result<SessionStats> RunSession(ServerLink& link, ClientRuntime& rt, const RetryOptions& retry) {
  SessionStats stats;
  Backoff backoff(retry);
  RETURN_IF_ERROR(Register(link, rt, backoff, stats));
  for (;;) {
    auto fetched = link.GetTask(rt.client(), retry.wait_ms);
    if (!fetched.ok()) {
      const Status& st = fetched.status();
      if (st.code() == StatusCode::kFailedPrecondition && st.message().find("not registered") != std::string::npos) {
        RETURN_IF_ERROR(Register(link, rt, backoff, stats));  // the server restarted
        continue;
      }
      if (!Transient(st)) return st;
      ++stats.retries;
      if (!backoff.Wait()) return Unavailable("client " + std::to_string(rt.client()) + ": server unreachable");
      continue;
    }
    backoff.Reset();
    if (fetched->kind == ServerLink::Fetched::Kind::kFinished) {
      spdlog::info("client {}: training finished ({} tasks)", rt.client(), stats.tasks);
      return stats;
    }
    if (fetched->kind == ServerLink::Fetched::Kind::kNoTask) continue;
    const Task& task = fetched->task;
    if (retry.crash_after_tasks >= 0 && stats.tasks >= retry.crash_after_tasks) {
      spdlog::warn("client {} round {}: crashing on purpose (--crash-after-tasks)", rt.client(), task.round);
      std::raise(SIGKILL);
    }
    auto bytes = rt.Run(task);
    if (!bytes.ok()) return bytes.status().WithContext("client " + std::to_string(rt.client()) + " round " +
                                                       std::to_string(task.round));
    ++stats.tasks;
    for (;;) {
      Status st = link.Submit(task, *bytes, rt.num_samples());
      if (st.ok()) {
        spdlog::info("client {} round {}: submitted {} bytes (train loss {:.4f})", rt.client(), task.round,
                     bytes->size(), rt.last_train_loss());
        backoff.Reset();
        break;
      }
      if (Transient(st)) {
        ++stats.retries;
        if (!backoff.Wait()) return Unavailable("client " + std::to_string(rt.client()) + ": server unreachable");
        continue;
      }
      ++stats.rejected;
      if (st.code() == StatusCode::kFailedPrecondition && st.message().find("not registered") != std::string::npos)
        RETURN_IF_ERROR(Register(link, rt, backoff, stats));
      spdlog::warn("client {} round {}: result rejected: {}", rt.client(), task.round, st.ToString());
      break;
    }
  }
}

}  // namespace shoal::client
