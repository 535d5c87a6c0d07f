#include "sim/event_queue.h"

#include <gtest/gtest.h>

namespace shoal::sim {
namespace {

TEST(EventQueue, OrdersByTimeThenFifoAndSkipsCancelled) {
  EventQueue q;
  q.Push(20, 1, 100);
  q.Push(10, 1, 101);
  uint64_t c = q.Push(10, 1, 102);
  q.Push(10, 1, 103);
  q.Cancel(c);
  std::vector<uint64_t> order;
  std::vector<int64_t> times;
  while (!q.empty()) {
    Event e = q.Pop();
    order.push_back(e.payload);
    times.push_back(q.now_us());
  }
  EXPECT_EQ(order, (std::vector<uint64_t>{101, 103, 100}));
  EXPECT_EQ(times, (std::vector<int64_t>{10, 10, 20}));
}

TEST(EventQueue, NeverGoesBackInTime) {
  EventQueue q;
  q.Push(50, 0, 1);
  q.Pop();
  q.Push(10, 0, 2);  // in the past: clamps to now
  EXPECT_EQ(q.Pop().time_us, 50);
}

}  // namespace
}  // namespace shoal::sim
