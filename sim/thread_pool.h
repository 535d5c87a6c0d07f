// A fixed pool of worker threads; each job receives its worker index so it can
// use per-worker scratch (one model and buffers per worker, never shared).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace shoal::sim {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  int size() const { return static_cast<int>(workers_.size()); }
  // Enqueues a job (FIFO). Thread-safe.
  void Submit(std::function<void(int worker)> job);
  // Runs fn(worker, i) for i in [0, n) across the pool and waits.
  void ParallelFor(int64_t n, const std::function<void(int worker, int64_t i)>& fn);

 private:
  void Loop(int worker);
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void(int)>> jobs_;  // guarded by mu_
  bool stop_ = false;                          // guarded by mu_
  std::vector<std::thread> workers_;
};

}  // namespace shoal::sim
