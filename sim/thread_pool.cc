#include "sim/thread_pool.h"

#include <atomic>
#include <future>

namespace shoal::sim {

ThreadPool::ThreadPool(int threads) {
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; ++i) workers_.emplace_back([this, i] { Loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::Submit(std::function<void(int)> job) {
  {
    std::lock_guard<std::mutex> l(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void ThreadPool::Loop(int worker) {
  for (;;) {
    std::function<void(int)> job;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [this] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job(worker);
  }
}

void ThreadPool::ParallelFor(int64_t n, const std::function<void(int, int64_t)>& fn) {
  if (n <= 0) return;
  std::atomic<int64_t> next{0};
  std::vector<std::future<void>> done;
  int parts = size();
  for (int p = 0; p < parts; ++p) {
    auto prom = std::make_shared<std::promise<void>>();
    done.push_back(prom->get_future());
    Submit([&, prom](int w) {
      for (int64_t i; (i = next.fetch_add(1)) < n;) fn(w, i);
      prom->set_value();
    });
  }
  for (auto& f : done) f.get();
}

}  // namespace shoal::sim
