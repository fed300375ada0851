#include <ATen/ThreadLocalState.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <torch_mt/parallel_for.h>

namespace mt {
namespace {

// Chunks per participating thread. Claiming a chunk is one atomic add, so
// many small chunks cost little and keep every thread busy to the end even
// when items differ 100x in cost (ragged sequence lengths).
constexpr int64_t kChunksPerThread = 16;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// True while this thread runs chunks of a fan-out as its caller. A fan-out
// nested in such a chunk must run inline too: its helper tasks would queue
// behind the workers' outer chunks, and the caller would sit waiting for
// them until the outer loop drained (one thread's speed, measured on NMS).
thread_local bool this_thread_runs_a_fan_out = false;

class RunningFanOut {
 public:
  RunningFanOut() { this_thread_runs_a_fan_out = true; }
  ~RunningFanOut() { this_thread_runs_a_fan_out = false; }
  RunningFanOut(const RunningFanOut&) = delete;
  RunningFanOut& operator=(const RunningFanOut&) = delete;
};

// Helpers usually finish within microseconds of the caller; sleeping in
// future::get() would add a 15-65 us wakeup (measured on a 2-core VM), so poll first.
constexpr auto kJoinSpin = std::chrono::microseconds(50);

void wait_briefly(const std::future<void>& done) {
  const auto deadline = std::chrono::steady_clock::now() + kJoinSpin;
  while (done.wait_for(std::chrono::seconds(0)) != std::future_status::ready &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
}

// What the caller and its helpers share during one parallel_for. It lives on
// the caller's stack, which outlives every helper (the caller joins them).
class FanOut {
 public:
  FanOut(int64_t begin, int64_t end, int64_t chunk_size,
         c10::function_ref<void(int64_t, int64_t)> body)
      : begin_(begin), end_(end), chunk_size_(chunk_size), body_(body) {}

  // Claims and runs chunks until none are left or one has failed.
  void run_chunks() noexcept {
    while (!failed_.load(std::memory_order_relaxed)) {
      const int64_t chunk = next_chunk_.fetch_add(1, std::memory_order_relaxed);
      const int64_t first = begin_ + chunk * chunk_size_;
      if (first >= end_) {
        return;
      }
      try {
        body_(first, std::min(end_, first + chunk_size_));
      } catch (...) {
        record_error(std::current_exception());
      }
    }
  }

  void record_error(std::exception_ptr error) noexcept {
    std::lock_guard<std::mutex> lock(error_mutex_);
    if (!first_error_) {
      first_error_ = std::move(error);
    }
    failed_.store(true, std::memory_order_relaxed);
  }

  void rethrow_first_error() const {
    if (first_error_) {
      std::rethrow_exception(first_error_);
    }
  }

 private:
  const int64_t begin_, end_, chunk_size_;
  c10::function_ref<void(int64_t, int64_t)> body_;
  std::atomic<int64_t> next_chunk_{0};
  std::atomic<bool> failed_{false};
  std::mutex error_mutex_;
  std::exception_ptr first_error_;  // guarded by error_mutex_
};

}  // namespace

void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  c10::function_ref<void(int64_t, int64_t)> body) {
  const int64_t range = end - begin;
  if (range <= 0) {
    return;
  }
  grain = std::max<int64_t>(grain, 1);
  // Nested fan-out runs on the thread that asked for it. On a worker,
  // waiting for other workers could deadlock (they may all be waiting too);
  // on the caller, it would wait for workers busy with the outer loop.
  if (range <= grain || ThreadPool::on_worker_thread() || this_thread_runs_a_fan_out) {
    body(begin, end);
    return;
  }
  // Hold our own reference: set_num_threads may swap the pool meanwhile.
  const std::shared_ptr<ThreadPool> pool = process_pool();
  const int64_t threads = pool->num_workers() + 1;
  if (threads == 1) {
    body(begin, end);
    return;
  }

  const int64_t chunk_size = std::max(grain, ceil_div(range, threads * kChunksPerThread));
  const int64_t num_chunks = ceil_div(range, chunk_size);
  const int64_t helpers = std::min<int64_t>(pool->num_workers(), num_chunks - 1);

  FanOut fan_out(begin, end, chunk_size, body);
  const at::ThreadLocalState caller_state;  // grad mode, inference mode, autocast, ...
  // One task per helper (one wakeup each), not one per chunk: helpers pull
  // chunks from the shared counter, and the caller waits on `helpers` futures.
  std::vector<std::future<void>> helpers_done;
  helpers_done.reserve(static_cast<size_t>(helpers));
  try {
    for (int64_t i = 0; i < helpers; ++i) {
      helpers_done.push_back(pool->submit([&fan_out, &caller_state] {
        at::ThreadLocalStateGuard guard(caller_state);
        fan_out.run_chunks();
      }));
    }
  } catch (...) {  // could not queue a helper: the caller does its share
    fan_out.record_error(std::current_exception());
  }
  {
    const RunningFanOut running;
    fan_out.run_chunks();
  }
  for (std::future<void>& done : helpers_done) {
    wait_briefly(done);
    try {
      done.get();
    } catch (...) {  // only the state guard can throw; chunks catch their own
      fan_out.record_error(std::current_exception());
    }
  }
  fan_out.rethrow_first_error();
}

}  // namespace mt
