#include "sim/event_queue.h"

namespace shoal::sim {

uint64_t EventQueue::Push(int64_t time_us, int kind, uint64_t payload) {
  uint64_t seq = next_seq_++;
  heap_.push(Event{time_us < now_us_ ? now_us_ : time_us, seq, kind, payload});
  return seq;
}

void EventQueue::DropCancelled() {
  while (!heap_.empty() && cancelled_.count(heap_.top().seq)) {
    cancelled_.erase(heap_.top().seq);
    heap_.pop();
  }
}

bool EventQueue::empty() {
  DropCancelled();
  return heap_.empty();
}

Event EventQueue::Pop() {
  DropCancelled();
  Event e = heap_.top();
  heap_.pop();
  now_us_ = e.time_us;
  return e;
}

}  // namespace shoal::sim
