// EventQueue: the simulator's virtual clock.
//
// Time is int64 microseconds. Events at equal times run in insertion order
// (FIFO by sequence number), which makes runs reproducible. Cancel is O(1):
// a cancelled event is skipped when popped. Single-threaded.
#pragma once

#include <cstdint>
#include <queue>
#include <unordered_set>
#include <vector>

namespace shoal::sim {

struct Event {
  int64_t time_us = 0;
  uint64_t seq = 0;
  int kind = 0;         // driver-defined
  uint64_t payload = 0; // driver-defined (e.g. task id)
};

class EventQueue {
 public:
  // Schedules an event; returns its sequence number (for Cancel).
  uint64_t Push(int64_t time_us, int kind, uint64_t payload);
  void Cancel(uint64_t seq) { cancelled_.insert(seq); }
  bool empty();
  // Pops the earliest live event and advances now() to its time. REQUIRES: !empty().
  Event Pop();
  int64_t now_us() const { return now_us_; }

 private:
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.time_us != b.time_us ? a.time_us > b.time_us : a.seq > b.seq;
    }
  };
  void DropCancelled();
  std::priority_queue<Event, std::vector<Event>, Later> heap_;
  std::unordered_set<uint64_t> cancelled_;
  uint64_t next_seq_ = 0;
  int64_t now_us_ = 0;
};

}  // namespace shoal::sim
