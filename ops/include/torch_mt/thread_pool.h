// mt::ThreadPool — a fixed set of worker threads that run submitted callables
// and hand their results (or exceptions) back through std::future.
//
// Deliberately free of ATen: operators reach it through parallel.h, which
// adds PyTorch's thread-local state and the process-wide pool.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace mt {

class ThreadPool {
 public:
  // Starts `num_workers` threads (0 is allowed: submit() then runs nothing
  // until a worker exists, so callers must not submit to an empty pool).
  // `on_worker_start` runs once on each worker before it takes any task.
  explicit ThreadPool(int num_workers, std::function<void()> on_worker_start = {});
  ~ThreadPool();  // finishes queued tasks, then joins every worker

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_workers() const { return static_cast<int>(workers_.size()); }

  // True on a thread owned by any ThreadPool: nested fan-out checks this to
  // run inline instead of waiting on workers that may all be busy.
  static bool on_worker_thread();

  // Queues `task` for one worker. Whatever it returns or throws arrives
  // through the future, so a failing task never terminates the process.
  template <class Callable>
  auto submit(Callable&& task) -> std::future<std::invoke_result_t<std::decay_t<Callable>>> {
    using Result = std::invoke_result_t<std::decay_t<Callable>>;
    // std::function needs a copyable target; packaged_task is move-only.
    auto packaged = std::make_shared<std::packaged_task<Result()>>(std::forward<Callable>(task));
    std::future<Result> result = packaged->get_future();
    enqueue([packaged] { (*packaged)(); });
    return result;
  }

 private:
  void enqueue(std::function<void()> job);
  void worker_loop(const std::function<void()>& on_worker_start);
  bool wait_briefly_for_work();

  std::mutex mutex_;
  std::condition_variable work_available_;
  std::deque<std::function<void()>> queue_;  // guarded by mutex_
  bool stopping_ = false;                    // guarded by mutex_
  // Mirror of queue_.size() readable without the lock, for the idle spin.
  std::atomic<int> queued_{0};
  std::vector<std::thread> workers_;
};

}  // namespace mt
