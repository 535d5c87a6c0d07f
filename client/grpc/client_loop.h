// The shoal-client session: register, then loop get-task -> train -> submit
// until the server says training finished. Transient failures (server away,
// UNAVAILABLE, reorder buffer full) are retried with exponential backoff on a
// Boost.Asio timer; a rejected result is logged and dropped. Blocking; runs on
// the caller's thread.
#pragma once

#include "client/grpc/server_link.h"
#include "client/runtime.h"

namespace shoal::client {

struct RetryOptions {
  int initial_ms = 100;     // first backoff, >= 1
  int max_ms = 2000;        // backoff cap, >= initial_ms
  double give_up_s = 120;   // exit with UNAVAILABLE after this long without reaching the server
  int wait_ms = 5000;       // GetTask long-poll
  // Fault injection for tests: when >= 0, the process kills itself (SIGKILL,
  // no cleanup) on receiving task number crash_after_tasks + 1, mid-round.
  int crash_after_tasks = -1;
};

struct SessionStats {
  int64_t tasks = 0, rejected = 0, retries = 0;
};

// Returns OK when training finished.
Result<SessionStats> RunSession(ServerLink& link, ClientRuntime& runtime, const RetryOptions& retry);

}  // namespace shoal::client
