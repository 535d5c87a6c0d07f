// Clock and Timers for the Coordinator on a Boost.Asio event loop: time is
// std::chrono::steady_clock; timers are steady_timers whose handlers run on
// the loop thread (the coordinator's thread).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "server/link.h"

namespace shoal::server {

class SteadyClock final : public Clock {
 public:
  int64_t NowUs() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

class AsioTimers final : public Timers {
 public:
  // `fire(token)` runs on `loop`'s thread.
  AsioTimers(boost::asio::io_context& loop, std::function<void(uint64_t)> fire) : loop_(loop), fire_(std::move(fire)) {}
  void Arm(int64_t delay_us, uint64_t token) override {
    auto t = std::make_shared<boost::asio::steady_timer>(loop_, std::chrono::microseconds(delay_us));
    t->async_wait([t, token, fire = fire_](const boost::system::error_code& ec) {
      if (!ec) fire(token);
    });
  }

 private:
  boost::asio::io_context& loop_;
  std::function<void(uint64_t)> fire_;
};

}  // namespace shoal::server
