#include <torch_mt/thread_pool.h>

#include <chrono>

namespace mt {
namespace {
thread_local bool this_thread_is_pool_worker = false;

// Waking a sleeping thread costs 15-65 us on our 2-core VMs (measured),
// so an idle worker first polls this long: back-to-back fan-outs of small
// operators then find it awake.
constexpr auto kIdleSpin = std::chrono::microseconds(50);
}  // namespace

ThreadPool::ThreadPool(int num_workers, std::function<void()> on_worker_start) {
  workers_.reserve(static_cast<size_t>(num_workers));
  for (int i = 0; i < num_workers; ++i) {
    workers_.emplace_back([this, on_worker_start] { worker_loop(on_worker_start); });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_available_.notify_all();
  for (std::thread& worker : workers_) {
    worker.join();
  }
}

bool ThreadPool::on_worker_thread() { return this_thread_is_pool_worker; }

void ThreadPool::enqueue(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(job));
    queued_.fetch_add(1, std::memory_order_relaxed);
  }
  work_available_.notify_one();
}

bool ThreadPool::wait_briefly_for_work() {
  const auto deadline = std::chrono::steady_clock::now() + kIdleSpin;
  while (std::chrono::steady_clock::now() < deadline) {
    if (queued_.load(std::memory_order_relaxed) > 0) {
      return true;
    }
    // Yield, not pause: when threads outnumber free cores, a pure busy-wait
    // would starve the very caller that is about to submit work.
    std::this_thread::yield();
  }
  return false;
}

void ThreadPool::worker_loop(const std::function<void()>& on_worker_start) {
  this_thread_is_pool_worker = true;
  if (on_worker_start) {
    on_worker_start();
  }
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (queue_.empty() && !stopping_) {
        lock.unlock();
        wait_briefly_for_work();
        lock.lock();
        work_available_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      }
      // Drain the queue before honouring stopping_: every future handed out
      // must become ready, or its waiter would block forever.
      if (queue_.empty()) {
        return;
      }
      job = std::move(queue_.front());
      queue_.pop_front();
      queued_.fetch_sub(1, std::memory_order_relaxed);
    }
    job();  // packaged_task stores any exception in its future
  }
}

}  // namespace mt
