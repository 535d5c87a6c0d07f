// The seams between the Coordinator and the world: time (Clock, Timers) and
// transport (ClientLink). The gRPC server implements them with Boost.Asio
// and its service; tests implement them with a manual clock and a recording
// link. All calls happen on the coordinator's thread.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "algorithms/types.h"

namespace shoal::server {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowUs() const = 0;  // monotonic microseconds
};

class Timers {
 public:
  virtual ~Timers() = default;
  // Calls Coordinator::OnTimer(token) on the coordinator's thread no earlier
  // than `delay_us` from now.
  virtual void Arm(int64_t delay_us, uint64_t token) = 0;
};

class ClientLink {
 public:
  virtual ~ClientLink() = default;
  // Offers `task` to client task->client; the link keeps it until the client
  // fetches it or Withdraw is called.
  virtual void Send(std::shared_ptr<const Task> task) = 0;
  // The task's result is no longer wanted (received, failed or cancelled).
  virtual void Withdraw(int client, uint64_t task_id) = 0;
  // Training ended: tell every client to exit.
  virtual void Finish() = 0;
  // A committed update's delta that the strategy left behind (FedAvg adds it
  // to its sum and keeps nothing): the link may reuse the buffer for the next
  // upload instead of allocating and zero-filling a new one. Default: drop it.
  virtual void Recycle(std::vector<float>&& /*buffer*/) {}
};

}  // namespace shoal::server
